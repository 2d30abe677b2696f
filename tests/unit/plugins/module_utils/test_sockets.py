# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""sockets: the procfs parsers on recorded files (tests/unit/fixtures/README.md), and the
expectations port_bindings checks, on the recorded socket table of a real lab host."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import socket

import pytest

from ansible_collections.mooncake.deploy.plugins.module_utils import sockets
from ansible_collections.mooncake.deploy.plugins.module_utils.sockets import (
    check_expectations,
    matches_address,
    parse_proc_net,
    read_listeners,
    unit_from_cgroup,
)

from ansible_collections.mooncake.deploy.tests.unit.procfs import build_proc, read_fixture

PREFILL_CMD = "/opt/mooncake/venv/bin/python /opt/mooncake/bin/mooncake-agent serve --config /etc/mooncake/instances/prefill.json"
DECODE_CMD = "/opt/mooncake/venv/bin/python /opt/mooncake/bin/mooncake-agent serve --config /etc/mooncake/instances/decode.json"


def endpoints(listeners):
    return sorted((entry["protocol"], entry["address"], entry["port"]) for entry in listeners)


# ---------------------------------------------------------------- parse_proc_net


def test_lab_tcp_lists_the_listeners_and_skips_established_connections():
    text = read_fixture("lab-node1", "proc", "net", "tcp")
    listeners = parse_proc_net(text, socket.AF_INET, "tcp")
    assert endpoints(listeners) == [
        ("tcp", "0.0.0.0", 22),
        ("tcp", "0.0.0.0", 15624),
        ("tcp", "0.0.0.0", 15625),
        ("tcp", "10.231.0.11", 2379),
        ("tcp", "10.231.0.11", 2380),
        ("tcp", "127.0.0.1", 2379),
    ]
    # The file also holds 9 established connections (agents <-> etcd): not listeners.
    assert len(text.splitlines()) - 1 == 15
    by_port = dict(((e["address"], e["port"]), e["inode"]) for e in listeners)
    assert by_port[("0.0.0.0", 15624)] == 109911
    assert by_port[("127.0.0.1", 2379)] == 104089


def test_lab_tcp6_lists_the_wildcard_listeners():
    listeners = parse_proc_net(read_fixture("lab-node1", "proc", "net", "tcp6"), socket.AF_INET6, "tcp")
    assert endpoints(listeners) == [("tcp6", "::", 22), ("tcp6", "::", 20012), ("tcp6", "::", 20171)]
    assert dict((e["port"], e["inode"]) for e in listeners) == {22: 101932, 20012: 109912, 20171: 109435}


def test_ipv4_mapped_ipv6_address_is_decoded():
    # the established row of the recorded tcp6: local 0000000000000000FFFF00000B00E70A:4ECB
    line = read_fixture("lab-node1", "proc", "net", "tcp6").splitlines()[4]
    assert line.split()[1] == "0000000000000000FFFF00000B00E70A:4ECB"
    assert sockets._decode_address("0000000000000000FFFF00000B00E70A", socket.AF_INET6) == "::ffff:10.231.0.11"


def test_controller_tcp_and_empty_tcp6():
    assert endpoints(parse_proc_net(read_fixture("controller", "proc", "net", "tcp"), socket.AF_INET, "tcp")) == [
        ("tcp", "0.0.0.0", 2024)
    ]
    assert parse_proc_net(read_fixture("controller", "proc", "net", "tcp6"), socket.AF_INET6, "tcp") == []


def test_udp_keeps_unconnected_sockets_only():
    # /proc/net/udp has the same layout; 07 (TCP_CLOSE) is an unconnected, bound UDP socket.
    text = (
        "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n"
        " 1: 00000000:14E9 00000000:0000 07 00000000:00000000 00:00000000 00000000   104        0 2201 2 0000000000000000 0\n"
        " 2: 0B00E70A:A5C1 0B00E70B:0035 01 00000000:00000000 00:00000000 00000000     0        0 2202 2 0000000000000000 0\n"
    )
    assert endpoints(parse_proc_net(text, socket.AF_INET, "udp")) == [("udp", "0.0.0.0", 5353)]


