# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""plan_instances: every check, one at a time and together, and the plan it returns."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.mooncake.deploy.plugins.module_utils.instance_plan import plan_instances

MIB = 1024 * 1024
HOST = "node1"
# What the instances role passes for the lab's node1, which also runs etcd.
SETTINGS = {
    "address": "10.231.0.11",
    "metadata_server": "etcd://10.231.0.11:2379",
    "buffer_size": 256 * MIB,
    "range_base": 20000,
    "range_size": 100,
    "reserved_ports": {"2379": "etcd (client)", "2380": "etcd (peer)"},
    "ephemeral_range": [32768, 60999],
}
SEED = [
    {"name": "prefill", "role": "prefill", "port": 15624},
    {"name": "decode", "role": "decode", "port": 15625},
]


def plan(instances, **settings):
    merged = dict(SETTINGS)
    merged.update(settings)
    return plan_instances(HOST, instances, merged)


def errors_of(instances, **settings):
    return plan(instances, **settings)[1]


def only_error(instances, **settings):
    errors = errors_of(instances, **settings)
    assert len(errors) == 1, errors
    return errors[0]


# ---------------------------------------------------------------- the happy path


def test_seed_case_plans_two_instances_with_their_own_segments_and_ranges():
    plans, errors = plan(SEED)
    assert errors == []
    assert [p["name"] for p in plans] == ["prefill", "decode"]
    prefill, decode = plans
    assert prefill["segment"] == "10.231.0.11:15624"
    assert decode["segment"] == "10.231.0.11:15625"
    # Automatic random-port ranges follow list order, range_size ports each.
    assert prefill["rpc_port_range"] == [20000, 20099]
    assert decode["rpc_port_range"] == [20100, 20199]
    assert prefill == {
        "name": "prefill",
        "role": "prefill",
        "port": 15624,
        "protocol": "tcp",
        "device_name": "",
        "buffer_size": 256 * MIB,
        "address": "10.231.0.11",
        "segment": "10.231.0.11:15624",
        "metadata_server": "etcd://10.231.0.11:2379",
        "metadata_endpoints": [{"host": "10.231.0.11", "port": 2379}],
        "master_server_address": "",
        "rpc_port_range": [20000, 20099],
        "env": {},
        "env_override": [],
        "command": None,
        "exec_start": None,
        "health_url": None,
        "gid_index": None,
        "mtu": None,
        "p2p": False,
        "kind": "agent",
        "ports": [15624],
        "gpus": [],
        "bootstrap_port": None,
        "serving_env": {},
    }


def test_instance_values_override_the_role_settings():
    plans, errors = plan([{
        "name": "decode-rdma",
        "role": "decode",
        "port": "15630",  # templated values arrive as strings
        "protocol": "rdma",
        "device_name": "mlx5_0",
        "buffer_size": 64 * MIB,
        "rpc_port_range": [21000, 21049],
        "env": {"NCCL_DEBUG": 3, "HF_HOME": "/models"},
        "command": "/opt/mooncake/venv/bin/python -m my_server",
        "metadata_server": "http://10.231.0.12:8080/metadata",
    }])
    assert errors == []
    (only,) = plans
    assert only["port"] == 15630
    assert only["segment"] == "10.231.0.11:15630"
    assert only["protocol"] == "rdma" and only["device_name"] == "mlx5_0"
    assert only["buffer_size"] == 64 * MIB
    assert only["rpc_port_range"] == [21000, 21049]
    assert only["env"] == {"NCCL_DEBUG": "3", "HF_HOME": "/models"}
    assert only["command"] == ["/opt/mooncake/venv/bin/python", "-m", "my_server"]
    assert only["metadata_server"] == "http://10.231.0.12:8080/metadata"


def test_automatic_range_keeps_list_position_when_an_earlier_instance_has_its_own():
    plans, errors = plan([
        {"name": "a", "port": 15624, "rpc_port_range": [25000, 25099]},
        {"name": "b", "port": 15625},
    ])
    assert errors == []
    assert [p["rpc_port_range"] for p in plans] == [[25000, 25099], [20100, 20199]]


