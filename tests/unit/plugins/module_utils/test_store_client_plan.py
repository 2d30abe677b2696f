# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""plan_store_clients: every check, one at a time and together, and the plan it returns."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.mooncake.deploy.plugins.module_utils.store_client_plan import (
    human_bytes,
    meminfo_bytes,
    parse_size,
    plan_store_clients,
    port_expectations,
    port_problems,
    reserved_services,
    unlisted,
)

KIB = 1024
MIB = 1024 * KIB
GIB = 1024 * MIB
HOST = "node1"
# What the store_client role passes for the lab's node1, which also runs etcd and two instances.
SETTINGS = {
    "address": "10.231.0.11",
    "own_addresses": ["10.231.0.11", "127.0.0.1"],
    "port_base": 22052,
    "http_port_base": 9300,
    "rpc_range_base": 23000,
    "store_range_base": 24000,
    "range_size": 100,
    "metadata_server": "P2PHANDSHAKE",
    "master_server_address": "10.231.0.12:50051",
    "global_segment_size": "4 GB",
    "local_buffer_size": 0,
    "reserved_ports": {"2379": "etcd (client)", "2380": "etcd (peer)", "15624": "transfer-engine instance 'prefill'"},
    "reserved_ranges": [{"low": 20000, "high": 20099, "what": "the random-port range of transfer-engine instance 'prefill'"}],
    "ephemeral_range": [32768, 60999],
    "memory_bytes": 64 * GIB,
    "memory_fraction": 0.9,
}


def plan(clients, **settings):
    merged = dict(SETTINGS)
    merged.update(settings)
    return plan_store_clients(HOST, clients, merged)


def errors_of(clients, **settings):
    return plan(clients, **settings)[1]


def only_error(clients, **settings):
    errors = errors_of(clients, **settings)
    assert len(errors) == 1, errors
    return errors[0]


# ---------------------------------------------------------------- the happy path


def test_two_clients_get_their_own_ports_ranges_flags_and_environment():
    plans, errors = plan([{"name": "kv-a"}, {"name": "kv-b", "global_segment_size": "16 GiB", "local_buffer_size": "512 MB"}])
    assert errors == []
    first, second = plans
    assert first == {
        "name": "kv-a",
        "address": "10.231.0.11",
        "port": 22052,
        "http_port": 9300,
        "global_segment_size": 4 * GIB,
        "local_buffer_size": 0,
        "protocol": "tcp",
        "device_names": [],
        "metadata_server": "P2PHANDSHAKE",
        "metadata_endpoints": [],
        "master_server_address": "10.231.0.12:50051",
        "tenant_id": "default",
        "threads": 1,
        "rpc_port_range": [23000, 23099],
        "store_port_range": [24000, 24099],
        "env": {},
        "health_url": "http://10.231.0.11:9300/health",
        "flags": [
            "--host=10.231.0.11",
            "--port=22052",
            "--global_segment_size=4294967296",
            "--local_buffer_size=0",
            "--master_server_address=10.231.0.12:50051",
            "--metadata_server=P2PHANDSHAKE",
            "--protocol=tcp",
            "--tenant_id=default",
            "--threads=1",
            "--enable_http_server=true",
            "--http_port=9300",
            "--logtostderr=true",
        ],
        "env_lines": [
            "# The engine's two listening ports come from this range, apart from the host's other services.",
            "MC_MIN_RPC_PORT=23000",
            "MC_MAX_RPC_PORT=23099",
            "# Local ports of the client's connections to the Store.",
            "MC_STORE_CLIENT_MIN_PORT=24000",
            "MC_STORE_CLIENT_MAX_PORT=24099",
            "# Advertise this address to peers (otherwise: the first non-loopback interface).",
            "MC_TCP_BIND_ADDRESS=10.231.0.11",
        ],
    }
    # Planned values follow list order.
    assert (second["port"], second["http_port"]) == (22053, 9301)
    assert (second["rpc_port_range"], second["store_port_range"]) == ([23100, 23199], [24100, 24199])
    assert (second["global_segment_size"], second["local_buffer_size"]) == (16 * GIB, 512 * MIB)
    assert "--global_segment_size=17179869184" in second["flags"]
    assert "--local_buffer_size=536870912" in second["flags"]