# ---------------------------------------------------------------- unit_from_cgroup


@pytest.mark.parametrize("pid, unit", [
    ("390", "mooncake-etcd.service"),
    ("3866", "mooncake-instance@prefill.service"),
    ("3897", "mooncake-instance@decode.service"),
    ("53", "ssh.service"),
])
def test_lab_units_from_v1_hybrid_cgroup_files(pid, unit):
    text = read_fixture("lab-node1", "proc", pid, "cgroup")
    assert "name=systemd:/libpod_parent/libpod-" in text  # the container's path prefix is skipped
    assert unit_from_cgroup(text) == unit


@pytest.mark.parametrize("pid", ["1", "self"])
def test_controller_processes_are_in_no_unit(pid):
    assert unit_from_cgroup(read_fixture("controller", "proc", pid, "cgroup")) is None


@pytest.mark.parametrize("name, unit", [
    ("cgroup-v2-synthetic-service", "mooncake-etcd.service"),
    ("cgroup-v2-synthetic-template", "mooncake-instance@decode.service"),
])
def test_units_from_v2_cgroup_files(name, unit):
    assert unit_from_cgroup(read_fixture(name)) == unit


def test_systemd_hierarchy_wins_over_other_v1_controllers():
    text = "4:memory:/system.slice/other.service\n1:name=systemd:/system.slice/mine.service\n"
    assert unit_from_cgroup(text) == "mine.service"


def test_other_v1_controllers_are_the_fallback():
    assert unit_from_cgroup("4:memory:/system.slice/other.service\n1:name=systemd:/\n") == "other.service"


@pytest.mark.parametrize("text, unit", [
    # a container under podman's systemd cgroup manager, read from the host
    ("0::/machine.slice/libpod-6f0f52fb.scope/system.slice/mooncake-etcd.service\n", "mooncake-etcd.service"),
    # a user's service manager
    ("0::/user.slice/user-1000.slice/user@1000.service/app.slice/foo.service\n", "foo.service"),
    ("1:name=systemd:/machine.slice/libpod-6f0f52fb.scope/init.scope\n", "init.scope"),
])
def test_the_innermost_unit_of_a_nested_path_wins(text, unit):
    assert unit_from_cgroup(text) == unit


def test_session_scope_and_garbage():
    assert unit_from_cgroup("0::/user.slice/user-0.slice/session-3.scope\n") == "session-3.scope"
    assert unit_from_cgroup("") is None
    assert unit_from_cgroup("not a cgroup file\n") is None


# ---------------------------------------------------------------- read_listeners on recorded files


@pytest.fixture
def lab_listeners(tmp_path):
    return read_listeners(proc=build_proc(tmp_path, "lab-node1"))


def test_read_listeners_maps_every_lab_socket_to_its_process_and_unit(lab_listeners):
    owners = dict(
        ((e["address"], e["port"]), (e["process"]["pid"], e["process"]["name"], e["process"]["unit"]))
        for e in lab_listeners
    )
    assert owners == {
        ("0.0.0.0", 22): (53, "sshd", "ssh.service"),
        ("::", 22): (53, "sshd", "ssh.service"),
        ("10.231.0.11", 2379): (390, "etcd", "mooncake-etcd.service"),
        ("127.0.0.1", 2379): (390, "etcd", "mooncake-etcd.service"),
        ("10.231.0.11", 2380): (390, "etcd", "mooncake-etcd.service"),
        ("0.0.0.0", 15624): (3866, "python", "mooncake-instance@prefill.service"),
        ("::", 20012): (3866, "python", "mooncake-instance@prefill.service"),
        ("0.0.0.0", 15625): (3897, "python", "mooncake-instance@decode.service"),
        ("::", 20171): (3897, "python", "mooncake-instance@decode.service"),
    }
    prefill = [e for e in lab_listeners if e["port"] == 15624][0]
    assert prefill["process"]["cmdline"] == PREFILL_CMD
    assert "inode" not in prefill


