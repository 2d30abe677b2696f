# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""ibverbs: the ibv_devinfo / ibv_devices parsers on outputs recorded on real machines
(tests/unit/fixtures/ibverbs/README.md says where each came from), sysfs completion, the GID
index advice, the requirement checks, the source selection, and pyverbs on this machine for real."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shutil
import subprocess

import pytest

from ansible_collections.mooncake.deploy.plugins.module_utils import ibverbs
from ansible_collections.mooncake.deploy.tests.unit.ibverbs_fixtures import fixture, recorded
SYSTEM_PYTHON = "/usr/bin/python3"


def by_name(devices):
    return dict((device["name"], device) for device in devices)


def make_sysfs(root, device, port, gids, types=None, ndevs=None, link_layer=None):
    """A /sys/class/infiniband/<device>/ports/<port> tree in the kernel's layout (synthetic)."""
    base = os.path.join(str(root), device, "ports", str(port))
    for sub in ("gids", "gid_attrs/types", "gid_attrs/ndevs"):
        os.makedirs(os.path.join(base, sub))
    if link_layer:
        with open(os.path.join(base, "link_layer"), "w") as handle:
            handle.write(link_layer + "\n")
    for index, gid in enumerate(gids):
        with open(os.path.join(base, "gids", str(index)), "w") as handle:
            handle.write(gid + "\n")
        for sub, values in (("types", types or {}), ("ndevs", ndevs or {})):
            if index in values:
                with open(os.path.join(base, "gid_attrs", sub, str(index)), "w") as handle:
                    handle.write(values[index] + "\n")
    return str(root)


# ---------------------------------------------------------------- mlx5 host, MLNX_OFED (InfiniBand + RoCE)


def test_ofed_mlx5_host_plain_ibv_devinfo_lists_all_eight_devices():
    devices = ibverbs.parse_ibv_devinfo(fixture("mlx5-ofed-ib-and-roce", "ibv_devinfo.stdout"))
    assert [d["name"] for d in devices] == ["mlx5_6", "mlx5_1", "mlx5_3", "mlx5_5", "mlx5_7", "mlx5_0", "mlx5_2", "mlx5_4"]
    assert all(len(d["ports"]) == 1 and d["transport"] == "InfiniBand" for d in devices)
    states = dict((d["name"], d["ports"][0]["state"]) for d in devices)
    assert sorted(n for n, s in states.items() if s == "ACTIVE") == ["mlx5_2", "mlx5_3", "mlx5_5"]
    assert set(s for n, s in states.items() if s != "ACTIVE") == {"DOWN"}
    ib = by_name(devices)["mlx5_5"]  # ConnectX-6 HDR on the InfiniBand fabric
    assert ib["node_guid"] == "08c0:eb03:00ea:50e6" and ib["fw_ver"] == "20.30.1004" and ib["vendor_part_id"] == "4123"
    (port,) = ib["ports"]
    assert port["link_layer"] == "InfiniBand" and port["lid"] == 18 and port["sm_lid"] == 4
    assert port["active_mtu"] == 4096 and port["max_mtu"] == 4096 and port["state_code"] == 4
    assert [d["ports"][0]["link_layer"] for d in devices].count("Ethernet") == 7
    assert by_name(devices)["mlx5_2"]["ports"][0]["active_mtu"] == 1024
    # the plain output prints no width, speed, physical state or GIDs
    assert port["active_width"] is None and port["phys_state"] is None and port["gids"] == []
    ibverbs.add_suggestions(devices)
    assert port["suggested_gid_index"] is None and port["suggested_gid_reason"].startswith("InfiniBand link layer")
    roce = by_name(devices)["mlx5_2"]["ports"][0]
    assert roce["suggested_gid_index"] is None and roce["suggested_gid_reason"] == "the GID table was not reported for this port"