def test_client_values_override_the_role_settings():
    plans, errors = plan([{
        "name": "rdma0",
        "port": "22100",  # templated values arrive as strings
        "http_port": 9400,
        "protocol": "rdma",
        "device_names": "mlx5_0,mlx5_1",
        "metadata_server": "etcd://10.231.0.11:2379",
        "master_server_address": "etcd://10.231.0.11:2379;10.231.0.12:2379",
        "tenant_id": "team-a",
        "threads": "4",
        "rpc_port_range": [25000, 25049],
        "store_port_range": [25100, 25149],
        "env": {"MC_LOG_LEVEL": "INFO", "GLOG_v": 1},
    }])
    assert errors == []
    (only,) = plans
    assert (only["port"], only["http_port"], only["threads"]) == (22100, 9400, 4)
    assert only["device_names"] == ["mlx5_0", "mlx5_1"]
    assert only["metadata_endpoints"] == [{"host": "10.231.0.11", "port": 2379}]
    assert only["env"] == {"MC_LOG_LEVEL": "INFO", "GLOG_v": "1"}
    assert only["health_url"] == "http://10.231.0.11:9400/health"
    assert "--device_names=mlx5_0,mlx5_1" in only["flags"]
    assert "--master_server_address=etcd://10.231.0.11:2379;10.231.0.12:2379" in only["flags"]
    assert "--tenant_id=team-a" in only["flags"] and "--threads=4" in only["flags"]
    assert only["env_lines"][1:3] == ["MC_MIN_RPC_PORT=25000", "MC_MAX_RPC_PORT=25049"]
    assert only["env_lines"][-2:] == ['GLOG_v="1"', 'MC_LOG_LEVEL="INFO"']


def test_an_ipv6_address_is_bracketed_in_the_health_url():
    plans, errors = plan([{"name": "a"}], address="fd00::11", own_addresses=["fd00::11"])
    assert errors == []
    assert plans[0]["health_url"] == "http://[fd00::11]:9300/health"


def test_no_clients_is_a_valid_plan():
    assert plan([]) == ([], [])


# ---------------------------------------------------------------- sizes


@pytest.mark.parametrize("text, size", [
    (0, 0),
    (1048576, MIB),
    ("1048576", MIB),
    ("512", 512),
    ("512B", 512),
    ("1 K", KIB),
    ("1kb", KIB),
    ("1 KiB", KIB),
    ("512 MB", 512 * MIB),
    ("512M", 512 * MIB),
    ("512 mib", 512 * MIB),
    ("4 GB", 4 * GIB),
    ("4GB", 4 * GIB),
    ("4GiB", 4 * GIB),
    ("4g", 4 * GIB),
    (" 4 GB ", 4 * GIB),
    ("1.5 GB", 1610612736),
    ("2 TB", 2 * 1024 * GIB),
    ("1 TiB", 1024 * GIB),
])
def test_sizes_read_as_mooncake_reads_them(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["4 XB", "-5", "4 GBs", "GB", "", "four", "infinite", "1e9", -1, 1.5, True, None, [4]])
def test_sizes_mooncake_would_not_read_are_refused(text):
    assert parse_size(text) is None


@pytest.mark.parametrize("field", ["global_segment_size", "local_buffer_size"])
@pytest.mark.parametrize("value", ["4 XB", "-5", "lots"])
def test_a_bad_size_is_named_with_the_forms(field, value):
    message = only_error([{"name": "a", field: value}])
    assert message == (
        "host node1, store client 'a': %s %r is not a size; write bytes (4294967296) or a number with a unit, "
        "K/KB/KiB, M/MB/MiB, G/GB/GiB or T/TB/TiB (each 1024-based, as Mooncake reads them), e.g. '4 GB'" % (field, value)
    )


