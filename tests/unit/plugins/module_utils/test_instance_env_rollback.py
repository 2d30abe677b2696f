# -*- coding: utf-8 -*-
"""An instance's environment file, and what a failed instance gets back."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.mooncake.deploy.plugins.module_utils.instance_env import env_lines
from ansible_collections.mooncake.deploy.plugins.module_utils.instance_rollback import (
    failure_message, kept_copies, rollback_plan)

PLAN = {"name": "prefill", "port": 15624, "address": "10.231.0.11", "rpc_port_range": [20000, 20099],
        "protocol": "tcp", "command": None, "env": {}, "env_override": []}


def assignments(lines):
    return [line for line in lines if not line.startswith("#")]


def test_the_collection_sets_its_variables_with_a_reason_each():
    lines = env_lines(PLAN, "/etc/mooncake/instances", "/opt/mooncake/engines/0.3.10/venv", {}, False)
    assert assignments(lines) == [
        "MOONCAKE_CONFIG_PATH=/etc/mooncake/instances/prefill.json",
        "MOONCAKE_ENGINE=/opt/mooncake/engines/0.3.10/venv",
        "MC_LEGACY_RPC_PORT_BINDING=1",
        "MC_TCP_BIND_ADDRESS=10.231.0.11",
        "MC_MIN_RPC_PORT=20000",
        "MC_MAX_RPC_PORT=20099",
        "MC_FORCE_TCP=1",
        "MC_DISABLE_METACACHE=1",
    ]
    assert len(lines) > len(assignments(lines))


def test_a_program_of_the_user_gets_no_engine_and_rdma_gets_its_settings():
    plan = dict(PLAN, command=["/bin/true"], protocol="rdma")
    lines = assignments(env_lines(plan, "/etc/mooncake/instances", "/x", {"MC_GID_INDEX": "3", "MC_MTU": "4096"}, True))
    assert "MOONCAKE_ENGINE=/x" not in lines and "MC_FORCE_TCP=1" not in lines and "MC_DISABLE_METACACHE=1" not in lines
    assert lines[-2:] == ["MC_GID_INDEX=3", "MC_MTU=4096"]


def test_an_override_replaces_the_collections_line_with_the_users_value():
    plan = dict(PLAN, env={"MC_FORCE_TCP": "0", "HF_HOME": "/m $x"}, env_override=["MC_FORCE_TCP"])
    lines = env_lines(plan, "/etc/mooncake/instances", "/x", {}, False)
    assert "MC_FORCE_TCP=1" not in lines
    assert assignments(lines)[-2:] == ['HF_HOME="/m \\$x"', 'MC_FORCE_TCP="0"']
    assert "# env_override: the instance replaces MC_FORCE_TCP (README: what is lost)." in lines


def write(name, path, changed=True, backup=None):
    result = {"item": {"name": name}, "dest": path, "changed": changed}
    if backup:
        result["backup_file"] = backup
    return result


OWN = [
    write("prefill", "/etc/mooncake/instances/prefill.json", backup="/etc/mooncake/instances/prefill.json.1.2026~"),
    write("prefill", "/etc/mooncake/instances/prefill.env", changed=False),
    write("decode", "/etc/mooncake/instances/decode.json", backup="/etc/mooncake/instances/decode.json.1.2026~"),
    write("prefill", "/etc/systemd/system/mooncake-instance@prefill.service.d/10-command.conf"),
]
RETIRED = [{"item": {"name": "decode"}, "changed": True}, {"item": {"name": "prefill"}, "changed": False}]


def test_rollback_puts_back_the_old_files_and_removes_the_new_ones_of_that_instance_only():
    plan = rollback_plan("prefill", OWN, RETIRED, [{"changed": False}])
    assert plan == {
        "changed": ["/etc/mooncake/instances/prefill.json", "/etc/systemd/system/mooncake-instance@prefill.service.d/10-command.conf"],
        "restore": [{"path": "/etc/mooncake/instances/prefill.json", "backup": "/etc/mooncake/instances/prefill.json.1.2026~"}],
        "remove": ["/etc/systemd/system/mooncake-instance@prefill.service.d/10-command.conf"],
        "reload": True,
    }


def test_a_retired_dropin_comes_back_from_its_removed_copy():
    plan = rollback_plan("decode", OWN, RETIRED, [])
    dropin = "/etc/systemd/system/mooncake-instance@decode.service.d/10-command.conf"
    assert plan["restore"] == [{"path": "/etc/mooncake/instances/decode.json", "backup": "/etc/mooncake/instances/decode.json.1.2026~"},
                               {"path": dropin, "backup": dropin + ".removed"}]
    assert plan["reload"] is True


def test_a_changed_shared_unit_is_part_of_every_instances_rollback():
    unit = {"changed": True, "dest": "/etc/systemd/system/mooncake-instance@.service", "backup_file": "/etc/systemd/system/u~"}
    plan = rollback_plan("other", OWN, RETIRED, [unit, {"changed": False}])
    assert plan["restore"] == [{"path": "/etc/systemd/system/mooncake-instance@.service", "backup": "/etc/systemd/system/u~"}]


def test_nothing_changed_means_nothing_to_put_back():
    assert rollback_plan("prefill", [], [], []) == {"changed": [], "restore": [], "remove": [], "reload": False}


def test_kept_copies_are_every_backup_and_retired_dropin():
    assert kept_copies(OWN, RETIRED, [{"changed": True, "backup_file": "/u~"}]) == [
        "/etc/mooncake/instances/decode.json.1.2026~",
        "/etc/mooncake/instances/prefill.json.1.2026~",
        "/etc/systemd/system/mooncake-instance@decode.service.d/10-command.conf.removed",
        "/u~",
    ]


def test_the_failure_message_names_host_instance_unit_changes_and_journal():
    plan = rollback_plan("prefill", OWN[:1], [], [])
    message = failure_message("node1", {"name": "prefill"}, "it was not healthy within 10 s of its restart", plan, True,
                              ["Dec 05 prefill: bad flag --x"])
    assert message.splitlines() == [
        "host node1, instance 'prefill' (mooncake-instance@prefill.service): it was not healthy within 10 s of its restart.",
        "Changed by this run: /etc/mooncake/instances/prefill.json.",
        "Put back: /etc/mooncake/instances/prefill.json; the instance runs on them again and is healthy.",
        "Last lines of its journal:",
        "  Dec 05 prefill: bad flag --x",
    ]


def test_a_new_instance_that_fails_is_said_to_be_stopped_and_removed():
    plan = rollback_plan("prefill", OWN[3:], [], [])
    message = failure_message("node1", {"name": "prefill"}, "systemd could not restart it", plan, False, [])
    assert "It had no files before: it is stopped and disabled, and /etc/systemd/system/" in message
    assert message.endswith("Last lines of its journal:\n  (empty)")