def test_ofed_mlx5_host_verbose_ports_speeds_and_hex_gids():
    devices = by_name(ibverbs.parse_ibv_devinfo(fixture("mlx5-ofed-ib-and-roce", "ibv_devinfo-v.stdout")))
    assert sorted(devices) == ["mlx5_0", "mlx5_2", "mlx5_4"]
    (port,) = devices["mlx5_2"]["ports"]  # ConnectX-5, RoCE, up
    assert (port["state"], port["phys_state"], port["phys_state_code"]) == ("ACTIVE", "LINK_UP", 5)
    assert (port["active_width"], port["active_speed"], port["rate_gbps"]) == ("4X", "25.0 Gbps", 100.0)
    assert port["gid_table_len"] == 256 and port["link_layer"] == "Ethernet"
    assert [g["index"] for g in port["gids"]] == [0, 1, 2, 3]
    assert port["gids"][0]["gid"] == "fe80:0000:0000:0000:0ac0:ebff:feda:e2e6"
    assert port["gids"][0]["address"] == "fe80::ac0:ebff:feda:e2e6" and port["gids"][0]["ipv4"] is None
    assert port["gids"][3]["ipv4"] == "172.17.242.47" and port["gids"][3]["address"] == "::ffff:172.17.242.47"
    assert all(g["type"] is None and g["netdev"] is None for g in port["gids"])  # OFED 4.x prints no types
    down = devices["mlx5_0"]["ports"][0]
    assert (down["state"], down["phys_state"], down["active_speed"], down["rate_gbps"]) == ("DOWN", "DISABLED", "10.0 Gbps", 40.0)
    assert devices["mlx5_4"]["sys_image_guid"] == "08c0:eb03:0040:917e"


def test_without_gid_types_no_index_is_guessed_and_the_candidates_are_named():
    devices = by_name(ibverbs.add_suggestions(ibverbs.parse_ibv_devinfo(
        fixture("mlx5-ofed-ib-and-roce", "ibv_devinfo-v.stdout"))))
    port = devices["mlx5_2"]["ports"][0]
    assert port["suggested_gid_index"] is None
    assert "IPv4-mapped candidates: 2 (172.17.242.47), 3 (172.17.242.47)" in port["suggested_gid_reason"]
    assert "/sys/class/infiniband/mlx5_2/ports/1/gid_attrs/types/<index>" in port["suggested_gid_reason"]
    down = devices["mlx5_0"]["ports"][0]
    assert "candidates: 0 (fe80::ac0:ebff:fe40:8f1a), 1 (fe80::ac0:ebff:fe40:8f1a)" in down["suggested_gid_reason"]


def test_sysfs_completes_types_and_netdevs_then_index_3_is_suggested(tmp_path):
    devices = ibverbs.parse_ibv_devinfo(fixture("mlx5-ofed-ib-and-roce", "ibv_devinfo-v.stdout"))
    port = by_name(devices)["mlx5_2"]["ports"][0]
    gids = [g["gid"] for g in port["gids"]] + ["0000:0000:0000:0000:0000:0000:0000:0000"]
    # mlx5 lists each address twice, RoCE v1 then v2; ibdev2netdev on that host: mlx5_2 port 1 ==> ens6.
    # The unused entry 4 has no types/ndevs files (reading them fails with EINVAL on a real kernel).
    root = make_sysfs(tmp_path, "mlx5_2", 1, gids,
                      types={0: "IB/RoCE v1", 1: "RoCE v2", 2: "IB/RoCE v1", 3: "RoCE v2"},
                      ndevs=dict((i, "ens6") for i in range(4)))
    assert ibverbs.complete_from_sysfs(devices, root) is True
    assert [(g["index"], g["type"], g["netdev"]) for g in port["gids"]] == [
        (0, "RoCE v1", "ens6"), (1, "RoCE v2", "ens6"), (2, "RoCE v1", "ens6"), (3, "RoCE v2", "ens6")]
    ibverbs.add_suggestions(devices)
    assert port["suggested_gid_index"] == 3
    assert port["suggested_gid_reason"] == "lowest RoCE v2 GID with an IPv4-mapped address (172.17.242.47 on ens6)"
    # ports sysfs does not know stay as they were
    assert by_name(devices)["mlx5_0"]["ports"][0]["gids"][0]["type"] is None