def test_templated_settings_as_strings_are_compared_as_numbers():
    plans, errors = plan(SEED, range_base="20000", range_size="100", buffer_size=str(256 * MIB),
                         ephemeral_range=["32768", "60999"])
    assert errors == []
    assert plans[1]["rpc_port_range"] == [20100, 20199]


def test_no_instances_is_a_valid_plan():
    assert plan([]) == ([], [])


# ---------------------------------------------------------------- names


def test_duplicate_names_name_the_host_the_name_and_both_ports():
    message = only_error([{"name": "prefill", "port": 15624}, {"name": "prefill", "port": 15626}])
    assert message.startswith("host node1: ")
    assert "2 instances are named 'prefill'" in message
    assert "ports 15624, 15626" in message


@pytest.mark.parametrize("name, fault", [
    ("Prefill", "must start with a lower-case letter or a digit, not 'P'"),
    ("pre fill", "may not contain ' '"),
    ("pre.fill/x", "may not contain '.', '/'"),
    ("../etc", "must start with a lower-case letter or a digit, not '.'"),
    ("-x", "must start with a lower-case letter or a digit, not '-'"),
    ("_x", "must start with a lower-case letter or a digit, not '_'"),
    ("a" * 64, "is 64 characters long; at most 63"),
    ("", "must be a non-empty string"),
    (None, "must be a non-empty string"),
    (7, "must be a non-empty string"),
])
def test_names_that_cannot_name_a_unit_name_the_fault(name, fault):
    message = only_error([{"name": name, "port": 15624}])
    assert message.startswith("host node1, mooncake_instances[0]: name %r %s" % (name, fault))


# ---------------------------------------------------------------- ports


def test_duplicate_ports_name_the_host_both_instances_and_the_port():
    message = only_error([{"name": "prefill", "port": 15624}, {"name": "decode", "port": 15624}])
    assert message == (
        "host node1: instances 'prefill' and 'decode' all use port 15624; "
        "give each instance its own port"
    )


@pytest.mark.parametrize("port", [80, 1023, 0, -1])
def test_ports_below_1024_are_told_about_root(port):
    message = only_error([{"name": "prefill", "port": port}])
    assert message.startswith("host node1, instance 'prefill': port %d is below 1024; ports below 1024 need root" % port)


@pytest.mark.parametrize("port", [65536, "70000"])
def test_ports_above_65535_are_told_the_bound(port):
    message = only_error([{"name": "prefill", "port": port}])
    assert message == "host node1, instance 'prefill': port %d is above 65535, the highest TCP port" % int(port)


@pytest.mark.parametrize("port", ["http", 15624.5, True, None])
def test_ports_that_are_not_whole_numbers_are_named(port):
    message = only_error([{"name": "prefill", "port": port}])
    assert message == "host node1, instance 'prefill': port %r must be a whole number from 1024 to 65535" % (port,)


@pytest.mark.parametrize("port", [1024, 32767, 61000, 65535])
def test_ports_at_the_edges_of_the_allowed_ranges_are_accepted(port):
    # rpc ranges far away from the edges, so only the port itself is under test
    assert errors_of([{"name": "prefill", "port": port, "rpc_port_range": [20000, 20009]}]) == []


@pytest.mark.parametrize("port", [32768, 40000, 60999])
def test_ports_in_the_ephemeral_range_are_rejected(port):
    message = only_error([{"name": "prefill", "port": port}])
    assert message == (
        "host node1, instance 'prefill': port %d is inside the kernel's ephemeral port range "
        "32768-60999, where any outgoing connection can take it; choose a port outside that range" % port
    )


def test_the_ephemeral_range_comes_from_the_settings():
    instances = [{"name": "prefill", "port": 35000}]
    assert errors_of(instances, ephemeral_range=[40000, 50000]) == []
    assert "ephemeral port range 30000-36000" in only_error(instances, ephemeral_range=[30000, 36000], range_base=20000)


def test_a_broken_ephemeral_range_setting_is_reported():
    message = only_error(SEED, ephemeral_range=[60999, 32768])
    assert "the ephemeral port range [60999, 32768] must be [low, high]" in message


def test_reserved_ports_name_what_holds_them():
    message = only_error([{"name": "prefill", "port": 2379}])
    assert message == (
        "host node1, instance 'prefill': port 2379 is already used by etcd (client) on this host; "
        "choose another port"
    )


