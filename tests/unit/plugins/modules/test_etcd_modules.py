# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""etcd_info and mooncake_metadata: main() with module args on a fake etcd3 client, endpoint and
segment parsing, value decoding, and the message for a host without the etcd3 library.

The values are the ones the transfer engine (PyPI wheel 0.3.13.post1) wrote for a TCP instance.
The modules against a real etcd are in tests/integration/test_etcd_modules_live.py.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib
import sys

import pytest

from ansible_collections.mooncake.deploy.plugins.module_utils import etcd_client
from ansible_collections.mooncake.deploy.plugins.modules import etcd_info, mooncake_metadata
from ansible_collections.mooncake.deploy.tests.unit import module_harness
from ansible_collections.mooncake.deploy.tests.unit.module_harness import AnsibleExitJson, AnsibleFailJson, patch_exits

SEGMENT = "127.0.0.1:25624"
RPC_META = b'{"ip_or_host_name":"127.0.0.1","rpc_port":25624}\n'
RAM = (b'{"buffers":[{"addr":139824338038800,"length":2147483648,"name":"127.0.0.1:25624"}],'
       b'"name":"127.0.0.1:25624","protocol":"tcp","rdma_server_name":"","tcp_data_host":"127.0.0.1",'
       b'"tcp_data_port":16344,"tcp_proto_version":2,"timestamp":"2026-11-25 10:25:55.902933"}\n')
MEMBER_ID = 13458989633860879742
GOOD = "http://127.0.0.1:2379"
DEAD = "http://127.0.0.1:2399"


# ---------------------------------------------------------------- a fake etcd3


class Member:
    def __init__(self, member_id, name, peer_urls, client_urls):
        self.id, self.name, self.peer_urls, self.client_urls = member_id, name, peer_urls, client_urls


class Status:
    def __init__(self, version, leader):
        self.version, self.leader = version, leader


class Meta:
    def __init__(self, key):
        self.key = key


class RpcError(Exception):
    def details(self):
        return "failed to connect to all addresses; last error: Connection refused"


class ConnectionFailedError(Exception):
    pass


class FakeClient:
    """The parts of etcd3.Etcd3Client the modules use, on a dict of bytes keys and values."""

    def __init__(self, store, reachable=True):
        self.store, self.reachable, self.closed, self.deleted = store, reachable, False, []
        self.member = Member(MEMBER_ID, "node1", ["http://127.0.0.1:2380"], [GOOD])

    def _check(self):
        if not self.reachable:
            try:
                raise RpcError("unavailable")
            except RpcError:
                raise ConnectionFailedError("etcd connection failed")

    def status(self):
        self._check()
        return Status("3.4.23", self.member)

    @property
    def members(self):
        self._check()
        return iter([self.member])

    def get_prefix(self, prefix):
        self._check()
        return [(value, Meta(key)) for key, value in sorted(self.store.items()) if key.startswith(prefix.encode())]

    def get(self, key):
        self._check()
        key = key.encode()
        return (self.store[key], Meta(key)) if key in self.store else (None, None)

    def delete(self, key):
        self._check()
        self.deleted.append(key)
        return self.store.pop(key.encode(), None) is not None

    def close(self):
        self.closed = True


class FakeEtcd3:
    """Stands in for the etcd3 module: client(host, port, timeout) by port."""

    def __init__(self, clients):
        self.clients, self.calls = clients, []

    def client(self, host, port, timeout):
        self.calls.append((host, port, timeout))
        return self.clients[port]


@pytest.fixture(autouse=True)
def module_exits(monkeypatch):
    patch_exits(monkeypatch)


@pytest.fixture
def store():
    return {b"mooncake/rpc_meta/" + SEGMENT.encode(): RPC_META, b"mooncake/ram/" + SEGMENT.encode(): RAM,
            b"other/key": b"x"}