def test_a_bad_default_size_is_named_on_each_client():
    errors = errors_of([{"name": "a"}, {"name": "b"}], global_segment_size="big")
    assert [e.split(":")[0] for e in errors] == ["host node1, store client 'a'", "host node1, store client 'b'"]


def test_a_global_segment_of_nothing_is_refused():
    message = only_error([{"name": "a", "global_segment_size": "0 GB"}])
    assert message == (
        "host node1, store client 'a': global_segment_size '0 GB' lends the Store no memory, which is what a "
        "store client is for; give a size such as '4 GB'"
    )


@pytest.mark.parametrize("count, text", [(0, "0 B"), (1023, "1023 B"), (KIB, "1.0 KiB"), (512 * MIB, "512.0 MiB"),
                                         (4 * GIB, "4.0 GiB"), (1610612736, "1.5 GiB"), (3 * 1024 * GIB, "3.0 TiB")])
def test_human_bytes(count, text):
    assert human_bytes(count) == text


# ---------------------------------------------------------------- names and fields


@pytest.mark.parametrize("name, fault", [
    ("KV", "must start with a lower-case letter or a digit, not 'K'"),
    ("kv a", "may not contain ' '"),
    ("a" * 64, "is 64 characters long; at most 63"),
    ("", "must be a non-empty string"),
    (None, "must be a non-empty string"),
])
def test_names_that_cannot_name_a_unit_name_the_fault(name, fault):
    message = only_error([{"name": name}])
    assert message.startswith("host node1, mooncake_store_clients[0]: name %r %s" % (name, fault))


def test_duplicate_names_name_the_host_the_name_and_both_ports():
    message = only_error([{"name": "a"}, {"name": "a"}])
    assert message == "host node1: 2 store clients are named 'a' (ports 22052, 22053); every store client on a host needs its own name"


def test_a_client_that_is_not_a_mapping_is_named():
    assert only_error(["a"]) == "host node1, mooncake_store_clients[0]: each store client must be a mapping with at least a name"


def test_clients_that_are_not_a_list_are_named():
    assert only_error({"name": "a"}) == "host node1: mooncake_store_clients must be a list of clients, got dict"


def test_unknown_fields_are_named():
    message = only_error([{"name": "a", "segment_size": "4 GB", "device_name": "mlx5_0"}])
    assert message.startswith("host node1, store client 'a': unknown field(s) device_name, segment_size; known fields are ")
    assert "global_segment_size" in message and "store_port_range" in message


def test_unknown_protocol_is_rejected():
    assert only_error([{"name": "a", "protocol": "udp"}]) == "host node1, store client 'a': protocol 'udp' must be one of tcp, rdma"


def test_rdma_needs_devices():
    message = only_error([{"name": "a", "protocol": "rdma"}])
    assert message == "host node1, store client 'a': protocol rdma needs device_names (RDMA devices such as mlx5_0, or a list of them)"
    assert errors_of([{"name": "a", "protocol": "rdma", "device_names": ["mlx5_0"]}]) == []


def test_devices_apply_to_rdma_only():
    message = only_error([{"name": "a", "device_names": "mlx5_0"}])
    assert message == "host node1, store client 'a': device_names 'mlx5_0' applies to protocol rdma only; remove it or set protocol: rdma"


@pytest.mark.parametrize("devices", ["mlx5_0,,mlx5_1", "mlx5 0", [7], {"a": 1}])
def test_bad_device_names_are_named(devices):
    message = only_error([{"name": "a", "protocol": "rdma", "device_names": devices}])
    assert message == ("host node1, store client 'a': device_names %r must be RDMA device names, a list or comma-separated "
                       "(e.g. mlx5_0,mlx5_1)" % (devices,))