def test_sysfs_adds_gids_and_link_layer_a_source_did_not_print(tmp_path):
    devices = ibverbs.parse_ibv_devinfo(fixture("mlx5-ofed-ib-and-roce", "ibv_devinfo.stdout"))
    port = by_name(devices)["mlx5_3"]["ports"][0]
    port["link_layer"] = None
    root = make_sysfs(tmp_path, "mlx5_3", 1, ["fe80:0000:0000:0000:0ac0:ebff:fe40:917e",
                                              "0000:0000:0000:0000:0000:ffff:0a00:0005"],
                      types={0: "RoCE v2", 1: "RoCE v2"}, ndevs={0: "ens14f0", 1: "ens14f0"}, link_layer="Ethernet")
    assert ibverbs.complete_from_sysfs(devices, root) is True
    assert port["link_layer"] == "Ethernet"
    assert [(g["index"], g["ipv4"], g["type"]) for g in port["gids"]] == [(0, None, "RoCE v2"), (1, "10.0.0.5", "RoCE v2")]
    assert ibverbs.complete_from_sysfs(devices, str(tmp_path / "absent")) is False


# ---------------------------------------------------------------- Soft-RoCE (rxe)


def test_rxe_centos7_verbose():
    (device,) = ibverbs.parse_ibv_devinfo(fixture("rxe-centos7", "ibv_devinfo-d_rxe0-v.stdout"))
    assert device["name"] == "rxe0" and device["node_guid"] == "b208:75ff:fe5f:b85e"
    assert device["sys_image_guid"] == "0000:0000:0000:0000" and device["vendor_id"] == "0x0000"
    (port,) = device["ports"]
    assert (port["state"], port["phys_state"], port["link_layer"]) == ("ACTIVE", "LINK_UP", "Ethernet")
    assert (port["max_mtu"], port["active_mtu"], port["active_width"], port["active_speed"]) == (4096, 1024, "1X", "2.5 Gbps")
    assert port["gid_table_len"] == 1024
    assert [(g["index"], g["address"], g["ipv4"]) for g in port["gids"]] == [
        (0, "fe80::b208:75ff:fe5f:b85e", None), (1, "::ffff:10.11.11.251", "10.11.11.251")]
    index, reason = ibverbs.suggest_gid_index(port, "rxe0")
    assert index is None and "IPv4-mapped candidates: 1 (10.11.11.251)" in reason


def test_rxe_with_sysfs_types_suggests_the_ipv4_gid(tmp_path):
    devices = ibverbs.parse_ibv_devinfo(fixture("rxe-centos7", "ibv_devinfo-d_rxe0-v.stdout"))
    gids = [g["gid"] for g in devices[0]["ports"][0]["gids"]]
    root = make_sysfs(tmp_path, "rxe0", 1, gids, types={0: "RoCE v2", 1: "RoCE v2"}, ndevs={0: "eth0", 1: "eth0"})
    ibverbs.complete_from_sysfs(devices, root)
    ibverbs.add_suggestions(devices)
    port = devices[0]["ports"][0]
    # index 0 is RoCE v2 too, but link-local: the demo in the same README runs with -g 1
    assert port["suggested_gid_index"] == 1
    assert port["suggested_gid_reason"] == "lowest RoCE v2 GID with an IPv4-mapped address (10.11.11.251 on eth0)"


# ---------------------------------------------------------------- mlx4 InfiniBand host, MLNX_OFED


def test_mlx4_infiniband_two_devices_two_ports():
    devices = by_name(ibverbs.parse_ibv_devinfo(fixture("mlx4-ib-ofed", "ibv_devinfo.stdout")))
    assert sorted(devices) == ["mlx4_0", "mlx4_1"]
    assert [(p["port"], p["state"], p["lid"]) for p in devices["mlx4_1"]["ports"]] == [(1, "ACTIVE", 22), (2, "DOWN", 0)]
    assert [(p["port"], p["state"], p["lid"]) for p in devices["mlx4_0"]["ports"]] == [(1, "ACTIVE", 32), (2, "DOWN", 0)]
    assert devices["mlx4_0"]["node_guid"] == "e41d:2d03:00e0:c740" and devices["mlx4_0"]["board_id"] == "MT_1090120019"
    assert set(p["link_layer"] for d in devices.values() for p in d["ports"]) == {"InfiniBand"}