@pytest.fixture
def fake(monkeypatch, store):
    """etcd answers on port 2379, nothing listens on 2399."""
    fake = FakeEtcd3({2379: FakeClient(store), 2399: FakeClient({}, reachable=False)})
    monkeypatch.setattr(etcd_client, "etcd3", fake)
    monkeypatch.setattr(etcd_client, "HAS_ETCD3", True)
    return fake


def run_info(args, expect_exception):
    return module_harness.run_module(etcd_info.main, args, expect_exception)


def run_metadata(args, expect_exception):
    return module_harness.run_module(mooncake_metadata.main, args, expect_exception)


# ---------------------------------------------------------------- endpoints and segments


@pytest.mark.parametrize("url, host, port, normalized", [
    ("http://10.0.0.1:2379", "10.0.0.1", 2379, "http://10.0.0.1:2379"),
    ("HTTP://etcd.example:2379/", "etcd.example", 2379, "http://etcd.example:2379"),
    (" http://[fd00::1]:2379 ", "fd00::1", 2379, "http://[fd00::1]:2379"),
])
def test_parse_endpoint(url, host, port, normalized):
    assert etcd_client.parse_endpoint(url) == dict(url=normalized, host=host, port=port)


@pytest.mark.parametrize("url, words", [
    ("", ["empty"]),
    ("10.0.0.1:2379", ["no scheme", "http://10.0.0.1:2379"]),
    ("https://10.0.0.1:2379", ["https", "not supported"]),
    ("etcd://10.0.0.1:2379", ["metadata_server", "http://10.0.0.1:2379"]),
    ("ftp://10.0.0.1:2379", ["scheme 'ftp'"]),
    ("http://10.0.0.1", ["no port", "2379"]),
    ("http://[::1]", ["no port"]),
    ("http://10.0.0.1:2379/metadata", ["has a path", "/metadata"]),
    ("http://10.0.0.1:70000", ["out of range"]),
    ("http://10.0.0.1:23a9", ["cannot read host:port"]),
    ("http://:2379", ["cannot read host:port"]),
    ("http://", ["no host"]),
])
def test_parse_endpoint_errors_name_the_endpoint(url, words):
    with pytest.raises(etcd_client.EtcdError) as caught:
        etcd_client.parse_endpoint(url)
    message = str(caught.value)
    assert message.startswith("endpoint %r" % url)
    for word in words:
        assert word in message


def test_parse_endpoints_reports_every_bad_one():
    with pytest.raises(etcd_client.EtcdError) as caught:
        etcd_client.parse_endpoints([GOOD, "10.0.0.2:2379", "https://10.0.0.3:2379"])
    assert "10.0.0.2:2379" in str(caught.value) and "10.0.0.3" in str(caught.value)
    with pytest.raises(etcd_client.EtcdError, match="no endpoints"):
        etcd_client.parse_endpoints([])


@pytest.mark.parametrize("segment", ["127.0.0.1", "127.0.0.1:", "10.0.0.5:15624/x", "", "a b:1", "10.0.0.5:0"])
def test_parse_segment_errors(segment):
    with pytest.raises(etcd_client.EtcdError, match="local_hostname"):
        etcd_client.parse_segment(segment)


def test_parse_segment_accepts_ip_and_hostname():
    assert etcd_client.parse_segment("10.0.0.5:15624") == "10.0.0.5:15624"
    assert etcd_client.parse_segment("node1:15625") == "node1:15625"


# ---------------------------------------------------------------- values


def test_decode_value():
    assert etcd_client.decode_value(RPC_META) == ({"ip_or_host_name": "127.0.0.1", "rpc_port": 25624}, None)
    value, error = etcd_client.decode_value(b"\xffnot json")
    assert value == u"\ufffdnot json" and error.startswith("not JSON")
    assert etcd_client.decode_value(None) == (None, "no value")