@pytest.mark.parametrize("tenant", ["", "a b", "-x", "a" * 65, 7])
def test_bad_tenants_are_named(tenant):
    message = only_error([{"name": "a", "tenant_id": tenant}])
    assert message.startswith("host node1, store client 'a': tenant_id %r must be 1 to 64 letters" % (tenant,))


@pytest.mark.parametrize("threads", [0, -1, "many", True])
def test_threads_must_be_at_least_one(threads):
    message = only_error([{"name": "a", "threads": threads}])
    assert message == ("host node1, store client 'a': threads %r must be a whole number, at least 1 (the client's "
                       "service threads)" % (threads,))


def test_metadata_server_forms_are_checked_naming_the_store_clients_variable():
    message = only_error([{"name": "a"}], metadata_server="redis://10.231.0.11:6379")
    assert message.startswith("host node1, store client 'a': metadata_server 'redis://10.231.0.11:6379' is not usable; write ")
    assert message.endswith("set mooncake_store_client_metadata_server")


def test_metadata_server_defaults_to_p2p_handshake():
    plans, errors = plan([{"name": "a"}], metadata_server=None)
    assert errors == [] and plans[0]["metadata_server"] == "P2PHANDSHAKE"


@pytest.mark.parametrize("master", ["10.231.0.12:50051", "master.example.com:50051", "[fd00::12]:50051",
                                    "etcd://10.231.0.11:2379", "etcd://10.231.0.11:2379;10.231.0.12:2379"])
def test_master_forms_the_client_accepts(master):
    assert errors_of([{"name": "a"}], master_server_address=master) == []


@pytest.mark.parametrize("master", ["10.231.0.12", "10.231.0.12:99999", "etcd://10.231.0.11:2379,10.231.0.12:2379",
                                    "etcd://", "http://10.231.0.12:50051", 50051])
def test_master_forms_the_client_rejects(master):
    message = only_error([{"name": "a"}], master_server_address=master)
    assert message == (
        "host node1, store client 'a': master_server_address %r is not usable; write IP:PORT of the one Store master "
        "(its RPC port, 50051 by default) or etcd://IP:PORT[;IP:PORT] of the etcd members HA masters elect their leader on"
        % (master,)
    )


@pytest.mark.parametrize("master", ["", None])
def test_a_missing_master_is_named_with_the_fix(master):
    message = only_error([{"name": "a"}], master_server_address=master)
    assert message == (
        "host node1, store client 'a': master_server_address is empty: no Store master is known; add a host to the "
        "group mooncake_master or set mooncake_store_client_master_server_address (IP:PORT of the master's RPC port)"
    )


def test_a_master_on_a_wildcard_address_is_refused():
    message = only_error([{"name": "a", "master_server_address": "0.0.0.0:50051"}])
    assert message == ("host node1, store client 'a': master_server_address 0.0.0.0:50051 points at 0.0.0.0, an address "
                       "to listen on, not one to connect to; use the master's real address")


def test_env_must_be_a_mapping():
    message = only_error([{"name": "a", "env": ["X=1"]}])
    assert message == "host node1, store client 'a': env must be a mapping of variable names to values, got list"


def test_a_bad_env_name_is_named():
    message = only_error([{"name": "a", "env": {"1X": "1"}}])
    assert message.startswith("host node1, store client 'a': env name '1X' is not a variable name")


@pytest.mark.parametrize("var, instead", [
    ("MC_MIN_RPC_PORT", "set rpc_port_range instead"),
    ("MC_MAX_RPC_PORT", "set rpc_port_range instead"),
    ("MC_STORE_CLIENT_MIN_PORT", "set store_port_range instead"),
    ("MC_STORE_CLIENT_MAX_PORT", "set store_port_range instead"),
    ("MC_TCP_BIND_ADDRESS", "set mooncake_store_client_address instead"),
])
def test_env_may_not_replace_the_roles_own_variables(var, instead):
    message = only_error([{"name": "a", "env": {var: "1"}}])
    assert message.startswith("host node1, store client 'a': env %s would replace the collection's own %s, which " % (var, var))
    assert message.endswith(instead)


