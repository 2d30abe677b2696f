# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""rdma_report: what the rdma role prints after ibv_devices_info."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.mooncake.deploy.plugins.filter.rdma_report import FilterModule

REPORT = FilterModule().filters()["rdma_report"]


def test_no_rdma_says_why():
    info = {"available": False, "source": "ibv_devinfo", "reason": "no RDMA devices", "devices": [], "failures": []}
    assert REPORT(info, "report") == ["source: ibv_devinfo - RDMA unavailable: no RDMA devices"]
    assert REPORT({}, "report") == ["source: none - RDMA unavailable: "]


def test_one_line_per_port_then_failures():
    info = {"available": True, "source": "pyverbs", "failures": ["mlx5_1 is missing"],
            "devices": [{"name": "mlx5_0", "ports": [{"port": 1, "state": "ACTIVE", "link_layer": "Ethernet", "active_mtu": 4096,
                                                      "suggested_gid_index": 3, "suggested_gid_reason": "RoCE v2 IPv4"}]}]}
    assert REPORT(info, "strict") == [
        "source: pyverbs",
        "mlx5_0 port 1: ACTIVE, Ethernet, mtu 4096, suggested GID index 3 (RoCE v2 IPv4)",
        "FAILED: mlx5_1 is missing",
    ]
    assert REPORT(info)[-1] == "WARNING: mlx5_1 is missing"