def test_reserved_ports_only_apply_where_the_service_runs():
    assert errors_of([{"name": "prefill", "port": 2379}], reserved_ports={}) == []


# ---------------------------------------------------------------- random-port ranges


def test_overlapping_random_port_ranges_are_rejected():
    message = only_error([
        {"name": "prefill", "port": 15624, "rpc_port_range": [20000, 20150]},
        {"name": "decode", "port": 15625},  # automatic: 20100-20199
    ])
    assert message == (
        "host node1: the random-port ranges of 'prefill' (20000-20150) and 'decode' (20100-20199) "
        "overlap; instances would steal each other's ports"
    )


def test_a_port_inside_another_instances_random_range_is_rejected():
    message = only_error([
        {"name": "prefill", "port": 15624},   # automatic range 20000-20099
        {"name": "decode", "port": 20050, "rpc_port_range": [21000, 21099]},
    ])
    assert message == "host node1: port 20050 of 'decode' lies inside the random-port range 20000-20099 of 'prefill'"


def test_a_random_range_over_a_reserved_port_is_rejected():
    message = only_error([{"name": "prefill", "port": 15624, "rpc_port_range": [2300, 2379]}])
    assert message == "host node1: the random-port range 2300-2379 of 'prefill' contains port 2379 of etcd (client)"
    errors = errors_of([{"name": "prefill", "port": 15624, "rpc_port_range": [2300, 2399]}])
    assert [e.rsplit(" of ", 1)[1] for e in errors] == ["etcd (client)", "etcd (peer)"]


def test_a_random_range_ending_in_the_ephemeral_range_is_rejected():
    message = only_error([{"name": "prefill", "port": 15624, "rpc_port_range": [30000, 33000]}])
    assert "rpc_port_range high 33000 is inside the kernel's ephemeral port range 32768-60999" in message


def test_a_random_range_spanning_the_ephemeral_range_is_rejected():
    message = only_error([{"name": "prefill", "port": 15624, "rpc_port_range": [30000, 62000]}])
    assert message == (
        "host node1, instance 'prefill': rpc_port_range 30000-62000 overlaps the kernel's "
        "ephemeral range 32768-60999"
    )


@pytest.mark.parametrize("rpc_range", [[20000], "20000-20099", [20000, "x"]])
def test_malformed_random_ranges_are_rejected(rpc_range):
    message = only_error([{"name": "prefill", "port": 15624, "rpc_port_range": rpc_range}])
    assert message == "host node1, instance 'prefill': rpc_port_range %r must be [low, high], two whole numbers" % (rpc_range,)


def test_a_random_range_upside_down_is_named():
    message = only_error([{"name": "prefill", "port": 15624, "rpc_port_range": [20100, 20000]}])
    assert message == "host node1, instance 'prefill': rpc_port_range [20100, 20000] has low above high"


def test_without_a_range_base_every_instance_needs_its_own_range():
    message = only_error([{"name": "prefill", "port": 15624}], range_base=None)
    assert "rpc_port_range None must be [low, high]" in message


# ---------------------------------------------------------------- protocol and device


def test_unknown_protocol_is_rejected():
    message = only_error([{"name": "prefill", "port": 15624, "protocol": "udp"}])
    assert message == "host node1, instance 'prefill': protocol 'udp' must be one of tcp, rdma"


def test_rdma_needs_a_device():
    message = only_error([{"name": "prefill", "port": 15624, "protocol": "rdma"}])
    assert message == "host node1, instance 'prefill': protocol rdma needs device_name (an RDMA device such as mlx5_0)"
    assert errors_of([{"name": "prefill", "port": 15624, "protocol": "rdma", "device_name": "mlx5_0"}]) == []


# ---------------------------------------------------------------- metadata_server


@pytest.mark.parametrize("server", [
    "etcd://10.231.0.11:2379",
    "etcd://10.231.0.11:2379,10.231.0.12:2379,10.231.0.13:2379",
    "etcd://etcd-0.cluster.local:2379",
    "etcd://[fd00::11]:2379",
    "http://10.231.0.11:8080/metadata",
    "https://meta.example.com/metadata",
    "P2PHANDSHAKE",
])
def test_metadata_server_forms_the_engine_accepts(server):
    # An agent on P2PHANDSHAKE has no port of its own (its engine picks one from its range).
    instances = [dict((k, v) for k, v in i.items() if k != "port" or server != "P2PHANDSHAKE") for i in SEED]
    assert errors_of(instances, metadata_server=server, port_base=None) == []


