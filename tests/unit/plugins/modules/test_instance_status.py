# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""instance_status: main() on recorded answers - systemctl show and etcd's gateway of the 3-host
lab, the lab host's recorded socket table - and a real unix socket answering as an agent."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import subprocess
import sys

import pytest

from ansible.module_utils import basic
from ansible_collections.mooncake.deploy.plugins.module_utils.sockets import read_listeners
from ansible_collections.mooncake.deploy.plugins.modules import instance_status
from ansible_collections.mooncake.deploy.tests.unit import module_harness
from ansible_collections.mooncake.deploy.tests.unit.instance_status_fixtures import (
    fixture_text, recorded_report, start_agent, start_gateway)
from ansible_collections.mooncake.deploy.tests.unit.module_harness import AnsibleExitJson, AnsibleFailJson, patch_exits
from ansible_collections.mooncake.deploy.tests.unit.procfs import build_proc

PEERS = [{"host": "node1", "name": "decode", "segment": "10.231.4.12:15625"},
         {"host": "node2", "name": "decode", "segment": "10.231.4.13:15625"}]


@pytest.fixture(autouse=True)
def module_exits(monkeypatch):
    patch_exits(monkeypatch)


@pytest.fixture
def lab(tmp_path, monkeypatch):
    """Recorded host: its socket table, its systemctl, etcd's gateway and the prefill agent."""
    listeners = read_listeners(proc=build_proc(tmp_path, "lab-node1"))
    monkeypatch.setattr(instance_status, "read_listeners", lambda: [dict(entry) for entry in listeners])
    commands = []

    def run_command(module, args, **kwargs):  # pylint: disable=unused-argument
        commands.append(args)
        return 0, fixture_text("systemctl-show.txt"), ""
    monkeypatch.setattr(basic.AnsibleModule, "run_command", run_command)
    gateway, endpoint = start_gateway()
    recorded = recorded_report()[0]["instances"][0]["transfers"]
    agent = start_agent(tmp_path / "prefill.sock", {t["segment"]: t["result"] for t in recorded})
    yield {"commands": commands, "endpoint": endpoint, "agent": agent, "socket": str(tmp_path / "prefill.sock"),
           "gateway": gateway}
    gateway.shutdown()
    agent.shutdown()
    agent.server_close()


def args(lab, **extra):
    server = "etcd://%s" % lab["endpoint"]
    base = {
        "host": "node1",
        "instances": [
            {"name": "prefill", "role": "prefill", "port": 15624, "address": "10.231.4.12",
             "segment": "10.231.4.12:15624", "metadata_server": server, "control_socket": lab["socket"]},
            {"name": "decode", "role": "decode", "port": 15625, "address": "10.231.4.12",
             "segment": "10.231.4.12:15625", "metadata_server": server},
        ],
        "peers": PEERS, "transfer_size": 67108864, "transfer_rounds": 3,
    }
    base.update(extra)
    return base


def run(arguments, expect=AnsibleExitJson):
    return module_harness.run_module(instance_status.main, arguments, expect)


def test_everything_checked_in_one_call(lab):
    result = run(args(lab))
    assert result["changed"] is False
    # One systemctl for all units.
    assert lab["commands"] == [["systemctl", "show", "--property=Id,LoadState,ActiveState,SubState,MainPID,NRestarts",
                                "mooncake-instance@prefill.service", "mooncake-instance@decode.service"]]
    prefill, decode = result["instances"]
    assert prefill["unit_ok"] and prefill["unit"]["MainPID"] == "3972"
    assert prefill["port"]["ok"] and prefill["port"]["holders"][0]["unit"] == "mooncake-instance@prefill.service"
    assert prefill["etcd"]["ok"] is True
    assert prefill["etcd"]["rpc_meta"] == {"ip_or_host_name": "10.231.4.12", "rpc_port": 15624}
    assert [t["peer"] for t in prefill["transfers"]] == ["node1/decode", "node2/decode"]
    assert all(t["ok"] and t["result"]["bytes"] == 67108864 for t in prefill["transfers"])
    assert lab["agent"].requests == [{"op": "transfer", "peer": p["segment"], "size": 67108864, "rounds": 3} for p in PEERS]
    # decode's keys were not recorded: the recorded empty reply means "not registered".
    assert decode["transfers"] == [] and decode["etcd"]["ok"] is False
    assert result["failures"] == ["node1/decode: etcd registration wrong: no key mooncake/rpc_meta/10.231.4.12:15625"]


