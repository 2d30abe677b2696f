# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""port_bindings: main() with module args, on the recorded lab socket table and on this
machine's real one (a socket opened by the test on 127.0.0.1)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import socket
import subprocess
import sys

import pytest

from ansible_collections.mooncake.deploy.plugins.module_utils.sockets import read_listeners
from ansible_collections.mooncake.deploy.plugins.modules import port_bindings
from ansible_collections.mooncake.deploy.tests.unit import module_harness
from ansible_collections.mooncake.deploy.tests.unit.module_harness import AnsibleExitJson, AnsibleFailJson, patch_exits
from ansible_collections.mooncake.deploy.tests.unit.procfs import build_proc

PREFILL_CMD = "/opt/mooncake/venv/bin/python /opt/mooncake/bin/mooncake-agent serve --config /etc/mooncake/instances/prefill.json"


@pytest.fixture(autouse=True)
def module_exits(monkeypatch):
    patch_exits(monkeypatch)


def run_module(args, expect_exception):
    return module_harness.run_module(port_bindings.main, args, expect_exception)


@pytest.fixture
def lab_table(tmp_path, monkeypatch):
    """port_bindings reads the recorded socket table of lab-node1 instead of this machine's."""
    listeners = read_listeners(proc=build_proc(tmp_path, "lab-node1"))
    monkeypatch.setattr(port_bindings, "read_listeners", lambda: [dict(entry) for entry in listeners])
    return listeners


# ---------------------------------------------------------------- recorded table


def test_expectations_met_exit_unchanged(lab_table):
    result = run_module(
        {"expect": [
            {"port": 15624, "unit": "mooncake-instance@prefill.service"},
            {"port": 15625, "unit": "mooncake-instance@decode.service", "address": "10.231.0.11"},
            {"port": 2379, "address": "127.0.0.1", "process": "etcd"},
            {"port": 15626, "state": "free"},
        ]},
        AnsibleExitJson,
    )
    assert result["changed"] is False
    assert "failed" not in result
    assert result["failures"] == []
    assert [r["ok"] for r in result["results"]] == [True, True, True, True]
    assert len(result["listeners"]) == len(lab_table) == 9
    # module defaults are filled in for every expectation
    assert result["results"][3]["state"] == "free" and result["results"][0]["protocol"] == "tcp"


def test_mismatch_fails_with_the_holder_in_the_message(lab_table):
    result = run_module(
        {"expect": [
            {"port": 15624, "unit": "mooncake-instance@decode.service"},
            {"port": 15625, "state": "free"},
            {"port": 15624, "unit": "mooncake-instance@prefill.service"},
        ]},
        AnsibleFailJson,
    )
    assert result["changed"] is False
    first = (
        "port 15624 should be held by mooncake-instance@decode.service but is held by "
        "0.0.0.0:15624 pid 3866 (%s, unit mooncake-instance@prefill.service)" % PREFILL_CMD
    )
    assert result["failures"][0] == first
    assert result["failures"][1].startswith("port 15625 should be free but is held by 0.0.0.0:15625 pid 3897 (")
    assert result["msg"] == "; ".join(result["failures"])
    assert [r["ok"] for r in result["results"]] == [False, False, True]


def test_fail_on_mismatch_false_reports_without_failing(lab_table):
    result = run_module({"expect": [{"port": 2379, "address": "10.231.0.12"}], "fail_on_mismatch": False}, AnsibleExitJson)
    assert "failed" not in result and result["changed"] is False
    assert result["failures"] == ["nothing listens on port 2379 at 10.231.0.12"]


def test_check_mode_runs_the_same_checks(lab_table):
    result = run_module({"expect": [{"port": 15625, "state": "free"}], "_ansible_check_mode": True}, AnsibleFailJson)
    assert result["failures"][0].startswith("port 15625 should be free")


def test_no_expectations_lists_the_listeners(lab_table):
    result = run_module({}, AnsibleExitJson)
    assert result["results"] == [] and result["failures"] == []
    assert sorted(e["port"] for e in result["listeners"]) == [22, 22, 2379, 2379, 2380, 15624, 15625, 20012, 20171]