def test_mlx4_verbose_single_port_polling():
    (device,) = ibverbs.add_suggestions(ibverbs.parse_ibv_devinfo(fixture("mlx4-ib-ofed", "ibv_devinfo-d_mlx4_1-i_2-v.stdout")))
    (port,) = device["ports"]
    assert port["port"] == 2 and device["phys_port_cnt"] == 2
    assert (port["state"], port["phys_state"], port["active_width"], port["active_speed"], port["rate_gbps"]) == (
        "DOWN", "POLLING", "4X", "2.5 Gbps", 10.0)
    assert [(g["index"], g["address"]) for g in port["gids"]] == [(0, "fe80::7cfe:9003:a5:95c2")]
    assert port["suggested_gid_index"] is None and "InfiniBand link layer" in port["suggested_gid_reason"]


# ---------------------------------------------------------------- ibv_devices and GID lines


def test_ibv_devices_header_only_is_no_device():
    assert ibverbs.parse_ibv_devices(fixture("rxe-no-provider-issue75", "ibv_devices.stdout")) == []


def test_ibv_devices_with_vfs_that_have_no_guid():
    server = ibverbs.parse_ibv_devices(fixture("mlx5-sriov-vfs-issue20", "ibv_devices-server.stdout"))
    assert server == [
        {"name": "mlx5_2", "node_guid": "0000:0000:0000:0000"}, {"name": "mlx5_0", "node_guid": "506b:4b03:0028:5028"},
        {"name": "mlx5_3", "node_guid": "0000:0000:0000:0000"}, {"name": "mlx5_1", "node_guid": "506b:4b03:0028:5034"}]
    client = ibverbs.parse_ibv_devices(fixture("mlx5-sriov-vfs-issue20", "ibv_devices-client.stdout"))
    assert [d["name"] for d in client] == ["mlx5_0", "mlx5_1"] and client[0]["node_guid"] == "248a:0703:004b:f0a8"


def test_typed_gid_lines_from_the_bnxt_re_sample():
    text = fixture("bnxt-re-patch-sample", "ibv_devinfo-v-d_bnxt_re2.excerpt")
    entries = [ibverbs.parse_gid_line(line) for line in text.splitlines()]
    entries = [e for e in entries if e]
    assert [(e["index"], e["type"], e["ipv4"]) for e in entries] == [
        (0, "RoCE v1", None), (1, "RoCE v2", None), (2, "RoCE v1", "192.170.1.101"), (3, "RoCE v2", "192.170.1.101")]
    assert entries[0]["gid"] == "fe80:0000:0000:0000:b226:28ff:fed3:b0f0"
    index, reason = ibverbs.suggest_gid_index({"port": 1, "link_layer": "Ethernet", "gids": entries})
    assert index == 3 and "192.170.1.101" in reason
    # the sample elides the port lines, so it yields the device and no port
    (device,) = ibverbs.parse_ibv_devinfo(text)
    assert device["name"] == "bnxt_re2" and device["node_guid"] == "b226:28ff:fed3:b0f0" and device["ports"] == []


@pytest.mark.parametrize("line, expected", [
    ("\t\t\tGID[  3]:\t\t::ffff:10.0.0.1, RoCE v2, eth0", (3, "RoCE v2", "eth0", "10.0.0.1")),
    ("GID[ 12]: fe80::1, RoCE v1", (12, "RoCE v1", None, None)),
    ("GID[  0]:               0000:0000:0000:0000:0000:0000:0000:0000", None),
    ("GID[  1]:  not-a-gid", None),
    ("port_lid: 0", None),
])
def test_parse_gid_line(line, expected):
    entry = ibverbs.parse_gid_line(line)
    assert (entry if entry is None else (entry["index"], entry["type"], entry["netdev"], entry["ipv4"])) == expected


@pytest.mark.parametrize("raw, link_layer, expected", [
    ("RoCE v2", None, "RoCE v2"), ("IB/RoCE v1", "Ethernet", "RoCE v1"), ("IB/RoCE v1", "InfiniBand", "IB"),
    ("RoCEv2", None, "RoCE v2"), ("", None, None), (None, None, None),
])
def test_normalize_gid_type(raw, link_layer, expected):
    assert ibverbs.normalize_gid_type(raw, link_layer) == expected