@pytest.mark.parametrize("server, fault", [
    ("redis://10.231.0.11:6379", ""),         # aborts the PyPI build
    ("http://10.231.0.11:2379", ": an HTTP metadata server needs its path, e.g. http://10.231.0.11:2379/metadata"),
    ("10.231.0.11:2379", ""),                 # no scheme
    ("etcd://", ": an endpoint is empty (a stray ',' or nothing after etcd://)"),
    ("etcd://10.231.0.11", ": endpoint '10.231.0.11' has no port (etcd's client port is usually 2379)"),
    ("etcd://10.231.0.11:99999", ": endpoint '10.231.0.11:99999' has port 99999, above 65535"),
    ("etcd://10.231.0.11:2379,", ": an endpoint is empty (a stray ',' or nothing after etcd://)"),
    ("etcd://10.231.0.11:2379/", ": etcd:// takes HOST:PORT endpoints only: remove the '/' and what follows it ('10.231.0.11:2379/')"),
    ("etcd://10.231.0.11:2379/prefix", ": etcd:// takes HOST:PORT endpoints only: remove the '/' and what follows it ('10.231.0.11:2379/prefix')"),
    ("p2phandshake", ": write P2PHANDSHAKE in capitals, as the engine compares it"),
    (" P2PHANDSHAKE", ": it has leading or trailing spaces"),
    ("", ""),
    (None, ""),                               # no etcd group and no explicit setting
    (2379, ""),
])
def test_metadata_server_forms_the_engine_rejects(server, fault):
    errors = errors_of([{"name": "prefill", "port": 15624}], metadata_server=server)
    assert errors == [
        "host node1, instance 'prefill': metadata_server %r is not usable%s; write "
        "etcd://IP:PORT[,IP:PORT] (an etcd the host can reach, not 0.0.0.0), "
        "http://HOST:PORT/metadata or P2PHANDSHAKE (redis:// aborts the PyPI build); with no etcd "
        "group in the inventory, set mooncake_instances_metadata_server" % (server, fault)
    ]


@pytest.mark.parametrize("server, host", [
    ("etcd://0.0.0.0:2379", "0.0.0.0"),
    ("etcd://10.231.0.11:2379,0.0.0.0:2379", "0.0.0.0"),
    ("etcd://[::]:2379", "::"),
    ("http://0.0.0.0:8080/metadata", "0.0.0.0"),
])
def test_metadata_server_on_a_wildcard_address_is_rejected(server, host):
    message = only_error([{"name": "prefill", "port": 15624}], metadata_server=server)
    assert message == (
        "host node1, instance 'prefill': metadata_server %s points at %s, an address to listen on, "
        "not one to connect to; use the etcd member's real address" % (server, host)
    )


def test_metadata_server_of_an_instance_overrides_the_setting():
    message = only_error([{"name": "decode", "port": 15625, "metadata_server": "redis://10.231.0.11:6379"}])
    assert "instance 'decode': metadata_server 'redis://10.231.0.11:6379' is not usable" in message


# ---------------------------------------------------------------- other fields


def test_unknown_fields_are_named():
    message = only_error([{"name": "prefill", "port": 15624, "prot": "tcp", "buffer": 1}])
    assert message.startswith("host node1, instance 'prefill': unknown field(s) buffer, prot; known fields are ")
    assert "metadata_server" in message and "rpc_port_range" in message


def test_unknown_role_is_rejected():
    message = only_error([{"name": "prefill", "port": 15624, "role": "encode"}])
    assert message == "host node1, instance 'prefill': role 'encode' must be one of prefill, decode, other"


@pytest.mark.parametrize("size", [MIB - 1, 0])
def test_buffer_size_must_be_at_least_one_mib(size):
    message = only_error([{"name": "prefill", "port": 15624, "buffer_size": size}])
    assert message == "host node1, instance 'prefill': buffer_size %d is below 1 MiB (1048576 bytes)" % size


