"""The store_objects module against a real Mooncake Store on 127.0.0.1: one master, one
standalone store client pooling 64 MiB; objects put by one module run are read back by
another, bytes compared, and removed. The module runs the way a play runs it (ansible ad-hoc,
AnsiballZ, connection local). Everything started here is stopped by PID.

Needs the engine's binaries next to MOONCAKE_TEST_PYTHON (mooncake_master, mooncake_client)
and a Python that imports mooncake.store; skips with the reason otherwise.
"""
import json
import os
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from etcd_process import HOST, START_TIMEOUT, stop, wait_until

COLLECTIONS = Path(__file__).resolve().parents[2] / "collections"
PYTHON = os.environ.get("MOONCAKE_TEST_PYTHON", sys.executable)
BIN = Path(PYTHON).parent
MIB = 1 << 20


def _skip_reason():
    for binary in ("mooncake_master", "mooncake_client"):
        if not (BIN / binary).exists():
            return "%s is not next to %s" % (binary, PYTHON)
    if subprocess.run([PYTHON, "-c", "import mooncake.store"], capture_output=True, check=False).returncode:
        return "%s cannot import mooncake.store" % PYTHON
    return None


pytestmark = pytest.mark.skipif(_skip_reason() is not None, reason=str(_skip_reason()))


def _health(url):
    try:
        with urllib.request.urlopen(url, timeout=1) as resp:
            return json.load(resp)
    except (OSError, ValueError):
        return {}


@pytest.fixture
def store(tmp_path):
    """(master address) of a running master and store client; both stopped afterwards."""
    rpc, metrics, client, http = 50151, 9103, 50152, 9401
    procs = []
    try:
        with (tmp_path / "master.log").open("w") as log:
            procs.append(subprocess.Popen(
                [str(BIN / "mooncake_master"), "--rpc_address=%s" % HOST, "--rpc_port=%d" % rpc,
                 "--metrics_host=%s" % HOST, "--metrics_port=%d" % metrics, "--logtostderr"], stdout=log, stderr=log))
        wait_until(lambda: _health("http://%s:%d/health" % (HOST, metrics)).get("service_ready"), START_TIMEOUT,
                   "mooncake_master", procs[0], tmp_path / "master.log")
        with (tmp_path / "client.log").open("w") as log:
            procs.append(subprocess.Popen(
                [str(BIN / "mooncake_client"), "--host=%s" % HOST, "--port=%d" % client, "--global_segment_size=%d" % (64 * MIB),
                 "--local_buffer_size=%d" % (16 * MIB), "--master_server_address=%s:%d" % (HOST, rpc),
                 "--metadata_server=P2PHANDSHAKE", "--protocol=tcp", "--enable_http_server=true", "--http_port=%d" % http,
                 "--logtostderr"], stdout=log, stderr=log, env=dict(os.environ, MC_TCP_BIND_ADDRESS=HOST)))
        wait_until(lambda: _health("http://%s:%d/health" % (HOST, http)).get("status") == "healthy", START_TIMEOUT,
                   "mooncake_client", procs[1], tmp_path / "client.log")
        yield "%s:%d" % (HOST, rpc)
    finally:
        for proc in reversed(procs):
            stop(proc)


def _run(tmp_path, **args):
    """The module's result, run by `ansible` on localhost."""
    base = {"local_hostname": HOST, "python": PYTHON, "timeout": 60}
    base.update(args)
    config = tmp_path / "ansible.cfg"
    config.write_text("[defaults]\n")
    env = dict(os.environ, ANSIBLE_CONFIG=str(config), ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS), ANSIBLE_NOCOLOR="1")
    proc = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "ansible"), "localhost", "-i", "localhost,", "-c", "local",
         "-e", "ansible_python_interpreter=" + sys.executable, "-m", "mooncake.deploy.store_objects", "-a", json.dumps(base)],
        capture_output=True, text=True, timeout=180, env=env, cwd=str(tmp_path), check=False)
    match = re.search(r"^localhost \| (SUCCESS|CHANGED|FAILED!) => ", proc.stdout, re.M)
    assert match and match.group(1) == "SUCCESS", proc.stdout + proc.stderr
    return json.loads(proc.stdout[match.end():])


def test_objects_put_by_one_client_are_read_back_by_another(store, tmp_path):
    objects = [{"key": "live-4k", "size": 4096}, {"key": "live-1m", "size": MIB}, {"key": "live-8m", "size": 8 * MIB}]
    put = _run(tmp_path, mode="put", objects=objects, master_server_address=store)
    assert put["failures"] == [] and put["changed"] is False
    keys = [o["key"] for o in put["objects"]]
    assert [k.rsplit(".", 1)[0] for k in keys] == ["live-4k", "live-1m", "live-8m"] and len(set(k.rsplit(".", 1)[1] for k in keys)) == 1
    assert all(len(o["sha256"]) == 64 for o in put["objects"]) and put["throughput_mib_s"] > 0
    got = _run(tmp_path, mode="get", objects=put["objects"], master_server_address=store)
    assert got["failures"] == []
    assert [(o["read_size"], o["ok"]) for o in got["objects"]] == [(4096, True), (MIB, True), (8 * MIB, True)]


def test_each_put_uses_its_own_key_and_removes_the_unread_copies_of_earlier_runs(store, tmp_path):
    first = _run(tmp_path, mode="put", objects=[{"key": "live-again", "size": 4096}], master_server_address=store)
    second = _run(tmp_path, mode="put", objects=[{"key": "live-again", "size": 4096}], master_server_address=store)
    assert second["failures"] == [] and second["objects"][0]["key"] != first["objects"][0]["key"]
    # The first copy was never read (no read lease): the second put removed it.
    gone = _run(tmp_path, mode="get", objects=first["objects"], master_server_address=store)
    assert gone["failures"] == ["%s read on %s: 0 bytes of 4096, missing or cut" % (first["objects"][0]["key"], HOST)]
    assert _run(tmp_path, mode="get", objects=second["objects"], master_server_address=store)["failures"] == []


def test_a_missing_object_is_reported(store, tmp_path):
    got = _run(tmp_path, mode="get", objects=[{"key": "never-put", "size": 4096, "sha256": "0" * 64}], master_server_address=store)
    assert got["failures"] == ["never-put read on %s: 0 bytes of 4096, missing or cut" % HOST]


def test_a_wrong_checksum_is_reported_as_differing_content(store, tmp_path):
    put = _run(tmp_path, mode="put", objects=[{"key": "live-x", "size": 4096}], master_server_address=store)
    forged = [dict(put["objects"][0], sha256="0" * 64)]
    got = _run(tmp_path, mode="get", objects=forged, master_server_address=store)
    assert got["failures"] == ["%s read on %s: 4096 bytes of 4096, content differs" % (forged[0]["key"], HOST)]


def test_an_unreachable_master_is_a_failure_not_a_crash(tmp_path):
    got = _run(tmp_path, mode="put", objects=[{"key": "k", "size": 4096}], master_server_address="%s:1" % HOST, timeout=10)
    assert len(got["failures"]) == 1
    assert "could not join the Store" in got["failures"][0] or "ended with rc" in got["failures"][0]