def test_format_guid():
    assert ibverbs.format_guid(0x00155DFFFE33FF18) == "0015:5dff:fe33:ff18"
    assert ibverbs.format_guid("00155dfffe33ff18") == "0015:5dff:fe33:ff18"
    assert ibverbs.format_guid("0015:5DFF:FE33:FF18") == "0015:5dff:fe33:ff18"
    assert ibverbs.format_guid(None) is None


# ---------------------------------------------------------------- GID index advice


def gids(*specs):
    return [ibverbs.gid_entry(i, text, kind) for i, text, kind in specs]


@pytest.mark.parametrize("entries, index, reason_part", [
    (gids((0, "fe80::1", "RoCE v2"), (1, "::ffff:169.254.3.3", "RoCE v2"), (2, "fd00::5", "RoCE v2"), (3, "::ffff:10.1.1.1", "RoCE v2")),
     3, "IPv4-mapped address (10.1.1.1)"),
    (gids((0, "fe80::1", "RoCE v2"), (1, "fd93:16d3:59b6:10d::1", "RoCE v2")), 1, "not link-local (fd93:16d3:59b6:10d::1)"),
    (gids((0, "fe80::1", "RoCE v1"), (1, "fe80::1", "RoCE v2")), 1, "only link-local RoCE v2 GIDs (fe80::1)"),
    (gids((0, "fe80::1", "RoCE v1"), (1, "::ffff:10.1.1.1", "RoCE v1")), None, "no RoCE v2 GID on this port (types: RoCE v1)"),
    (gids((2, "::ffff:10.1.1.1", "RoCE v1"), (3, "::ffff:10.1.1.1", "RoCE v2"), (5, "::ffff:10.2.2.2", "RoCE v2")),
     3, "(10.1.1.1)"),
    ([], None, "no non-zero GID on this port"),
])
def test_suggest_gid_index(entries, index, reason_part):
    got, reason = ibverbs.suggest_gid_index({"port": 1, "link_layer": "Ethernet", "gid_table_len": 256, "gids": entries})
    assert got == index and reason_part in reason


# ---------------------------------------------------------------- the CLI source and its failures


class Replay(object):
    """run_command / get_bin_path over recorded outputs; records what ran."""

    def __init__(self, outputs, present=("ibv_devinfo", "ibv_devices")):
        self.outputs = outputs
        self.present = present
        self.ran = []

    def get_bin_path(self, name):
        return "/usr/bin/" + name if name in self.present else None

    def run_command(self, args):
        self.ran.append(" ".join(args))
        return self.outputs[os.path.basename(args[0]) + ("-v" if args[1:] == ["-v"] else "")]


def no_pyverbs():
    raise ImportError("No module named 'pyverbs'")


def test_no_rdma_kernel_recorded_here(tmp_path):
    replay = Replay({"ibv_devices": recorded("this-machine-no-rdma", "ibv_devices"),
                     "ibv_devinfo-v": recorded("this-machine-no-rdma", "ibv_devinfo-v")})
    result = ibverbs.gather(replay.run_command, replay.get_bin_path, sysfs_root=str(tmp_path), pyverbs_loader=no_pyverbs)
    assert result["available"] is False and result["source"] == "none" and result["devices"] == []
    assert result["reason"] == ("no RDMA support in this kernel: ibv_devices exited 1: "
                                "Failed to get IB devices list: Function not implemented")
    assert result["pyverbs_error"].startswith("pyverbs did not import: ImportError: No module named 'pyverbs' (Debian/Ubuntu")
    assert replay.ran == ["/usr/bin/ibv_devices"]


def test_no_rdma_kernel_seen_by_ibv_devinfo_alone(tmp_path):
    replay = Replay({"ibv_devinfo-v": recorded("this-machine-no-rdma", "ibv_devinfo-v")}, present=("ibv_devinfo",))
    result = ibverbs.gather(replay.run_command, replay.get_bin_path, use_pyverbs=False, sysfs_root=str(tmp_path))
    assert result["available"] is False
    assert result["reason"].startswith("no RDMA support in this kernel: ibv_devinfo -v exited 255: Failed to get IB devices list")
    assert result["pyverbs_error"] == "not tried (use_pyverbs is false)"


