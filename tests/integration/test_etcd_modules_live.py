"""etcd_info and mooncake_metadata against a real etcd on 127.0.0.1, run by ansible itself.

Each module runs the way a play runs it (ansible ad-hoc, AnsiballZ, connection local) under two
interpreters, each with its own etcd3 client:
- Debian's /usr/bin/python3 with python3-etcd3 (what hosts use; imports cleanly),
- this interpreter with PyPI's etcd3, which needs PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION=python
  with current protobuf (the test sets it for that run only).
An interpreter that cannot import etcd3 is skipped with the reason, and so is everything when
MOONCAKE_TEST_ETCD (path of an etcd binary; scripts/unit.sh sets /usr/bin/etcd) is unset or missing.
The keys are shaped like the ones the transfer engine writes (values recorded from the PyPI wheel
0.3.13.post1). etcd is started with free ports and a temp data dir and stopped by PID.
"""
import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from etcd_process import HOST, etcd_keys, etcd_put, running_etcd

ROOT = Path(__file__).resolve().parents[2]
COLLECTIONS = ROOT / "collections"
SEGMENT = f"{HOST}:15624"
RPC_META_KEY = f"mooncake/rpc_meta/{SEGMENT}"
RAM_KEY = f"mooncake/ram/{SEGMENT}"
RPC_META = {"ip_or_host_name": HOST, "rpc_port": 15624}
RAM = {"buffers": [{"addr": 139824338038800, "length": 2147483648, "name": SEGMENT}],
       "name": SEGMENT, "protocol": "tcp", "rdma_server_name": "", "tcp_data_host": HOST,
       "tcp_data_port": 16344, "tcp_proto_version": 2, "timestamp": "2026-11-25 10:25:55.902933"}
OTHER_KEY = f"mooncake/rpc_meta/{HOST}:15625"

INTERPRETERS = [
    pytest.param((os.environ.get("MOONCAKE_TEST_SYSTEM_PYTHON", "/usr/bin/python3"), {}), id="debian-python3-etcd3"),
    pytest.param((sys.executable, {"PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION": "python"}), id="pypi-etcd3"),
]


# ---------------------------------------------------------------- helpers

def free_port():
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def unused_port(*avoid):
    """A port nothing listens on (bound once, then released)."""
    while True:
        port = free_port()
        if port not in avoid:
            return port


# ---------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def etcd(tmp_path_factory):
    binary = os.environ.get("MOONCAKE_TEST_ETCD")
    if not binary:
        pytest.skip("MOONCAKE_TEST_ETCD (path of an etcd binary) is not set")
    if not os.access(binary, os.X_OK):
        pytest.skip(f"MOONCAKE_TEST_ETCD={binary} is not an executable (Debian package etcd-server)")
    client = free_port()
    peer = unused_port(client)
    tmp = tmp_path_factory.mktemp("etcd")
    with running_etcd(binary, tmp, client, peer, "live"):
        yield dict(client=client, peer=peer, url=f"http://{HOST}:{client}")


@pytest.fixture(params=INTERPRETERS)
def runner(request, tmp_path):
    """run(module, args, *flags) -> (outcome, result): the module through `ansible` on localhost."""
    python, extra_env = request.param
    env = dict(os.environ, **extra_env)
    env.pop("PYTHONPATH", None)
    if not os.access(python, os.X_OK):
        pytest.skip(f"{python} is not an executable (set MOONCAKE_TEST_SYSTEM_PYTHON)")
    probe = subprocess.run([python, "-c", "import etcd3"], capture_output=True, text=True, env=env, check=False)
    if probe.returncode != 0:
        lines = (probe.stderr.strip() or "no output").splitlines()
        pytest.skip(f"etcd3 does not import in {python} (Debian: python3-etcd3; PyPI: etcd3): {lines[-1]}")
    config = tmp_path / "ansible.cfg"
    config.write_text("[defaults]\n")
    env.update(ANSIBLE_CONFIG=str(config), ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS), ANSIBLE_NOCOLOR="1")
    ansible = os.path.join(os.path.dirname(sys.executable), "ansible")

    def run(module, args, *flags):
        proc = subprocess.run(
            [ansible, "localhost", "-i", "localhost,", "-c", "local",
             "-e", "ansible_python_interpreter=" + python,
             "-m", "mooncake.deploy." + module, "-a", json.dumps(args), *flags],
            capture_output=True, text=True, timeout=120, env=env, cwd=str(tmp_path), check=False)
        # ad-hoc output ends with: localhost | SUCCESS => {...} (or CHANGED, FAILED!)
        match = re.search(r"^localhost \| (SUCCESS|CHANGED|FAILED!) => ", proc.stdout, re.M)
        assert match, proc.stdout + proc.stderr
        result = json.loads(proc.stdout[match.end():])
        result["_stdout"] = proc.stdout
        return match.group(1), result

    return run