@pytest.mark.parametrize("size", ["big", None])
def test_buffer_size_must_be_a_number(size):
    message = only_error([{"name": "prefill", "port": 15624, "buffer_size": size}])
    assert message == "host node1, instance 'prefill': buffer_size %r must be a whole number of bytes, at least 1 MiB (1048576)" % (size,)


def test_env_must_be_a_mapping():
    message = only_error([{"name": "prefill", "port": 15624, "env": ["MC_FORCE_TCP=1"]}])
    assert message == "host node1, instance 'prefill': env must be a mapping of variable names to values, got list"


@pytest.mark.parametrize("key", ["MC-FORCE", "1X", "A B", ""])
def test_a_bad_env_name_is_named(key):
    message = only_error([{"name": "prefill", "port": 15624, "env": {"GOOD": "1", key: "1"}}])
    assert message.startswith("host node1, instance 'prefill': env name %r is not a variable name" % key)


@pytest.mark.parametrize("value", ["a\nb", "a\x00b", "a\rb", "\x1b[31m"])
def test_env_values_with_control_characters_are_refused(value):
    value = value.encode().decode("unicode_escape")
    message = only_error([{"name": "prefill", "port": 15624, "env": {"HF_TOKEN": value}}])
    assert message.startswith("host node1, instance 'prefill': env HF_TOKEN contains control character(s) U+00")


@pytest.mark.parametrize("var", ["MC_LEGACY_RPC_PORT_BINDING", "MC_TCP_BIND_ADDRESS", "MC_FORCE_TCP", "MC_MIN_RPC_PORT", "MC_MAX_RPC_PORT"])
def test_env_may_not_replace_a_managed_variable(var):
    message = only_error([{"name": "prefill", "port": 15624, "env": {var: "0"}}])
    assert message.startswith("host node1, instance 'prefill': env %s would replace the collection's own %s, which guarantees that " % (var, var))
    assert message.endswith("list it in env_override to take that guarantee away knowingly")


def test_env_override_lets_a_managed_variable_be_replaced():
    plans, errors = plan([{"name": "prefill", "port": 15624, "env": {"MC_FORCE_TCP": "0"}, "env_override": ["MC_FORCE_TCP"]}])
    assert errors == []
    assert plans[0]["env_override"] == ["MC_FORCE_TCP"]
    assert plans[0]["env"] == {"MC_FORCE_TCP": "0"}


@pytest.mark.parametrize("override, fault", [
    (["HF_HOME"], "env_override names HF_HOME, which the collection does not set"),
    (["MC_FORCE_TCP"], "env_override names MC_FORCE_TCP, but env gives it no value"),
])
def test_env_override_must_name_a_managed_variable_that_env_sets(override, fault):
    message = only_error([{"name": "prefill", "port": 15624, "env": {"HF_HOME": "/x"}, "env_override": override}])
    assert message.startswith("host node1, instance 'prefill': " + fault)


def test_command_must_start_with_an_absolute_path():
    message = only_error([{"name": "prefill", "port": 15624, "command": "python -m server"}])
    assert message.startswith("host node1, instance 'prefill': command[0] 'python' must be the program's absolute path")


def test_a_command_on_several_lines_is_refused_before_any_change():
    message = only_error([{"name": "prefill", "port": 15624, "command": "/usr/bin/vllm serve m\n--port 8000\n"}])
    assert message.startswith("host node1, instance 'prefill': command is a string containing a line break")
    assert "write command as a list" in message


def test_a_command_list_is_planned_as_its_argv_and_exec_line():
    plans, errors = plan([{"name": "prefill", "port": 15624, "command": ["/usr/bin/env", "A=%i", 8000],
                           "health_url": "http://127.0.0.1:8000/health"}])
    assert errors == []
    assert plans[0]["command"] == ["/usr/bin/env", "A=%i", "8000"]
    assert plans[0]["exec_start"] == '"/usr/bin/env" "A=%%i" "8000"'
    assert plans[0]["health_url"] == "http://127.0.0.1:8000/health"


@pytest.mark.parametrize("url", ["localhost:8000/health", "http://127.0.0.1:8000", 8000])
def test_health_url_must_be_an_http_url_with_a_path(url):
    message = only_error([{"name": "prefill", "port": 15624, "command": ["/bin/true"], "health_url": url}])
    assert message.startswith("host node1, instance 'prefill': health_url %r must be an http:// or https:// URL" % (url,))