def test_kernel_with_rdma_and_no_device(tmp_path):
    replay = Replay({"ibv_devices": (int(fixture("kernel-rdma-no-device-synthetic", "ibv_devices.rc")),
                                     fixture("rxe-no-provider-issue75", "ibv_devices.stdout"), ""),
                     "ibv_devinfo-v": recorded("kernel-rdma-no-device-synthetic", "ibv_devinfo-v")})
    result = ibverbs.gather(replay.run_command, replay.get_bin_path, sysfs_root=str(tmp_path), pyverbs_loader=no_pyverbs)
    assert result["available"] is True and result["devices"] == [] and result["source"] == "ibv_devinfo"
    assert result["reason"] is None and result["notes"] == []


def test_tools_not_installed_names_the_packages(tmp_path):
    replay = Replay({}, present=())
    result = ibverbs.gather(replay.run_command, replay.get_bin_path, sysfs_root=str(tmp_path), pyverbs_loader=no_pyverbs)
    assert result["available"] is False and result["source"] == "none"
    assert "ibv_devinfo and ibv_devices not found" in result["reason"]
    assert "ibverbs-utils on Debian/Ubuntu" in result["reason"] and "libibverbs-utils on RHEL" in result["reason"]
    assert "lists" not in result["reason"]
    os.makedirs(os.path.join(str(tmp_path), "mlx5_0"))
    result = ibverbs.gather(replay.run_command, replay.get_bin_path, sysfs_root=str(tmp_path), pyverbs_loader=no_pyverbs)
    assert result["reason"].endswith("; %s lists mlx5_0" % tmp_path)
    assert replay.ran == []


def test_recorded_mlx5_host_through_the_cli_source(tmp_path):
    replay = Replay({"ibv_devices": (0, "    device          \t   node GUID\n    ------          \t----------------\n"
                                        "    mlx5_0          \t08c0eb0300408f1a\n    mlx5_9          \t08c0eb0300408f99\n", ""),
                     "ibv_devinfo-v": (0, fixture("mlx5-ofed-ib-and-roce", "ibv_devinfo-v.stdout"), "")})
    result = ibverbs.gather(replay.run_command, replay.get_bin_path, sysfs_root=str(tmp_path), pyverbs_loader=no_pyverbs)
    assert result["available"] is True and result["source"] == "ibv_devinfo" and result["sysfs_used"] is False
    assert [d["name"] for d in result["devices"]] == ["mlx5_0", "mlx5_2", "mlx5_4", "mlx5_9"]
    assert result["devices"][-1] == dict(ibverbs.new_device("mlx5_9"), node_guid="08c0:eb03:0040:8f99")
    assert result["notes"] == ["mlx5_9 is listed by ibv_devices but ibv_devinfo printed nothing for it"]
    assert result["devices"][1]["ports"][0]["suggested_gid_reason"].startswith("GID types unknown")
    assert replay.ran == ["/usr/bin/ibv_devices", "/usr/bin/ibv_devinfo -v"]


def test_a_failing_device_is_a_note_not_a_failure(tmp_path):
    replay = Replay({"ibv_devinfo-v": (1, fixture("rxe-centos7", "ibv_devinfo-d_rxe0-v.stdout"), "Failed to open device\n")},
                    present=("ibv_devinfo",))
    result = ibverbs.gather(replay.run_command, replay.get_bin_path, use_pyverbs=False, sysfs_root=str(tmp_path))
    assert result["available"] is True and [d["name"] for d in result["devices"]] == ["rxe0"]
    assert result["notes"] == ["ibv_devinfo -v exited 1: Failed to open device"]


# ---------------------------------------------------------------- the pyverbs source (a stand-in with pyverbs' API)


class FakeRDMAError(Exception):
    pass


FakeRDMAError.__name__ = "PyverbsRDMAError"


