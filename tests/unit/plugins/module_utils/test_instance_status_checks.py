# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""instance_status's parsers and judgements on the 3-host lab's recorded answers."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.mooncake.deploy.plugins.module_utils import instance_status as status
from ansible_collections.mooncake.deploy.plugins.module_utils.systemctl import parse_systemctl_show
from ansible_collections.mooncake.deploy.tests.unit.instance_status_fixtures import (
    fixture_text, recorded_report, start_agent, start_gateway)

PREFILL = {"name": "prefill", "port": 15624, "address": "10.231.4.12", "segment": "10.231.4.12:15624"}


def test_systemctl_show_blocks_are_keyed_by_unit_whatever_the_property_order():
    units = parse_systemctl_show(fixture_text("systemctl-show.txt"))
    assert sorted(units) == ["mooncake-instance@decode.service", "mooncake-instance@gone.service",
                             "mooncake-instance@prefill.service"]
    assert units["mooncake-instance@prefill.service"] == {
        "Id": "mooncake-instance@prefill.service", "LoadState": "loaded", "ActiveState": "active",
        "SubState": "running", "MainPID": "3972", "NRestarts": "0"}
    assert units["mooncake-instance@gone.service"]["ActiveState"] == "inactive"


def test_etcd_endpoints_only_for_etcd_servers():
    assert status.etcd_endpoints("etcd://10.0.0.1:2379, 10.0.0.2:2379") == ["10.0.0.1:2379", "10.0.0.2:2379"]
    assert status.etcd_endpoints("http://10.0.0.1:8080/metadata") == []
    assert status.etcd_endpoints("") == []


def test_etcd_get_reads_recorded_gateway_replies():
    server, endpoint = start_gateway()
    try:
        value, error = status.etcd_get([endpoint], "mooncake/rpc_meta/10.231.4.12:15624", 5)
        assert error is None and json.loads(value) == {"ip_or_host_name": "10.231.4.12", "rpc_port": 15624}
        assert status.etcd_get([endpoint], "mooncake/rpc_meta/10.231.4.12:19999", 5) == (None, None)
        assert server.seen[0] == ("/v3/kv/range", "mooncake/rpc_meta/10.231.4.12:15624")
    finally:
        server.shutdown()


def test_etcd_get_tries_the_next_endpoint_and_names_unreachable_ones():
    server, endpoint = start_gateway()
    try:
        # Port 9 on loopback: nothing listens (connection refused).
        value, error = status.etcd_get(["127.0.0.1:9", endpoint], "mooncake/ram/10.231.4.12:15624", 5)
        assert error is None and json.loads(value)["tcp_data_host"] == "10.231.4.12"
    finally:
        server.shutdown()
    value, error = status.etcd_get(["127.0.0.1:9"], "mooncake/ram/x", 2)
    assert value is None
    assert error.startswith("metadata server unreachable (127.0.0.1:9: ") and "refused" in error


def test_registration_right_wrong_missing():
    meta = json.dumps({"ip_or_host_name": "10.231.4.12", "rpc_port": 15624})
    right = status.judge_registration(PREFILL, meta, "{}", None)
    assert right["ok"] is True and right["problem"] is None and right["ram"] is True

    wrong = status.judge_registration(PREFILL, json.dumps({"ip_or_host_name": "172.17.0.2", "rpc_port": 15624}), "{}", None)
    assert wrong["ok"] is False
    assert wrong["problem"] == ("mooncake/rpc_meta/10.231.4.12:15624 says 172.17.0.2:15624, "
                                "the instance is 10.231.4.12:15624")

    missing = status.judge_registration(PREFILL, None, None, None)
    assert missing["problem"] == "no key mooncake/rpc_meta/10.231.4.12:15624"
    no_ram = status.judge_registration(PREFILL, meta, None, None)
    assert no_ram["ok"] is False and "no key mooncake/ram/10.231.4.12:15624" in no_ram["problem"]
    down = status.judge_registration(PREFILL, None, None, "metadata server unreachable (x)")
    assert down == {"ok": False, "problem": "metadata server unreachable (x)", "rpc_meta": None, "ram": False}


def test_agent_request_over_a_real_unix_socket(tmp_path):
    recorded = recorded_report()[0]["instances"][0]["transfers"][1]["result"]
    path = tmp_path / "control.sock"
    server = start_agent(path, {"10.231.4.13:15625": recorded})
    try:
        reply = status.agent_request(str(path), {"op": "transfer", "peer": "10.231.4.13:15625", "size": 1}, 5)
    finally:
        server.shutdown()
        server.server_close()
    assert reply == recorded and server.requests == [{"op": "transfer", "peer": "10.231.4.13:15625", "size": 1}]
    gone = status.agent_request(str(tmp_path / "none.sock"), {"op": "ping"}, 1)
    assert gone["ok"] is False and gone["error"].startswith("control socket %s: " % (tmp_path / "none.sock"))


def test_failures_name_host_instance_and_check():
    entry = json.loads(json.dumps(recorded_report()[0]["instances"][0]))
    assert status.instance_failures("node1", entry) == []
    entry["unit"]["ActiveState"] = "activating"
    entry["unit_ok"] = False
    entry["port"] = {"ok": False, "problem": "port 15624 should be held by X but is held by Y", "holders": []}
    entry["etcd"] = {"ok": False, "problem": "no key mooncake/rpc_meta/10.231.4.12:15624"}
    entry["transfers"][0]["ok"] = False
    entry["transfers"][0]["result"] = {"ok": True, "match": False}
    entry["transfers"][1] = status.judge_transfer({"host": "node2", "name": "decode", "segment": "10.231.4.13:15625"},
                                                  {"ok": False, "error": "busy"})
    assert status.instance_failures("node1", entry) == [
        "node1/prefill: unit mooncake-instance@prefill.service is activating",
        "node1/prefill: port 15624 should be held by X but is held by Y",
        "node1/prefill: etcd registration wrong: no key mooncake/rpc_meta/10.231.4.12:15624",
        "node1/prefill -> node1/decode: transfer failed: bytes differ",
        "node1/prefill -> node2/decode: transfer failed: busy",
    ]


def test_port_entry_names_pid_command_and_unit():
    entry = status.port_entry({"ok": False, "problem": "p", "holders": [
        {"address": "0.0.0.0", "port": 15624,
         "process": {"pid": 77, "name": "python3", "cmdline": "python3 -m http.server 15624", "unit": "session-1.scope"}},
        {"address": "::", "port": 15624, "process": None}]})
    assert entry == {"ok": False, "problem": "p", "holders": [
        {"address": "0.0.0.0", "pid": 77, "command": "python3 -m http.server 15624", "unit": "session-1.scope"},
        {"address": "::", "pid": None, "command": None, "unit": None}]}


def test_a_prefill_transfers_only_into_peers_its_engine_can_find():
    peers = [{"name": "same-etcd", "metadata_server": "etcd://10.0.0.2:2379,10.0.0.1:2379"},
             {"name": "other-etcd", "metadata_server": "etcd://10.0.0.9:2379"},
             {"name": "p2p", "metadata_server": "P2PHANDSHAKE"},
             {"name": "unsaid", "metadata_server": ""}]

    def names(mine):
        return [p["name"] for p in status.reachable_peers({"metadata_server": mine}, peers)]
    # etcd: one member in common is one cluster; P2PHANDSHAKE peers only on P2PHANDSHAKE.
    assert names("etcd://10.0.0.1:2379") == ["same-etcd", "unsaid"]
    assert names("P2PHANDSHAKE") == ["p2p", "unsaid"]
    assert names("http://10.0.0.1:8080/metadata") == ["unsaid"]