def test_read_listeners_without_visible_owners(tmp_path):
    # As a user who cannot read other processes' fd tables: sockets without a process.
    listeners = read_listeners(proc=build_proc(tmp_path, "lab-node1", with_processes=False))
    assert len(listeners) == 9
    assert all(entry["process"] is None for entry in listeners)


# ---------------------------------------------------------------- check_expectations


def check(listeners, *expectations):
    return check_expectations(listeners, list(expectations))


def test_the_deployed_seed_case_meets_its_expectations(lab_listeners):
    results, failures = check(
        lab_listeners,
        {"port": 15624, "unit": "mooncake-instance@prefill.service", "address": "10.231.0.11"},
        {"port": 15625, "unit": "mooncake-instance@decode.service", "process": "python"},
        {"port": 2379, "address": "10.231.0.11", "unit": "mooncake-etcd.service"},
        {"port": 2380, "process": "etcd"},
        {"port": 15626, "state": "free"},
    )
    assert failures == []
    assert [r["ok"] for r in results] == [True] * 5
    assert [r["state"] for r in results] == ["listening"] * 4 + ["free"]
    assert [h["process"]["pid"] for h in results[0]["holders"]] == [3866]
    assert results[4]["holders"] == [] and results[4]["problem"] is None


def test_wrong_unit_names_pid_command_and_unit(lab_listeners):
    results, failures = check(lab_listeners, {"port": 15624, "unit": "mooncake-instance@decode.service"})
    assert failures == [
        "port 15624 should be held by mooncake-instance@decode.service but is held by "
        "0.0.0.0:15624 pid 3866 (%s, unit mooncake-instance@prefill.service)" % PREFILL_CMD
    ]
    assert results[0]["ok"] is False and results[0]["problem"] == failures[0]


def test_wrong_process_names_the_holder(lab_listeners):
    failures = check(lab_listeners, {"port": 2380, "process": "python"})[1]
    (message,) = failures
    assert message.startswith("port 2380 should be held by process python but is held by 10.231.0.11:2380 pid 390 (/usr/bin/etcd --name=node1 ")
    assert message.endswith(", unit mooncake-etcd.service)")


def test_port_expected_free_but_held(lab_listeners):
    failures = check(lab_listeners, {"port": 15625, "state": "free"})[1]
    assert failures == [
        "port 15625 should be free but is held by 0.0.0.0:15625 pid 3897 (%s, unit mooncake-instance@decode.service)" % DECODE_CMD
    ]


def test_available_passes_on_a_fresh_port_and_on_the_own_unit(lab_listeners):
    # Before a deploy: a free port (fresh host) and a port its own unit holds (re-run) pass.
    results, failures = check(
        lab_listeners,
        {"port": 15626, "state": "available", "unit": "mooncake-instance@other.service"},
        {"port": 15624, "state": "available", "unit": "mooncake-instance@prefill.service"},
        {"port": 2380, "state": "available", "process": "etcd"},
    )
    assert failures == [] and [r["ok"] for r in results] == [True, True, True]


def test_available_fails_on_a_foreign_holder_and_names_it(lab_listeners):
    failures = check(
        lab_listeners,
        {"port": 15625, "state": "available", "unit": "mooncake-instance@prefill.service",
         "label": "host node1, instance 'prefill'"},
        {"port": 2379, "state": "available"},
    )[1]
    assert failures[0] == (
        "host node1, instance 'prefill': port 15625 should be free or held by "
        "mooncake-instance@prefill.service but is held by 0.0.0.0:15625 pid 3897 (%s, unit "
        "mooncake-instance@decode.service)" % DECODE_CMD
    )
    # Nobody named: any holder is foreign.
    assert failures[1].startswith("port 2379 should be free but is held by 10.231.0.11:2379 pid 390")