def test_group_segments_decodes_the_engines_values():
    segments = etcd_client.group_segments([
        (b"mooncake/rpc_meta/" + SEGMENT.encode(), RPC_META),
        (b"mooncake/ram/" + SEGMENT.encode(), RAM),
        (b"mooncake/rpc_meta/10.0.0.9:15624", b'{"ip_or_host_name":"10.0.0.9","rpc_port":15624}'),
        (b"mooncake/ram/10.0.0.8:15624", b"garbage"),
        (b"mooncake/rpc_meta/10.0.0.7:15624", b"[1, 2]"),
        (b"mooncake/store/whatever", b"{}"),
    ])
    assert segments[SEGMENT] == dict(
        name=SEGMENT,
        rpc_meta=dict(ip_or_host_name="127.0.0.1", rpc_port=25624),
        ram=dict(name=SEGMENT, protocol="tcp", tcp_data_host="127.0.0.1", tcp_data_port=16344, buffers=1,
                 devices=0, timestamp="2026-11-25 10:25:55.902933"),
        problems=[],
    )
    assert segments["10.0.0.9:15624"]["problems"] == ["mooncake/ram/10.0.0.9:15624 is missing"]
    assert segments["10.0.0.8:15624"]["problems"][0].startswith("mooncake/ram/10.0.0.8:15624: not JSON")
    assert "mooncake/rpc_meta/10.0.0.8:15624 is missing" in segments["10.0.0.8:15624"]["problems"]
    assert "mooncake/rpc_meta/10.0.0.7:15624: not a JSON object" in segments["10.0.0.7:15624"]["problems"]
    assert set(segments) == {SEGMENT, "10.0.0.9:15624", "10.0.0.8:15624", "10.0.0.7:15624"}


def test_describe_error_adds_the_grpc_details():
    client = FakeClient({}, reachable=False)
    with pytest.raises(ConnectionFailedError) as caught:
        client.status()
    assert etcd_client.describe_error(caught.value) == (
        "ConnectionFailedError: etcd connection failed "
        "(failed to connect to all addresses; last error: Connection refused)")


# ---------------------------------------------------------------- the missing library


@pytest.fixture
def without_etcd3(monkeypatch):
    """etcd_client imported again where `import etcd3` fails; the originals are put back after."""
    for name in ("etcd3", "HAS_ETCD3", "ETCD3_IMPORT_ERROR", "ETCD3_IMPORT_REASON"):
        monkeypatch.setattr(etcd_client, name, getattr(etcd_client, name))
    monkeypatch.setitem(sys.modules, "etcd3", None)  # None in sys.modules: import raises ImportError
    importlib.reload(etcd_client)
    assert etcd_client.HAS_ETCD3 is False


@pytest.mark.parametrize("main, args", [
    (etcd_info.main, {"endpoints": [GOOD]}),
    (mooncake_metadata.main, {"endpoints": [GOOD], "segment": SEGMENT}),
])
def test_missing_library_says_which_package(without_etcd3, main, args):
    result = module_harness.run_module(main, args, AnsibleFailJson)
    assert "Failed to import the required Python library (etcd3)" in result["msg"]
    assert "Import error: ModuleNotFoundError: import of etcd3 halted" in result["msg"]
    assert "apt-get install python3-etcd3" in result["msg"]
    assert "PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION=python" in result["msg"]
    assert "Traceback" in result["exception"]


def test_missing_library_names_the_protobuf_error(monkeypatch):
    monkeypatch.setattr(etcd_client, "ETCD3_IMPORT_REASON", "TypeError: Descriptors cannot be created directly.")
    assert "Import error: TypeError: Descriptors cannot be created directly. Debian" in etcd_client.missing_library_message()


# ---------------------------------------------------------------- etcd_info


