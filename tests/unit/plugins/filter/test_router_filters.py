# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The router role's filters as Jinja sees them."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.mooncake.deploy.plugins.filter.router_backends import FilterModule

FILTERS = FilterModule().filters()
HOSTVARS = {"gpu1": {"ansible_host": "10.0.0.1", "mooncake_instances": [
    {"name": "p", "kind": "vllm", "role": "prefill", "port": 8010, "bootstrap_port": 8998},
    {"name": "d", "kind": "vllm", "role": "decode", "port": 8020},
]}}
SETTINGS = {"kind": "vllm", "venv": "/v", "address": "10.0.0.1", "port": 30000, "metrics_address": "127.0.0.1",
            "metrics_port": 29000, "startup_timeout": 60}


def test_filters_are_registered():
    assert set(FILTERS) == {"router_backends", "router_plan"}


def test_inventory_to_plan():
    backends = FILTERS["router_backends"](["gpu1"], HOSTVARS, "vllm")
    plan = FILTERS["router_plan"](SETTINGS, "gpu1", backends["prefill"], backends["decode"])
    assert plan["errors"] == []
    assert plan["argv"][-5:] == ["--prefill", "http://10.0.0.1:8010", "8998", "--decode", "http://10.0.0.1:8020"]


def test_published_plan_to_plan():
    hostvars = dict(HOSTVARS)
    hostvars["gpu1"] = dict(HOSTVARS["gpu1"], mooncake_instances_plan=[
        {"name": "p", "kind": "vllm", "role": "prefill", "address": "10.0.0.1", "port": 15624, "bootstrap_port": 8998},
        {"name": "d", "kind": "vllm", "role": "decode", "address": "10.0.0.1", "port": 15625, "bootstrap_port": None},
    ])
    backends = FILTERS["router_backends"](["gpu1"], hostvars, "vllm")
    plan = FILTERS["router_plan"](SETTINGS, "gpu1", backends["prefill"], backends["decode"])
    assert plan["errors"] == []
    assert plan["argv"][-5:] == ["--prefill", "http://10.0.0.1:15624", "8998", "--decode", "http://10.0.0.1:15625"]


def test_port_results_join_the_errors():
    results = [{"ok": False, "problem": "host gpu1, router port: port 30000 is held by pid 1 (x)"}]
    plan = FILTERS["router_plan"](SETTINGS, "gpu1", [{"url": "http://10.0.0.1:8010", "bootstrap_port": 1}],
                                  [{"url": "http://10.0.0.1:8020"}], results)
    assert plan["errors"] == ["host gpu1, router port: port 30000 is held by pid 1 (x). Stop that process, or give the router another port."]