def test_check_mode_checks_but_does_not_transfer(lab):
    result = run(dict(args(lab), _ansible_check_mode=True))
    assert result["instances"][0]["transfers"] == [] and lab["agent"].requests == []
    assert result["instances"][0]["etcd"]["ok"] is True


def test_an_instance_with_its_own_command_does_not_transfer(lab):
    arguments = args(lab)
    arguments["instances"][0]["transfers"] = False
    assert run(arguments)["instances"][0]["transfers"] == [] and lab["agent"].requests == []


def test_wrong_unit_and_port_owner_are_failures(lab):
    arguments = args(lab)
    # The recorded host runs no unit 'gone'; port 15624 is held by the prefill unit.
    arguments["instances"] = [dict(arguments["instances"][0], name="gone", control_socket=lab["socket"])]
    failures = run(arguments)["failures"]
    assert failures[0] == "node1/gone: unit mooncake-instance@gone.service is inactive"
    assert failures[1].startswith("node1/gone: port 15624 should be held by mooncake-instance@gone.service but is held by ")
    assert "mooncake-instance@prefill.service" in failures[1]


def test_an_http_metadata_server_is_not_judged(lab):
    arguments = args(lab)
    for instance in arguments["instances"]:
        instance["metadata_server"] = "http://10.231.4.11:8080/metadata"
    result = run(arguments)
    assert [i["etcd"]["ok"] for i in result["instances"]] == [None, None] and result["failures"] == []
    assert lab["gateway"].seen == []


def test_systemctl_failure_fails_the_module(lab, monkeypatch):
    monkeypatch.setattr(basic.AnsibleModule, "run_command", lambda *a, **k: (1, "", "Failed to connect to bus"))
    result = run(args(lab), AnsibleFailJson)
    assert result["msg"] == "systemctl show failed (rc=1): Failed to connect to bus"


def test_ansible_doc_renders():
    run_doc = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "ansible-doc"), "-t", "module", "mooncake.deploy.instance_status"],
        capture_output=True, text=True, check=False)
    assert run_doc.returncode == 0, run_doc.stderr
    assert "transfer_size" in run_doc.stdout and "failures" in run_doc.stdout


def test_an_agent_on_p2phandshake_is_checked_at_the_port_its_engine_picked(lab, tmp_path):
    # The recorded host's port 15624 is held by mooncake-instance@prefill.service: here it is the
    # port prefill's engine says it picked. 'silent' has no agent answering.
    pinging = start_agent(tmp_path / "p2p.sock", {None: {"ok": True, "rpc_port": 15624, "segment": "10.231.4.12:15624"}})
    try:
        arguments = args(lab, peers=[
            {"host": "node2", "name": "p2p-decode", "segment": "10.231.4.13:20117", "metadata_server": "P2PHANDSHAKE"},
            {"host": "node2", "name": "lost", "segment": "", "metadata_server": "P2PHANDSHAKE", "problem": "it did not answer"},
            {"host": "node2", "name": "decode", "segment": "10.231.4.13:15625", "metadata_server": "etcd://10.0.0.1:2379"}])
        arguments["instances"] = [
            {"name": "prefill", "role": "decode", "p2p": True, "address": "10.231.4.12", "segment": "10.231.4.12",
             "metadata_server": "P2PHANDSHAKE", "control_socket": str(tmp_path / "p2p.sock")},
            {"name": "silent", "role": "prefill", "p2p": True, "address": "10.231.4.12", "segment": "10.231.4.12",
             "metadata_server": "P2PHANDSHAKE", "control_socket": str(tmp_path / "none.sock")}]
        picked, silent = run(arguments)["instances"]
    finally:
        pinging.shutdown()
        pinging.server_close()
    assert pinging.requests == [{"op": "ping"}]
    assert picked["segment"] == "10.231.4.12:15624" and picked["port"]["ok"] and picked["etcd"]["ok"] is None
    assert picked["port"]["holders"][0]["unit"] == "mooncake-instance@prefill.service"
    assert silent["segment"] == "10.231.4.12" and not silent["port"]["ok"] and silent["port"]["holders"] == []
    assert silent["port"]["problem"].startswith("its agent did not say which port its engine picked: control socket")
    # Its transfers: only into the peers on P2PHANDSHAKE; one with no segment fails with its reason.
    assert [(t["peer"], t["ok"]) for t in silent["transfers"]] == [("node2/p2p-decode", False), ("node2/lost", False)]
    assert silent["transfers"][1]["result"]["error"] == "its segment is unknown: it did not answer"