def test_port_held_on_two_addresses_lists_both_holders(lab_listeners):
    failures = check(lab_listeners, {"port": 2379, "state": "free"})[1]
    (message,) = failures
    assert "10.231.0.11:2379 pid 390" in message and "127.0.0.1:2379 pid 390" in message
    assert message.count("; ") == 1


def test_nothing_listening(lab_listeners):
    failures = check(lab_listeners, {"port": 15626}, {"port": 15627, "address": "10.231.0.11"})[1]
    assert failures == ["nothing listens on port 15626", "nothing listens on port 15627 at 10.231.0.11"]


def test_etcd_on_the_wrong_address_is_caught(lab_listeners):
    # The seed's bug: etcd listens on specific addresses only, peers use another one.
    results, failures = check(
        lab_listeners,
        {"port": 2379, "address": "10.231.0.12"},
        {"port": 2379, "address": "127.0.0.1"},
    )
    assert failures == ["nothing listens on port 2379 at 10.231.0.12"]
    assert [r["ok"] for r in results] == [False, True]


def test_wildcard_listeners_serve_every_address(lab_listeners):
    results, failures = check(
        lab_listeners,
        {"port": 15624, "address": "10.231.0.11"},      # 0.0.0.0
        {"port": 20012, "address": "10.231.0.11"},      # ::
        {"port": 20171, "address": "fd00::11"},         # ::
        {"port": 15625, "address": "10.231.0.11", "state": "free"},
    )
    assert failures == ["port 15625 should be free but is held by 0.0.0.0:15625 pid 3897 (%s, unit mooncake-instance@decode.service)" % DECODE_CMD]
    assert [r["ok"] for r in results] == [True, True, True, False]


@pytest.mark.parametrize("listener, wanted, expected", [
    ("0.0.0.0", "10.0.0.1", True),
    ("::", "10.0.0.1", True),
    ("10.0.0.1", "10.0.0.1", True),
    ("::ffff:10.0.0.1", "10.0.0.1", True),
    ("127.0.0.1", "10.0.0.1", False),
    ("10.0.0.2", "10.0.0.1", False),
    ("127.0.0.1", None, True),
    ("127.0.0.1", "", True),
    ("127.0.0.1", "*", True),
])
def test_matches_address(listener, wanted, expected):
    assert matches_address(listener, wanted) is expected


def test_other_protocols_do_not_match(lab_listeners):
    failures = check(lab_listeners, {"port": 15624, "protocol": "udp"})[1]
    assert failures == ["nothing listens on port 15624"]


def test_invisible_process_is_explained(tmp_path):
    listeners = read_listeners(proc=build_proc(tmp_path, "lab-node1", with_processes=False))
    failures = check(listeners, {"port": 15624, "unit": "mooncake-instance@prefill.service"})[1]
    assert failures == [
        "port 15624 should be held by mooncake-instance@prefill.service but is held by "
        "0.0.0.0:15624 (process not visible: run as root with CAP_SYS_PTRACE)"
    ]


def test_controller_listener_outside_any_unit(tmp_path):
    # Recorded controller: one listener, its owner not recorded; a unit-less holder reads "none".
    listeners = parse_proc_net(read_fixture("controller", "proc", "net", "tcp"), socket.AF_INET, "tcp")
    for entry in listeners:
        entry.pop("inode")
        entry["process"] = {"pid": 1, "name": "process_api", "cmdline": "", "unit": unit_from_cgroup(
            read_fixture("controller", "proc", "1", "cgroup"))}
    failures = check(listeners, {"port": 2024, "unit": "x.service"}, {"port": 2024, "process": "process_api"})[1]
    assert failures == ["port 2024 should be held by x.service but is held by 0.0.0.0:2024 pid 1 (process_api, unit none)"]