def test_health_url_needs_a_command():
    message = only_error([{"name": "prefill", "port": 15624, "health_url": "http://127.0.0.1:8000/health"}])
    assert message.startswith("host node1, instance 'prefill': health_url applies to an instance with its own command")


# ---------------------------------------------------------------- address and shape


@pytest.mark.parametrize("address", ["node1", "", None, "10.231.0.300"])
def test_the_advertised_address_must_be_an_ip(address):
    message = only_error(SEED, address=address)
    assert message.startswith("host node1: mooncake_instances_address %r is not an IP address" % (address,))


@pytest.mark.parametrize("address", ["0.0.0.0", "::"])
def test_the_advertised_address_must_not_be_a_wildcard(address):
    message = only_error(SEED, address=address)
    assert message == (
        "host node1: mooncake_instances_address must be a real address of the host, not %s: "
        "peers cannot connect to it" % address
    )


def test_the_instance_list_must_be_a_list_of_mappings():
    assert errors_of({"name": "prefill", "port": 15624}) == [
        "host node1: mooncake_instances must be a list of instances, got dict"
    ]
    assert errors_of(["prefill"]) == [
        "host node1, mooncake_instances[0]: each instance must be a mapping with at least name and port"
    ]


# ---------------------------------------------------------------- all at once


def test_every_problem_is_reported_in_one_run():
    plans, errors = plan(
        [
            {"name": "prefill", "port": 15624},
            {"name": "Decode", "port": 80, "protocol": "udp", "colour": "red"},
            {"name": "other", "port": 15624, "protocol": "rdma"},
        ],
        address="0.0.0.0",
        metadata_server="redis://10.231.0.11:6379",
    )
    expected = [
        "host node1: mooncake_instances_address must be a real address of the host, not 0.0.0.0",
        "host node1, mooncake_instances[1]: name 'Decode' must start with a lower-case letter or a digit",
        "host node1, mooncake_instances[1]: unknown field(s) colour",
        "host node1, mooncake_instances[1]: port 80 is below 1024",
        "host node1, mooncake_instances[1]: protocol 'udp' must be one of tcp, rdma",
        "host node1, instance 'other': protocol rdma needs device_name",
        "host node1: instances 'prefill' and 'other' all use port 15624",
    ]
    for start in expected:
        assert [e for e in errors if e.startswith(start)], "%r missing from %r" % (start, errors)
    # metadata_server is wrong for each of the three instances
    assert len([e for e in errors if "metadata_server 'redis://10.231.0.11:6379' is not usable" in e]) == 3
    assert len(errors) == len(expected) + 3
    # the plan still lists every instance, so later checks can see all of them
    assert len(plans) == 3


# ---------------------------------------------------------------- planned ports


def test_ports_are_planned_from_base_and_stride_when_not_given():
    plans, errors = plan([{"name": "a"}, {"name": "b", "port": 16000}, {"name": "c"}], port_base=15624, port_stride=10)
    assert errors == []
    # Index-based like the ranges: c keeps 15644 whatever b's explicit port is.
    assert [p["port"] for p in plans] == [15624, 16000, 15644]
    assert [p["segment"] for p in plans] == ["10.231.0.11:15624", "10.231.0.11:16000", "10.231.0.11:15644"]


def test_a_planned_port_is_checked_like_a_given_one():
    errors = errors_of([{"name": "a"}, {"name": "b", "port": 15624}], port_base=15624, port_stride=1)
    assert errors == ["host node1: instances 'a' and 'b' all use port 15624; give each instance its own port"]
    message = only_error([{"name": "a"}], port_base=32768, port_stride=1)
    assert message.startswith("host node1, instance 'a': planned port (mooncake_instances_port_base + 0 x stride) "
                              "32768 is inside the kernel's ephemeral port range")


def test_without_a_base_the_port_is_required():
    message = only_error([{"name": "a"}], port_base=None)
    assert message.startswith("host node1, instance 'a': port None must be a whole number from 1024 to 65535")


def test_a_bad_stride_is_named():
    errors = errors_of([{"name": "a", "port": 15624}], port_base=15624, port_stride=0)
    assert errors == ["host node1: mooncake_instances_port_base 15624 and mooncake_instances_port_stride 0 must be "
                      "whole numbers, the stride at least 1"]


