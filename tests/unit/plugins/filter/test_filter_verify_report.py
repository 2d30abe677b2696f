# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""verify_table and deployment_svg on the report the 3-host lab really produced."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json
import os
import subprocess
import sys
from xml.etree import ElementTree

from ansible_collections.mooncake.deploy.plugins.filter.verify_report import FilterModule
from ansible_collections.mooncake.deploy.tests.unit.instance_status_fixtures import fixture_text, recorded_report

SVG = "{http://www.w3.org/2000/svg}"
ETCD = [{"host": "etcd1", "address": "10.231.4.11"}]
FILTERS = FilterModule().filters()


def texts(svg):
    root = ElementTree.fromstring(svg.encode("utf-8"))
    assert root.tag == SVG + "svg"
    return root, [element.text for element in root.iter(SVG + "text")]


def test_table_one_line_per_instance_with_every_transfer():
    lines = FILTERS["verify_table"](recorded_report())
    assert lines[0].split()[:7] == ["host", "instance", "role", "segment", "unit", "port", "etcd"]
    assert len(lines) == 5
    assert lines[1].split()[:7] == ["node1", "prefill", "prefill", "10.231.4.12:15624", "active", "ok", "ok"]
    assert "node1/decode 2.01/1.22 ok 67108864 B, node2/decode 0.92/0.98 ok 67108864 B" in lines[1]
    assert lines[2].endswith(" -")


def test_table_marks_failures():
    report = copy.deepcopy(recorded_report())
    entry = report[1]["instances"][0]
    entry["unit"]["ActiveState"] = "failed"
    entry["port"]["ok"] = False
    entry["etcd"]["ok"] = None
    entry["transfers"][0]["ok"] = False
    line = FILTERS["verify_table"](report)[3]
    assert line.split()[4:7] == ["failed", "WRONG", "-"]
    assert "node1/decode FAILED" in line


def test_picture_is_well_formed_and_names_every_host_instance_and_port():
    svg = FILTERS["deployment_svg"](recorded_report(), ETCD)
    root, words = texts(svg)
    joined = "\n".join(words)
    for name in ("etcd1", "node1", "node2", "10.231.4.11", "10.231.4.12", "10.231.4.13", "client 10.231.4.11:2379"):
        assert name in words, name
    assert words.count("prefill (prefill)") == 2 and words.count("decode (decode)") == 2
    assert words.count("port 15624, unit active, etcd ok") == 2
    assert words.count("port 15625, unit active, etcd ok") == 2
    for pair in ("node1/prefill -> node1/decode", "node1/prefill -> node2/decode",
                 "node2/prefill -> node1/decode", "node2/prefill -> node2/decode"):
        assert pair in joined
    # One arrow per transfer, all green; everything inside the canvas.
    paths = [p for p in root.iter(SVG + "path") if p.get("marker-end")]
    assert len(paths) == 4 and {p.get("stroke") for p in paths} == {"#2e7d32"}
    width, height = int(root.get("width")), int(root.get("height"))
    for rect in root.iter(SVG + "rect"):
        assert int(rect.get("x")) + int(rect.get("width")) <= width
        assert int(rect.get("y")) + int(rect.get("height")) <= height


def recorded_store():
    return json.loads(fixture_text("verify-store-mol-lab.json"))


def test_the_store_is_drawn_in_its_hosts_with_each_role_segment_and_the_put_get_proof():
    root, words = texts(FILTERS["deployment_svg"](recorded_report(), ETCD, store=recorded_store()))
    assert "Store master (leader, serving)" in words and "Store master (standby)" in words
    assert "rpc 10.231.4.13:50051" in words and "rpc 10.231.4.12:50051" in words
    assert words.count("store client pool") == 2 and words.count("segment 256.0 MiB") == 2
    proof = [w for w in words if w.startswith("Store (ha, etcd://10.231.4.11:2379)")]
    assert proof == ["Store (ha, etcd://10.231.4.11:2379): objects put on node1, read back on node2: 3 of 3 "
                     "(4.0 KiB, 1.0 MiB, 16.0 MiB), bytes compared, put 280.1 MiB/s, get 282.0 MiB/s"]
    # Still three hosts: the Store's parts sit inside node1 and node2, and inside the canvas.
    assert len([r for r in root.iter(SVG + "rect") if r.get("rx") == "8"]) == 3
    width, height = int(root.get("width")), int(root.get("height"))
    for rect in root.iter(SVG + "rect"):
        assert int(rect.get("x")) + int(rect.get("width")) <= width and int(rect.get("y")) + int(rect.get("height")) <= height