# ---------------------------------------------------------------- address and engine


@pytest.mark.parametrize("address, fault", [
    ("node1", "mooncake_store_client_address 'node1' is not an IP address"),
    ("0.0.0.0", "mooncake_store_client_address must be a real address of the host, not 0.0.0.0"),
    ("10.231.0.99", "mooncake_store_client_address 10.231.0.99 is not an address of this host (it has 10.231.0.11, 127.0.0.1)"),
])
def test_the_address_must_be_one_of_the_hosts(address, fault):
    errors = errors_of([{"name": "a"}], address=address)
    assert errors[0].startswith("host node1: " + fault), errors


def test_the_address_is_not_compared_without_the_hosts_addresses():
    assert errors_of([{"name": "a"}], address="10.231.0.99", own_addresses=None) == []


def test_a_missing_engine_is_named():
    message = only_error([{"name": "a"}], engine_venv="/opt/mooncake/venv", engine="", binary_present=None)
    assert message == ("host node1: the store clients run the active engine's mooncake_client, but /opt/mooncake/venv "
                       "does not exist; apply the transfer_engine role first")


def test_an_engine_without_the_client_is_named():
    message = only_error([{"name": "a"}], engine_venv="/opt/mooncake/venv", engine="/opt/mooncake/engines/x", binary_present=False)
    assert message.startswith("host node1: the active engine /opt/mooncake/engines/x has no bin/mooncake_client")
    assert errors_of([{"name": "a"}], engine="/opt/mooncake/engines/x", binary_present=True) == []


# ---------------------------------------------------------------- ports and ranges


@pytest.mark.parametrize("field", ["port", "http_port"])
def test_ports_below_1024_are_refused(field):
    message = only_error([{"name": "a", field: 80}])
    assert message.startswith("host node1, store client 'a': %s 80 is below 1024" % field)


def test_a_planned_port_in_the_ephemeral_range_names_the_base():
    message = only_error([{"name": "a"}], port_base=50052)
    assert message == (
        "host node1, store client 'a': port (mooncake_store_client_port_base + 0) 50052 is inside the kernel's "
        "ephemeral port range 32768-60999, where any outgoing connection can take it; choose a port outside that range"
    )


@pytest.mark.parametrize("port", ["http", 1.5, True])
def test_ports_that_are_not_whole_numbers_are_named(port):
    message = only_error([{"name": "a", "http_port": port}])
    assert message == "host node1, store client 'a': http_port %r must be a whole number from 1024 to 65535" % (port,)


def test_two_clients_on_one_port_are_named():
    message = only_error([{"name": "a", "port": 9301}, {"name": "b"}])
    assert message == "host node1: port 9301 is taken more than once: port of store client 'a' and http_port of store client 'b'; give each its own port"


def test_a_port_inside_a_clients_range_is_named():
    message = only_error([{"name": "a", "port": 23050}])
    assert message == "host node1: port 23050 of store client 'a' lies inside the rpc_port_range 23000-23099 of store client 'a'; move one of them"


def test_overlapping_ranges_are_named():
    message = only_error([{"name": "a"}, {"name": "b", "store_port_range": [23050, 23080]}])
    assert message == ("host node1: the rpc_port_range 23000-23099 of store client 'a' and the store_port_range 23050-23080 "
                       "of store client 'b' overlap; clients would take each other's ports")


@pytest.mark.parametrize("value", [[23000], "23000-23099", [23000, "x"]])
def test_malformed_ranges_are_named(value):
    message = only_error([{"name": "a", "rpc_port_range": value}])
    assert message == "host node1, store client 'a': rpc_port_range %r must be [low, high], two whole numbers" % (value,)