# ---------------------------------------------------------------- addresses and endpoints


def test_loopback_address_fails_when_peers_are_on_other_hosts():
    message = only_error(SEED, address="127.0.0.1", remote_peers=["node3", "node2"])
    assert message == ("host node1: mooncake_instances_address 127.0.0.1 is a loopback address, but instances on "
                       "node2, node3 must reach this host's instances; set it to this host's IP on the network they share")
    assert errors_of(SEED, address="127.0.0.1", remote_peers=[]) == []


@pytest.mark.parametrize("server, endpoints", [
    ("etcd://10.0.0.1:2379,10.0.0.2:2479", [{"host": "10.0.0.1", "port": 2379}, {"host": "10.0.0.2", "port": 2479}]),
    ("http://meta.example:8080/metadata", [{"host": "meta.example", "port": 8080}]),
    ("https://meta.example/metadata", [{"host": "meta.example", "port": 443}]),
    ("http://[fd00::1]/metadata", [{"host": "fd00::1", "port": 80}]),
    ("P2PHANDSHAKE", []),
])
def test_the_plan_lists_the_metadata_endpoints_to_reach(server, endpoints):
    instances = [dict((k, v) for k, v in i.items() if k != "port" or server != "P2PHANDSHAKE") for i in SEED[:1]]
    plans, errors = plan(instances, metadata_server=server, port_base=None)
    assert errors == [] and plans[0]["metadata_endpoints"] == endpoints


def test_master_server_address_is_checked_and_planned():
    plans, errors = plan(SEED[:1], master_server_address="10.231.0.11:50051")
    assert errors == [] and plans[0]["master_server_address"] == "10.231.0.11:50051"
    assert plan(SEED[:1])[0][0]["master_server_address"] == ""
    message = only_error([dict(SEED[0], master_server_address="http://10.0.0.1")])
    assert message == ("host node1, instance 'prefill': master_server_address 'http://10.0.0.1' must be "
                       "HOST:PORT of a Store master (its RPC port), or etcd://HOST:PORT[;HOST:PORT] of the etcd "
                       "members HA masters elect their leader on")


def test_ha_masters_are_named_by_their_etcd_members():
    address = "etcd://10.231.0.11:2379;10.231.0.12:2379"
    plans, errors = plan(SEED[:1], master_server_address=address)
    assert errors == [] and plans[0]["master_server_address"] == address
    assert len(errors_of(SEED[:1], master_server_address="etcd://10.231.0.11:2379;")) == 1


def test_an_agent_on_p2phandshake_has_no_port_of_its_own_and_is_planned_around_its_range():
    """Measured (0.3.13.post1): on P2PHANDSHAKE the engine ignores MC_LEGACY_RPC_PORT_BINDING and
    listens on two ports of MC_MIN/MAX_RPC_PORT that it picks; a one-port range fails."""
    plans, errors = plan([{"name": "p2p-decode", "role": "decode", "metadata_server": "P2PHANDSHAKE"},
                          {"name": "etcd-decode", "role": "decode"}], port_base=15624, port_stride=1)
    assert errors == []
    p2p, other = plans
    assert (p2p["p2p"], p2p["port"], p2p["ports"], p2p["segment"]) == (True, None, [], "10.231.0.11")
    assert p2p["rpc_port_range"] == [20000, 20099]
    # Planned ports keep list order: the second instance's port does not move up.
    assert (other["p2p"], other["port"], other["segment"]) == (False, 15625, "10.231.0.11:15625")


def test_an_agent_on_p2phandshake_refuses_a_port_and_a_one_port_range():
    errors = errors_of([{"name": "a", "port": 15624, "metadata_server": "P2PHANDSHAKE", "rpc_port_range": [21000, 21000]}])
    assert errors == [
        "host node1, instance 'a': port 15624: an agent on P2PHANDSHAKE has no fixed port (its engine listens "
        "on ports of its rpc_port_range that it picks at start); remove port",
        "host node1, instance 'a': rpc_port_range 21000-21000: an agent on P2PHANDSHAKE needs at least 2 ports "
        "there (its handshake and data ports; with one the engine fails to start)",
    ]