@pytest.fixture
def keys(etcd):
    """The engine's two keys for SEGMENT, plus another segment's key that must survive."""
    etcd_put(etcd["client"], RPC_META_KEY, json.dumps(RPC_META) + "\n")
    etcd_put(etcd["client"], RAM_KEY, json.dumps(RAM) + "\n")
    etcd_put(etcd["client"], OTHER_KEY, json.dumps({"ip_or_host_name": HOST, "rpc_port": 15625}))
    return etcd


# ---------------------------------------------------------------- tests

def test_etcd_info_reads_health_members_and_segments(runner, keys):
    outcome, result = runner("etcd_info", {"endpoints": [keys["url"]]}, "--check")
    assert outcome == "SUCCESS", result
    assert result["changed"] is False
    (health,) = result["health"]
    assert health["endpoint"] == keys["url"] and health["status"] == "ok" and health["error"] is None
    assert health["version"].startswith("3.")
    (member,) = result["members"]
    assert member["name"] == "live"
    assert member["client_urls"] == [keys["url"]]
    assert member["peer_urls"] == [f"http://{HOST}:{keys['peer']}"]
    assert result["leader_id"] == member["id"] == health["leader_id"]
    segment = result["segments"][SEGMENT]
    assert segment["rpc_meta"] == RPC_META
    assert segment["ram"] == dict(name=SEGMENT, protocol="tcp", tcp_data_host=HOST, tcp_data_port=16344,
                                  buffers=1, devices=0, timestamp=RAM["timestamp"])
    assert segment["problems"] == []
    assert result["segments"][f"{HOST}:15625"]["problems"] == [f"mooncake/ram/{HOST}:15625 is missing"]


def test_etcd_info_reports_an_unreachable_endpoint_and_goes_on(runner, keys):
    dead = f"http://{HOST}:{unused_port(keys['client'], keys['peer'])}"
    outcome, result = runner("etcd_info", {"endpoints": [dead, keys["url"]], "timeout": 3})
    assert outcome == "SUCCESS", result
    assert [h["status"] for h in result["health"]] == ["error", "ok"]
    assert "Connection refused" in result["health"][0]["error"], result["health"][0]
    assert result["endpoint"] == keys["url"]
    assert SEGMENT in result["segments"]


@pytest.mark.parametrize("module", ["etcd_info", "mooncake_metadata"])
def test_unreachable_endpoint_fails_naming_it(runner, etcd, module):
    dead = f"http://{HOST}:{unused_port(etcd['client'], etcd['peer'])}"
    outcome, result = runner(module, {"endpoints": [dead], "segment": SEGMENT, "timeout": 3}
                             if module == "mooncake_metadata" else {"endpoints": [dead], "timeout": 3})
    assert outcome == "FAILED!", result
    assert result["msg"].startswith(f"no etcd endpoint is reachable: {dead}: ConnectionFailedError"), result["msg"]
    assert "Connection refused" in result["msg"]


def test_mooncake_metadata_check_real_and_again(runner, keys):
    args = {"endpoints": [keys["url"]], "segment": SEGMENT, "state": "absent"}

    outcome, result = runner("mooncake_metadata", args, "--check", "--diff")
    assert outcome == "CHANGED", result
    assert result["keys"] == [RPC_META_KEY, RAM_KEY]
    assert set(etcd_keys(keys["client"])) == {RPC_META_KEY, RAM_KEY, OTHER_KEY}, "check mode deleted keys"
    # The diff is printed before the result: the keys and their values go, nothing comes.
    diff = result["_stdout"].split("localhost | CHANGED")[0].splitlines()
    removed = "\n".join(line for line in diff if line.startswith("-") and not line.startswith("---"))
    added = [line for line in diff if line.startswith("+") and not line.startswith("+++")]
    for text in (RPC_META_KEY, RAM_KEY, "16344", '"rpc_port": 15624'):
        assert text in removed, diff
    assert added == [], diff

    outcome, result = runner("mooncake_metadata", args, "--diff")
    assert outcome == "CHANGED", result
    assert result["keys"] == [RPC_META_KEY, RAM_KEY]
    assert set(etcd_keys(keys["client"])) == {OTHER_KEY}

    outcome, result = runner("mooncake_metadata", args)
    assert outcome == "SUCCESS", result
    assert result["changed"] is False and result["keys"] == []
    assert set(etcd_keys(keys["client"])) == {OTHER_KEY}

    outcome, result = runner("etcd_info", {"endpoints": [keys["url"]]})
    assert SEGMENT not in result["segments"] and f"{HOST}:15625" in result["segments"]