@pytest.mark.parametrize("expect, message", [
    ([{"unit": "x.service"}], "missing required arguments: port"),
    ([{"port": 15624, "state": "bound"}], "value of state must be one of: listening, free, available, got: bound"),
    ([{"port": 15624, "protocol": "udp"}], "value of protocol must be one of: tcp, got: udp"),
    ([{"port": "fifteen"}], "cannot be converted to an int"),
])
def test_bad_arguments_fail_before_reading_sockets(monkeypatch, expect, message):
    def not_called():
        raise AssertionError("read_listeners must not run with bad arguments")
    monkeypatch.setattr(port_bindings, "read_listeners", not_called)
    result = run_module({"expect": expect}, AnsibleFailJson)
    assert message in result["msg"]


# ---------------------------------------------------------------- this machine, for real


def own_comm():
    with open("/proc/self/comm", "r") as handle:
        return handle.read().strip()


def test_read_listeners_finds_our_socket_with_our_pid(listening_socket):
    mine = [entry for entry in read_listeners() if entry["port"] == listening_socket]
    assert len(mine) == 1, mine
    (entry,) = mine
    assert entry["protocol"] == "tcp" and entry["address"] == "127.0.0.1"
    assert entry["process"] is not None, "run the tests as root or as the socket's owner"
    assert entry["process"]["pid"] == os.getpid()
    assert entry["process"]["name"] == own_comm()
    assert sys.argv[0] in entry["process"]["cmdline"] or "pytest" in entry["process"]["cmdline"]


def test_a_closed_socket_is_gone(listening_socket):
    port = listening_socket
    closer = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    closer.bind(("127.0.0.1", 0))
    closer.listen(1)
    other = closer.getsockname()[1]
    closer.close()
    ports = set(entry["port"] for entry in read_listeners())
    assert port in ports and other not in ports


def test_module_against_the_real_socket_table(listening_socket):
    port = listening_socket
    result = run_module(
        {"expect": [{"port": port, "address": "127.0.0.1", "process": own_comm()}]},
        AnsibleExitJson,
    )
    assert result["failures"] == []
    (holder,) = result["results"][0]["holders"]
    assert holder["process"]["pid"] == os.getpid()

    result = run_module({"expect": [{"port": port, "state": "free"}]}, AnsibleFailJson)
    assert result["msg"].startswith("port %d should be free but is held by 127.0.0.1:%d pid %d (" % (port, port, os.getpid()))


def test_module_through_ansible_itself(listening_socket, tmp_path):
    """The module as a play runs it (AnsiballZ with its module_utils), against the real table."""
    port = listening_socket
    collections = port_bindings.__file__.split(os.sep + "ansible_collections" + os.sep, maxsplit=1)[0]
    config = tmp_path / "ansible.cfg"
    config.write_text("[defaults]\n")
    args = json.dumps({"expect": [
        {"port": port, "address": "127.0.0.1"},
        {"port": port, "address": "127.0.0.2"},
    ]})
    env = dict(os.environ, ANSIBLE_CONFIG=str(config), ANSIBLE_COLLECTIONS_PATH=collections,
               ANSIBLE_NOCOLOR="1")
    ansible = os.path.join(os.path.dirname(sys.executable), "ansible")
    run = subprocess.run(
        [ansible, "localhost", "-i", "localhost,", "-c", "local",
         "-e", "ansible_python_interpreter=" + sys.executable,
         "-m", "mooncake.deploy.port_bindings", "-a", args],
        capture_output=True, text=True, timeout=120, env=env, cwd=str(tmp_path), check=False,
    )
    assert run.returncode == 2, run.stdout + run.stderr  # 2: a host failed
    # ad-hoc output ends with: localhost | FAILED! => {...}
    marker = "localhost | FAILED! => "
    assert marker in run.stdout, run.stdout + run.stderr
    result = json.loads(run.stdout.split(marker, 1)[1])
    assert result["changed"] is False
    # Bound to 127.0.0.1 only, so 127.0.0.2 finds nothing; the holder is this test process.
    assert result["msg"] == "nothing listens on port %d at 127.0.0.2" % port
    assert result["results"][0]["ok"] is True
    assert result["results"][0]["holders"][0]["process"]["pid"] == os.getpid()