def test_a_store_that_failed_is_red_and_a_silent_master_says_so():
    store = recorded_store()
    store["objects"][2]["read_back"] = False
    store["failures"] = ["mooncake-verify/16777216.x read on 10.231.4.13: 0 bytes of 16777216, missing or cut"]
    store["masters"][0] = dict(store["masters"][0], answered=False, role=None, serving=False)
    root, words = texts(FILTERS["deployment_svg"](recorded_report(), ETCD, store=store))
    assert "10.231.4.12:50051: /health does not answer" in words
    proof = [t for t in root.iter(SVG + "text") if (t.text or "").startswith("Store (ha")]
    assert len(proof) == 1 and "2 of 3" in proof[0].text and proof[0].get("fill") == "#c62828"


def test_hosts_do_not_overlap_and_etcd_sits_in_its_own_column():
    root, _words = texts(FILTERS["deployment_svg"](recorded_report(), ETCD))
    hosts = [r for r in root.iter(SVG + "rect") if r.get("rx") == "8"]
    spans = sorted((int(r.get("x")), int(r.get("x")) + int(r.get("width"))) for r in hosts)
    assert len(spans) == 3
    assert all(left[1] < right[0] for left, right in zip(spans, spans[1:]))


def test_a_failed_transfer_is_red_and_says_why():
    report = copy.deepcopy(recorded_report())
    transfer = report[0]["instances"][0]["transfers"][1]
    transfer["ok"] = False
    transfer["result"] = {"ok": False, "error": "write to peer 10.231.4.13:15625 failed (rc=-1)"}
    root, words = texts(FILTERS["deployment_svg"](report, ETCD))
    assert any(w.endswith("FAILED: write to peer 10.231.4.13:15625 failed (rc=-1)") for w in words)
    red = [p for p in root.iter(SVG + "path") if p.get("stroke") == "#c62828"]
    assert len(red) == 1 and red[0].get("stroke-dasharray")


def test_one_host_with_etcd_and_instances_and_odd_names():
    report = copy.deepcopy(recorded_report())[:1]
    report[0]["host"] = "gpu<1>&co"
    for entry in report[0]["instances"]:
        entry["transfers"] = []
    svg = FILTERS["deployment_svg"](report, [{"host": "gpu<1>&co", "address": "10.231.4.12"}])
    _root, words = texts(svg)
    assert "gpu<1>&co" in words and "gpu&lt;1&gt;&amp;co" in svg
    # etcd endpoint 10.231.4.11 is not that host: drawn as a host of its own.
    assert "etcd 10.231.4.11" in words and "client 10.231.4.11:2379" in words


def test_filter_docs_render():
    for name in ("verify_table", "deployment_svg", "verify_targets", "verify_decode_peers", "verify_collect", "verify_sockets"):
        run = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-doc"), "-t", "filter",
                              "mooncake.deploy." + name], capture_output=True, text=True, check=False)
        assert run.returncode == 0 and name in run.stdout, run.stderr


PLANS = {
    "node1": [{"name": "prefill", "role": "prefill", "port": 15624, "address": "10.231.4.12", "segment": "10.231.4.12:15624",
               "metadata_server": "etcd://10.231.4.11:2379", "command": ""},
              {"name": "decode", "role": "decode", "port": 15625, "address": "10.231.4.12", "segment": "10.231.4.12:15625",
               "metadata_server": "etcd://10.231.4.11:2379", "command": "/usr/bin/vllm serve m"}],
}


def test_targets_carry_what_instance_status_checks_and_no_transfers_for_an_own_command():
    targets = FILTERS["verify_targets"](PLANS["node1"])
    assert [(t["name"], t["segment"], t["transfers"]) for t in targets] == [
        ("prefill", "10.231.4.12:15624", True), ("decode", "10.231.4.12:15625", False)]
    assert set(targets[0]) == {"name", "port", "address", "segment", "role", "metadata_server", "transfers", "p2p"}