class FakeVerbs(object):
    """The parts of pyverbs.device the module uses, shaped like a RoCE ConnectX port."""

    def __init__(self, fail=None):
        self.fail = fail
        self.closed = []

    def get_device_list(self):
        if self.fail:
            raise FakeRDMAError(self.fail)
        return [type("Device", (), {"name": b"mlx5_0", "guid": "0c42:a103:0065:f3a8", "transport_type": 0})()]

    def Context(self, name):  # noqa: N802 - pyverbs' name
        verbs = self
        table = {0: ("fe80:0000:0000:0000:0e42:a1ff:fe65:f3a8", 1), 1: ("fe80:0000:0000:0000:0e42:a1ff:fe65:f3a8", 2),
                 2: ("0000:0000:0000:0000:0000:ffff:0a00:0002", 1), 3: ("0000:0000:0000:0000:0000:ffff:0a00:0002", 2),
                 4: ("0000:0000:0000:0000:0000:0000:0000:0000", 0)}

        class Context(object):
            def query_device(self):
                return type("Attr", (), {"phys_port_cnt": 1, "fw_version": "22.36.1010", "vendor_id": 0x02C9,
                                         "vendor_part_id": 4125, "sys_image_guid": 0x0C42A1030065F3A8})()

            def query_port(self, port):
                return type("PortAttr", (), {"state": 4, "phys_state": 5, "link_layer": 2, "max_mtu": 5, "active_mtu": 5,
                                             "lid": 0, "sm_lid": 0, "gid_tbl_len": 5, "active_width": 2, "active_speed": 64})()

            def query_gid(self, port, index):
                return type("GID", (), {"gid": table[index][0]})()

            def query_gid_ex(self, port, index):
                if index == 4:
                    raise FakeRDMAError("unused entry")
                return type("GIDEntry", (), {"gid_type": table[index][1], "ndev_ifindex": 0})()

            def close(self):
                verbs.closed.append(name)

        return Context()


def test_pyverbs_source_with_a_roce_port(tmp_path):
    verbs = FakeVerbs()
    replay = Replay({}, present=())
    result = ibverbs.gather(replay.run_command, replay.get_bin_path, sysfs_root=str(tmp_path), pyverbs_loader=lambda: verbs)
    assert result["available"] is True and result["source"] == "pyverbs" and result["pyverbs_error"] is None
    (device,) = result["devices"]
    assert device["node_guid"] == "0c42:a103:0065:f3a8" and device["sys_image_guid"] == "0c42:a103:0065:f3a8"
    assert device["transport"] == "InfiniBand" and device["vendor_id"] == "0x02c9" and device["fw_ver"] == "22.36.1010"
    (port,) = device["ports"]
    assert (port["state"], port["phys_state"], port["link_layer"], port["active_mtu"]) == ("ACTIVE", "LINK_UP", "Ethernet", 4096)
    assert (port["active_width"], port["active_speed"], port["rate_gbps"]) == ("4X", "50.0 Gbps", 200.0)
    assert [(g["index"], g["type"]) for g in port["gids"]] == [(0, "RoCE v1"), (1, "RoCE v2"), (2, "RoCE v1"), (3, "RoCE v2")]
    assert port["suggested_gid_index"] == 3 and "10.0.0.2" in port["suggested_gid_reason"]
    assert verbs.closed == ["mlx5_0"] and replay.ran == []


def test_pyverbs_raising_falls_back_to_the_cli(tmp_path):
    replay = Replay({"ibv_devices": recorded("this-machine-no-rdma", "ibv_devices"),
                     "ibv_devinfo-v": recorded("this-machine-no-rdma", "ibv_devinfo-v")})
    result = ibverbs.gather(replay.run_command, replay.get_bin_path, sysfs_root=str(tmp_path),
                            pyverbs_loader=lambda: FakeVerbs(fail="Failed to get devices list"))
    assert result["source"] == "none" and result["available"] is False
    assert result["pyverbs_error"] == "PyverbsRDMAError: Failed to get devices list"
    assert result["reason"].startswith("no RDMA support in this kernel: ibv_devices exited 1")
    # without the utilities the pyverbs error is the reason
    bare = Replay({}, present=())
    result = ibverbs.gather(bare.run_command, bare.get_bin_path, sysfs_root=str(tmp_path),
                            pyverbs_loader=lambda: FakeVerbs(fail="Failed to get devices list"))
    assert result["reason"].startswith("no RDMA support in this kernel (pyverbs: PyverbsRDMAError: Failed to get devices list); "
                                       "ibv_devinfo and ibv_devices not found")


# ---------------------------------------------------------------- requirements