def test_info_reports_health_members_and_segments(fake):
    result = run_info({"endpoints": [DEAD, GOOD], "timeout": 3, "_ansible_check_mode": True}, AnsibleExitJson)
    assert result["changed"] is False
    assert result["endpoint"] == GOOD
    assert [h["status"] for h in result["health"]] == ["error", "ok"]
    assert result["health"][0]["endpoint"] == DEAD
    assert "Connection refused" in result["health"][0]["error"]
    assert result["health"][1] == dict(endpoint=GOOD, status="ok", error=None, version="3.4.23", leader_id=MEMBER_ID)
    assert result["leader_id"] == MEMBER_ID
    assert result["members"] == [dict(id=MEMBER_ID, name="node1", peer_urls=["http://127.0.0.1:2380"], client_urls=[GOOD])]
    assert list(result["segments"]) == [SEGMENT]
    assert result["segments"][SEGMENT]["rpc_meta"] == dict(ip_or_host_name="127.0.0.1", rpc_port=25624)
    assert result["segments"][SEGMENT]["ram"]["tcp_data_port"] == 16344
    assert fake.calls == [("127.0.0.1", 2399, 3), ("127.0.0.1", 2379, 3)]
    assert fake.clients[2379].closed and fake.clients[2379].deleted == []


def test_info_fails_naming_every_unreachable_endpoint(fake):
    result = run_info({"endpoints": [DEAD, "http://127.0.0.1:2399/"]}, AnsibleFailJson)
    assert result["msg"].startswith("no etcd endpoint is reachable: http://127.0.0.1:2399: ConnectionFailedError")
    assert result["msg"].count("http://127.0.0.1:2399") == 2
    assert [h["status"] for h in result["health"]] == ["error", "error"]


def test_info_fails_on_a_malformed_endpoint_before_connecting(fake):
    result = run_info({"endpoints": ["10.0.0.1:2379"]}, AnsibleFailJson)
    assert "endpoint '10.0.0.1:2379': no scheme" in result["msg"]
    assert fake.calls == []


# ---------------------------------------------------------------- mooncake_metadata


def test_metadata_check_mode_reports_without_deleting(fake, store):
    result = run_metadata({"endpoints": [GOOD], "segment": SEGMENT, "_ansible_check_mode": True, "_ansible_diff": True},
                          AnsibleExitJson)
    assert result["changed"] is True
    assert result["keys"] == ["mooncake/rpc_meta/" + SEGMENT, "mooncake/ram/" + SEGMENT]
    assert result["diff"]["before"]["mooncake/rpc_meta/" + SEGMENT] == {"ip_or_host_name": "127.0.0.1", "rpc_port": 25624}
    assert result["diff"]["before"]["mooncake/ram/" + SEGMENT]["tcp_data_port"] == 16344
    assert result["diff"]["after"] == ""
    assert len(store) == 3 and fake.clients[2379].deleted == []


def test_metadata_deletes_then_is_unchanged(fake, store):
    result = run_metadata({"endpoints": [DEAD, GOOD], "segment": SEGMENT}, AnsibleExitJson)
    assert result["changed"] is True and result["endpoint"] == GOOD
    assert "diff" not in result
    assert store == {b"other/key": b"x"}
    again = run_metadata({"endpoints": [GOOD], "segment": SEGMENT, "_ansible_diff": True}, AnsibleExitJson)
    assert again["changed"] is False and again["keys"] == []
    assert again["diff"] == dict(before={}, after="", before_header="etcd %s (%s)" % (GOOD, SEGMENT),
                                 after_header="etcd %s (%s)" % (GOOD, SEGMENT))


def test_metadata_deletes_a_lone_key(fake, store):
    del store[b"mooncake/ram/" + SEGMENT.encode()]
    result = run_metadata({"endpoints": [GOOD], "segment": SEGMENT, "state": "absent"}, AnsibleExitJson)
    assert result["changed"] is True and result["keys"] == ["mooncake/rpc_meta/" + SEGMENT]


def test_metadata_rejects_a_bad_segment(fake):
    result = run_metadata({"endpoints": [GOOD], "segment": "127.0.0.1"}, AnsibleFailJson)
    assert "segment '127.0.0.1': not ip:port" in result["msg"]
    assert fake.calls == []


def test_metadata_fails_when_no_endpoint_answers(fake):
    result = run_metadata({"endpoints": [DEAD], "segment": SEGMENT}, AnsibleFailJson)
    assert result["changed"] is False
    assert "no etcd endpoint is reachable: http://127.0.0.1:2399" in result["msg"]
    assert result["health"][0]["status"] == "error"
