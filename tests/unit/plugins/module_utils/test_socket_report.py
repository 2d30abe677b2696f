# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""socket_report on the listeners port_bindings really returned on a lab host."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

from ansible_collections.mooncake.deploy.plugins.module_utils.socket_report import socket_lines, socket_report

FIXTURE = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "fixtures", "sockets",
                       "listeners-mol-lab-node1.json")


def recorded():
    with open(FIXTURE) as handle:
        return json.load(handle)


def test_every_socket_of_the_collections_units_is_listed_and_without_a_firewall_each_reachable_one_is_flagged():
    report = socket_report("node1", recorded())
    rows = [(s["unit"], s["address"], s["port"], s["exposed"]) for s in report["sockets"]]
    assert ("mooncake-instance@prefill.service", "0.0.0.0", 15624, True) in rows
    assert ("mooncake-instance@prefill.service", "::", 20062, True) in rows
    assert ("mooncake-master.service", "10.231.4.12", 9003, True) in rows
    assert ("mooncake-store-client@pool.service", "10.231.4.12", 22052, True) in rows
    assert not any(s["unit"] == "ssh.service" for s in report["sockets"]), "ssh is not the deployment's"
    assert report["exposed"] == len(rows) == 9
    prefill = [s for s in report["sockets"] if s["port"] == 15624][0]
    assert prefill["why"] == "listens on every address and no firewall rule of the collection limits who connects"


def test_ports_the_firewall_filters_are_not_flagged_and_loopback_never_is():
    listeners = recorded() + [{"address": "127.0.0.1", "port": 8100, "protocol": "tcp",
                               "process": {"unit": "mooncake-instance@vp.service", "name": "vllm"}}]
    report = socket_report("node1", listeners, covered=[[15624, 15625], [20000, 20199], 9003])
    flagged = sorted((s["unit"], s["port"]) for s in report["sockets"] if s["exposed"])
    assert flagged == [("mooncake-store-client@pool.service", 9300), ("mooncake-store-client@pool.service", 22052),
                       ("mooncake-store-client@pool.service", 23057), ("mooncake-store-client@pool.service", 23061)]
    loop = [s for s in report["sockets"] if s["port"] == 8100][0]
    assert loop["exposed"] is False and loop["scope"] == "loopback"


def test_the_text_lines_name_host_unit_address_and_the_count():
    lines = socket_lines([socket_report("node1", recorded(), covered=[[15624, 15625]])])
    assert lines[1].startswith("Listening sockets of the deployment")
    assert any(line.split()[:4] == ["node1", "mooncake-instance@prefill.service", "0.0.0.0:15624", "limited"] for line in lines)
    assert lines[-1] == "  7 exposed socket(s) on 1 host(s)"


def test_the_ports_the_loaded_table_drops_are_read_from_nft_list_table():
    from ansible_collections.mooncake.deploy.plugins.module_utils.firewall_plan import nft_lines
    from ansible_collections.mooncake.deploy.plugins.module_utils.socket_report import covered_from_nft
    plan = {"services": [], "ports": [2379, 9003], "ranges": [[20000, 20099]]}
    # What nft prints back for the drop rule the firewall role writes (counter values added).
    listed = "\n".join(nft_lines(plan)[2:]).replace("counter drop", "counter packets 12 bytes 720 drop")
    assert covered_from_nft(listed) == [[2379, 2379], [9003, 9003], [20000, 20099]]
    assert covered_from_nft("") == [] and covered_from_nft(None) == []