@pytest.fixture
def mlx5_result(tmp_path):
    replay = Replay({"ibv_devinfo-v": (0, fixture("mlx5-ofed-ib-and-roce", "ibv_devinfo-v.stdout"), "")}, present=("ibv_devinfo",))
    return ibverbs.gather(replay.run_command, replay.get_bin_path, use_pyverbs=False, sysfs_root=str(tmp_path))


def test_requirements_met(mlx5_result):
    assert ibverbs.check_requirements(mlx5_result) == []
    assert ibverbs.check_requirements(mlx5_result, ["mlx5_2:1"], True, "Ethernet") == []
    assert ibverbs.check_requirements(mlx5_result, ["mlx5_0", "mlx5_4"], False, "Ethernet") == []


def test_requirements_name_what_is_missing_and_what_was_found(mlx5_result):
    assert ibverbs.check_requirements(mlx5_result, ["mlx5_5", "mlx5_2:2"]) == [
        "device mlx5_5 not found; found: mlx5_0, mlx5_2, mlx5_4",
        "mlx5_2 port 2 not found; mlx5_2 has ports: 1"]
    assert ibverbs.check_requirements(mlx5_result, require_active=True) == [
        "mlx5_0 port 1 is DOWN (physical state DISABLED), not ACTIVE",
        "mlx5_4 port 1 is DOWN (physical state DISABLED), not ACTIVE"]
    assert ibverbs.check_requirements(mlx5_result, ["mlx5_2"], require_link_layer="InfiniBand") == [
        "mlx5_2 port 1 link layer is Ethernet, not InfiniBand"]


def test_requirements_when_rdma_is_unavailable():
    result = ibverbs._outcome(False, "none", reason="no RDMA support in this kernel: x")  # pylint: disable=protected-access
    assert ibverbs.check_requirements(result) == []
    assert ibverbs.check_requirements(result, ["mlx5_0"]) == [
        "RDMA is unavailable: no RDMA support in this kernel: x", "device mlx5_0 not found; found: none"]
    assert ibverbs.check_requirements(result, require_active=True) == ["RDMA is unavailable: no RDMA support in this kernel: x"]
    empty = ibverbs._outcome(True, "ibv_devinfo")  # pylint: disable=protected-access
    assert ibverbs.check_requirements(empty, require_link_layer="Ethernet") == ["no RDMA port found to check; found devices: none"]


# ---------------------------------------------------------------- pyverbs on this machine, for real


def system_pyverbs():
    if not os.path.exists(SYSTEM_PYTHON):
        return "%s does not exist" % SYSTEM_PYTHON
    probe = subprocess.run([SYSTEM_PYTHON, "-c", "import pyverbs.device"], capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        return "%s cannot import pyverbs (apt-get install python3-pyverbs): %s" % (SYSTEM_PYTHON, probe.stderr.strip()[-200:])
    return None


@pytest.mark.skipif(os.path.isdir("/sys/class/infiniband"), reason="this machine has RDMA; the test covers a kernel without it")
def test_real_pyverbs_on_this_machine_raises_and_the_module_says_so(tmp_path):
    why = system_pyverbs()
    if why:
        pytest.skip(why)
    script = (
        "import importlib.util, json, shutil, subprocess, sys\n"
        "spec = importlib.util.spec_from_file_location('ibverbs', sys.argv[1])\n"
        "ib = importlib.util.module_from_spec(spec); spec.loader.exec_module(ib)\n"
        "def run(args):\n"
        "    p = subprocess.run(args, capture_output=True, text=True)\n"
        "    return p.returncode, p.stdout, p.stderr\n"
        "print(json.dumps(ib.gather(run, shutil.which, sysfs_root=sys.argv[2])))\n"
    )
    run = subprocess.run([SYSTEM_PYTHON, "-c", script, ibverbs.__file__, str(tmp_path)],
                         capture_output=True, text=True, timeout=60, check=False)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["pyverbs_error"] == "PyverbsRDMAError: Failed to get devices list"
    assert result["available"] is False and result["source"] == "none" and result["devices"] == []
    if shutil.which("ibv_devices"):
        assert result["reason"] == ("no RDMA support in this kernel: ibv_devices exited 1: "
                                    "Failed to get IB devices list: Function not implemented")
    else:
        assert result["reason"].startswith("no RDMA support in this kernel (pyverbs: PyverbsRDMAError")