def test_a_range_upside_down_is_named():
    message = only_error([{"name": "a", "store_port_range": [24099, 24000]}])
    assert message == "host node1, store client 'a': store_port_range [24099, 24000] has low above high"


def test_a_range_over_the_ephemeral_range_is_named():
    message = only_error([{"name": "a", "rpc_port_range": [30000, 62000]}])
    assert message == ("host node1, store client 'a': rpc_port_range 30000-62000 overlaps the kernel's ephemeral range "
                       "32768-60999; move it below 32768")


def test_reserved_ports_name_what_holds_them():
    message = only_error([{"name": "a", "port": 2379}])
    assert message == "host node1, store client 'a': port 2379 is already used by etcd (client) on this host; choose another port"


def test_a_port_inside_a_reserved_range_names_the_range():
    message = only_error([{"name": "a", "http_port": 20050}])
    assert message == (
        "host node1, store client 'a': http_port 20050 lies inside 20000-20099, the random-port range of "
        "transfer-engine instance 'prefill' on this host; choose another port"
    )


def test_a_range_over_a_reserved_port_is_named():
    message = only_error([{"name": "a", "rpc_port_range": [15600, 15699]}])
    assert message == ("host node1, store client 'a': rpc_port_range 15600-15699 contains port 15624 of transfer-engine "
                       "instance 'prefill' on this host; move the range")


def test_a_range_over_a_reserved_range_is_named():
    message = only_error([{"name": "a"}], store_range_base=20050)
    assert message == (
        "host node1, store client 'a': store_port_range 20050-20149 overlaps 20000-20099, the random-port range of "
        "transfer-engine instance 'prefill' on this host; move the range"
    )


def test_bad_bases_are_named():
    errors = errors_of([{"name": "a", "port": 22052, "http_port": 9300, "rpc_port_range": [23000, 23099],
                         "store_port_range": [24000, 24099]}], http_port_base="x", range_size=0)
    assert errors == [
        "host node1: mooncake_store_client_http_port_base 'x' must be a whole number, at least 1",
        "host node1: mooncake_store_client_range_size 0 must be a whole number, at least 1",
    ]


# ---------------------------------------------------------------- memory


def test_clients_over_the_memory_limit_are_named_with_their_sizes():
    message = only_error([{"name": "a", "global_segment_size": "10 GB", "local_buffer_size": "1 GB"},
                          {"name": "b", "global_segment_size": "4 GB"}], memory_bytes=16 * GIB)
    assert message == (
        "host node1: the store clients pin 15.0 GiB of memory together ('a': global_segment_size 10.0 GiB + "
        "local_buffer_size 1.0 GiB; 'b': global_segment_size 4.0 GiB + local_buffer_size 0 B), above 14.4 GiB, "
        "mooncake_store_client_memory_fraction 0.9 of the host's 16.0 GiB (MemTotal); shrink global_segment_size or "
        "local_buffer_size, run fewer clients, or move some to another host"
    )


def test_memory_at_the_limit_passes_and_the_fraction_counts():
    clients = [{"name": "a", "global_segment_size": "9 GB"}]
    assert errors_of(clients, memory_bytes=10 * GIB) == []
    assert "above 8.0 GiB, mooncake_store_client_memory_fraction 0.8" in only_error(clients, memory_bytes=10 * GIB, memory_fraction="0.8")


def test_unknown_memory_skips_the_check():
    assert errors_of([{"name": "a", "global_segment_size": "1 TB"}], memory_bytes=None) == []


@pytest.mark.parametrize("fraction", [0, 1.5, "most", True])
def test_a_bad_memory_fraction_is_named(fraction):
    message = only_error([{"name": "a"}], memory_fraction=fraction)
    assert message == "host node1: mooncake_store_client_memory_fraction %r must be a number above 0 and at most 1" % (fraction,)


