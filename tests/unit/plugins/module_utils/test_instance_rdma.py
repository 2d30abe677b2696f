# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""resolve_rdma: rdma instances against what ibv_devices_info found on recorded real hosts."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import os

import pytest

from ansible_collections.mooncake.deploy.plugins.filter.instance_plan import instance_rdma
from ansible_collections.mooncake.deploy.plugins.module_utils import ibverbs
from ansible_collections.mooncake.deploy.plugins.module_utils.instance_plan import plan_instances, resolve_rdma
from ansible_collections.mooncake.deploy.tests.unit.procfs import FIXTURES

SETTINGS = {
    "address": "192.0.2.11",
    "metadata_server": "etcd://192.0.2.11:2379",
    "buffer_size": 256 << 20,
    "range_base": 20000,
    "range_size": 100,
    "reserved_ports": {},
}


@pytest.fixture(scope="module")
def mlx5_info():
    """Recorded mlx5 host: mlx5_0 InfiniBand, mlx5_2 RoCE (ACTIVE, active_mtu 1024)."""
    with open(os.path.join(FIXTURES, "ibverbs", "mlx5-ofed-ib-and-roce", "ibv_devinfo-v.stdout")) as handle:
        devices = ibverbs.parse_ibv_devinfo(handle.read())
    ibverbs.add_suggestions(devices)
    return {"available": True, "devices": devices}


def plans(*instances):
    result, errors = plan_instances("gpu1", list(instances), SETTINGS)
    assert errors == []
    return result


def rdma(name, device, port, **extra):
    instance = {"name": name, "port": port, "protocol": "rdma", "device_name": device}
    instance.update(extra)
    return instance


def test_missing_device_names_host_instance_device_and_what_exists(mlx5_info):
    env, errors = resolve_rdma("gpu1", plans(rdma("prefill", "mlx5_9", 15624)), mlx5_info)
    assert env == {}
    assert errors == [
        "host gpu1, instance 'prefill': RDMA device mlx5_9 does not exist on this host "
        "(found: mlx5_0, mlx5_2, mlx5_4); set device_name to one of them"
    ]


def test_port_down_is_an_error(mlx5_info):
    info = copy.deepcopy(mlx5_info)
    device = next(d for d in info["devices"] if d["name"] == "mlx5_2")
    for port in device["ports"]:
        port["state"] = "DOWN"
    _env, errors = resolve_rdma("gpu1", plans(rdma("decode", "mlx5_2", 15625)), info)
    assert len(errors) == 1
    assert "instance 'decode'" in errors[0] and "mlx5_2 has no active port (port 1 DOWN)" in errors[0]


def test_unavailable_rdma_names_the_reason():
    info = {"available": False, "reason": "no RDMA support in this kernel: ibv_devices exited 1"}
    _env, errors = resolve_rdma("node1", plans(rdma("prefill", "mlx5_0", 15624)), info)
    assert errors == ["host node1, instance 'prefill': RDMA device mlx5_0 cannot be used: "
                      "no RDMA support in this kernel: ibv_devices exited 1"]


def test_auto_mtu_takes_the_ports_active_mtu(mlx5_info):
    env, errors = resolve_rdma("gpu1", plans(rdma("prefill", "mlx5_2", 15624, mtu="auto")), mlx5_info)
    assert errors == []
    assert env == {"prefill": {"MC_MTU": "1024"}}


def test_auto_gid_index_without_a_suggestion_asks_for_an_explicit_one(mlx5_info):
    # The recorded ibv_devinfo printed no GID types, so the module suggests nothing.
    _env, errors = resolve_rdma("gpu1", plans(rdma("prefill", "mlx5_2", 15624, gid_index="auto")), mlx5_info)
    assert len(errors) == 1 and "no GID index to suggest for mlx5_2 port 1" in errors[0]
    assert errors[0].endswith("set gid_index explicitly")


def test_auto_gid_index_takes_the_suggestion(mlx5_info):
    info = copy.deepcopy(mlx5_info)
    port = next(d for d in info["devices"] if d["name"] == "mlx5_2")["ports"][0]
    port["suggested_gid_index"] = 3
    env, errors = resolve_rdma("gpu1", plans(rdma("prefill", "mlx5_2", 15624, gid_index="auto", mtu=4096)), info)
    assert errors == []
    assert env == {"prefill": {"MC_GID_INDEX": "3", "MC_MTU": "4096"}}


def test_tcp_instances_are_not_looked_at(mlx5_info):
    env, errors = resolve_rdma("gpu1", plans({"name": "decode", "port": 15625}), mlx5_info)
    assert env == {} and errors == []


@pytest.mark.parametrize("extra, message", [
    ({"gid_index": "first"}, "gid_index must be 'auto'"),
    ({"gid_index": 300}, "gid_index must be 'auto'"),
    ({"mtu": 9000}, "mtu must be 'auto'"),
])
def test_bad_gid_index_or_mtu_is_rejected_by_the_plan(extra, message):
    _plans, errors = plan_instances("gpu1", [rdma("prefill", "mlx5_0", 15624, **extra)], SETTINGS)
    assert any(message in e for e in errors), errors


def test_gid_index_on_tcp_is_rejected():
    _plans, errors = plan_instances("gpu1", [{"name": "prefill", "port": 15624, "gid_index": 3}], SETTINGS)
    assert any("apply to protocol rdma only" in e for e in errors), errors


def test_filter_returns_env_and_errors(mlx5_info):
    result = instance_rdma(plans(rdma("prefill", "mlx5_2", 15624, mtu="auto")), "gpu1", mlx5_info)
    assert result == {"env": {"prefill": {"MC_MTU": "1024"}}, "errors": []}