def test_decode_peers_and_the_report_come_from_every_host_of_the_play():
    hostvars = {"node1": {"mooncake_instances_plan": PLANS["node1"], "status": {"instances": [{"instance": "x"}], "failures": ["f"]}},
                "node2": {}}
    assert FILTERS["verify_decode_peers"](["node1", "node2"], hostvars) == [
        {"host": "node1", "name": "decode", "segment": "10.231.4.12:15625", "metadata_server": "etcd://10.231.4.11:2379"}]
    # A vLLM or SGLang decode instance is never written into: its buffers are the model's KV cache.
    serving = [dict(PLANS["node1"][1], kind="vllm")]
    assert FILTERS["verify_decode_peers"](["node1"], {"node1": {"mooncake_instances_plan": serving}}) == []
    assert FILTERS["verify_collect"](["node1", "node2"], hostvars, "status") == [
        {"host": "node1", "instances": [{"instance": "x"}], "failures": ["f"]},
        {"host": "node2", "instances": [], "failures": []}]


def test_a_decode_agent_on_p2phandshake_is_reached_at_the_port_its_engine_picked_or_says_why_not():
    p2p = dict(PLANS["node1"][1], name="p2p", p2p=True, port=None, segment="10.231.4.12", metadata_server="P2PHANDSHAKE")
    asked = {"instances": [{"instance": "p2p", "segment": "10.231.4.12:20117", "port": {"ok": True, "problem": None}}]}
    hostvars = {"node1": {"mooncake_instances_plan": [p2p], "asked": asked}, "node2": {"mooncake_instances_plan": [p2p]}}
    assert FILTERS["verify_decode_peers"](["node1", "node2"], hostvars, "asked") == [
        {"host": "node1", "name": "p2p", "segment": "10.231.4.12:20117", "metadata_server": "P2PHANDSHAKE", "problem": None},
        {"host": "node2", "name": "p2p", "segment": "", "metadata_server": "P2PHANDSHAKE",
         "problem": "node2 was not asked which port its engine picked"}]
    silent = {"instances": [{"instance": "p2p", "segment": "10.231.4.12", "port": {"ok": False, "problem": "its agent did not say"}}]}
    peer = FILTERS["verify_decode_peers"](["node1"], {"node1": {"mooncake_instances_plan": [p2p], "asked": silent}}, "asked")[0]
    assert (peer["segment"], peer["problem"]) == ("", "its agent did not say")


def test_an_agent_on_p2phandshake_that_did_not_say_its_port_is_drawn_with_port_unknown():
    report = copy.deepcopy(recorded_report())[:1]
    entry = report[0]["instances"][0]
    entry.update(segment=entry["segment"].rsplit(":", 1)[0], metadata_server="P2PHANDSHAKE")
    _root, words = texts(FILTERS["deployment_svg"](report, []))
    assert any(w.startswith("port unknown, unit") for w in words), words


def test_an_etcd_member_without_registrations_is_drawn_at_its_own_client_port():
    report = copy.deepcopy(recorded_report())[:1]
    for entry in report[0]["instances"]:
        entry["metadata_server"] = "P2PHANDSHAKE"
        entry["transfers"] = []
    member = {"host": "etcd1", "address": "10.231.4.11", "endpoint": "10.231.4.11:3379", "client_port": 3379}
    _root, words = texts(FILTERS["deployment_svg"](report, [member]))
    assert "client 10.231.4.11:3379" in words and "client 10.231.4.11:2379" not in words


def test_sockets_are_listed_for_the_hosts_that_listed_them_flagged_unless_the_firewall_covers_their_port():
    listeners = [{"address": "0.0.0.0", "port": 2379, "protocol": "tcp", "process": {"unit": "mooncake-etcd.service", "name": "etcd"}},
                 {"address": "0.0.0.0", "port": 22, "protocol": "tcp", "process": {"unit": "ssh.service", "name": "sshd"}}]
    table = "\t\tmeta l4proto { tcp, udp } th dport { 2379-2380, 15624 } counter packets 3 bytes 180 drop\n"
    hostvars = {"etcd1": {"listening": {"listeners": listeners}, "nft": {"rc": 1, "stdout": ""}},
                "node1": {"listening": {"listeners": listeners}, "nft": {"rc": 0, "stdout": table}},
                "other": {"listening": {"skipped": True}}}
    reports = FILTERS["verify_sockets"](["etcd1", "node1", "other"], hostvars, "listening", "nft")
    assert [(r["host"], r["exposed"], [s["port"] for s in r["sockets"]]) for r in reports] == [("etcd1", 1, [2379]), ("node1", 0, [2379])]