@pytest.mark.parametrize("text, size", [
    ("MemTotal:       16318976 kB\nMemFree:         1000 kB\n", 16318976 * KIB),
    ("MemFree: 1 kB\nMemTotal: 2048 kB\n", 2 * MIB),
    ("MemFree: 1 kB\n", None),
    ("", None),
    (None, None),
])
def test_meminfo_bytes(text, size):
    assert meminfo_bytes(text) == size


# ---------------------------------------------------------------- every problem at once


def test_every_problem_of_every_client_at_once():
    errors = errors_of([
        {"name": "a", "port": 80, "protocol": "rdma", "global_segment_size": "4 XB"},
        {"name": "B"},
        {"name": "c", "threads": 0, "env": {"MC_TCP_BIND_ADDRESS": "1.2.3.4"}, "master_server_address": "x"},
        {"name": "c", "port": 2379},
    ], address="0.0.0.0")
    prefixes = [e.split(":", 1)[0] for e in errors]
    assert prefixes == [
        "host node1",                              # the address
        "host node1, store client 'a'",            # port 80
        "host node1, store client 'a'",            # the size
        "host node1, store client 'a'",            # rdma without devices
        "host node1, mooncake_store_clients[1]",   # the name
        "host node1, store client 'c'",            # master
        "host node1, store client 'c'",            # threads
        "host node1, store client 'c'",            # env
        "host node1",                              # the name twice
        "host node1, store client 'c'",            # port 2379 of etcd
    ], errors


# ---------------------------------------------------------------- the checks around the plan


def test_port_expectations_cover_both_ports_of_each_client():
    plans = plan([{"name": "a"}])[0]
    assert port_expectations(HOST, plans) == [
        {"port": 22052, "state": "available", "unit": "mooncake-store-client@a.service", "label": "host node1, store client 'a' (port)"},
        {"port": 9300, "state": "available", "unit": "mooncake-store-client@a.service", "label": "host node1, store client 'a' (http_port)"},
    ]


def test_port_problems_spare_the_units_of_clients_no_longer_listed():
    plans = plan([{"name": "new"}])[0]

    def held_by(unit):
        return {"ok": False, "problem": "host node1, store client 'new' (port): port 22052 is held", "holders": [{"process": {"unit": unit}}]}

    assert port_problems(plans, [held_by("mooncake-store-client@old.service"), {"ok": True}]) == []
    assert port_problems(plans, [held_by("nginx.service")]) == [
        "host node1, store client 'new' (port): port 22052 is held. Stop that process, or give the store client another port."
    ]
    assert port_problems(plans, None) == []


def test_unlisted_names_the_flagfiles_the_plan_no_longer_has():
    plans = plan([{"name": "a"}])[0]
    found = ["/etc/mooncake/store-clients/a.flags", "/etc/mooncake/store-clients/old.flags", "/etc/x/Bad Name.flags"]
    assert unlisted(plans, found) == ["old"]
    assert unlisted(plans, None) == []


def test_reserved_services_add_the_hosts_instances():
    variables = {"group_names": ["etcd"], "mooncake_instances": [{"name": "prefill"}, {"name": "decode", "port": 15700}],
                 "mooncake_instances_port_range_base": 21000}
    reserved = reserved_services("node1", variables, ["node1"])
    assert reserved == {
        "ports": {"2379": "etcd (client)", "2380": "etcd (peer)",
                  "15624": "transfer-engine instance 'prefill'", "15700": "transfer-engine instance 'decode'"},
        "ranges": [
            {"low": 21000, "high": 21099, "what": "the random-port range of transfer-engine instance 'prefill'"},
            {"low": 21100, "high": 21199, "what": "the random-port range of transfer-engine instance 'decode'"},
        ],
    }
    assert reserved_services("node2", {}, ["node1"]) == {"ports": {}, "ranges": []}
