# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""What the rdma role prints after ``mooncake.deploy.ibv_devices_info``: one line per port."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


def rdma_report(info, check="report"):
    """Lines for the play's output: the source, every port, then every failure (``FAILED:`` in
    strict mode, ``WARNING:`` in report mode)."""
    info = info or {}
    first = "source: %s" % (info.get("source") or "none")
    if not info.get("available"):
        first += " - RDMA unavailable: %s" % (info.get("reason") or info.get("msg") or "")
    lines = [first]
    for device in info.get("devices") or []:
        for port in device.get("ports") or []:
            lines.append("%s port %s: %s, %s, mtu %s, suggested GID index %s (%s)" % (
                device.get("name"), port.get("port"), port.get("state"), port.get("link_layer"),
                port.get("active_mtu"), port.get("suggested_gid_index"), port.get("suggested_gid_reason")))
    prefix = "FAILED: " if check == "strict" else "WARNING: "
    lines.extend(prefix + failure for failure in info.get("failures") or [])
    return lines
