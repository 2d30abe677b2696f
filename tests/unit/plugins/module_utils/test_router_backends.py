# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""router_backends and plan_router: the backends read from the inventory, every check of the
router, and the command line it returns."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.mooncake.deploy.plugins.module_utils.router_backends import (
    UNIT,
    plan_router,
    port_problems,
    router_backends,
)

HOSTVARS = {
    "gpu1": {
        "ansible_host": "10.0.0.1",
        "mooncake_instances": [
            {"name": "prefill", "kind": "vllm", "role": "prefill", "port": 8010, "bootstrap_port": 8998},
            {"name": "agent", "role": "prefill", "port": 15624},
        ],
    },
    "gpu2": {
        "ansible_host": "10.0.0.2",
        "mooncake_instances_address": "192.168.0.2",
        "mooncake_instances": [
            {"name": "decode", "kind": "vllm", "role": "decode", "port": "8020"},
            {"name": "sg-decode", "kind": "sglang", "role": "decode", "port": 30000},
        ],
    },
    "etcd1": {"ansible_host": "10.0.0.9"},
}
SETTINGS = {
    "kind": "vllm",
    "venv": "/opt/mooncake/router/vllm-0.1.17/venv",
    "address": "10.0.0.5",
    "port": 30000,
    "metrics_address": "10.0.0.5",
    "metrics_port": 29000,
    "startup_timeout": 600,
    "health_path": "/readiness",
    "extra_args": [],
    "own_addresses": ["10.0.0.5"],
}
PREFILL = [{"url": "http://10.0.0.1:8010", "bootstrap_port": 8998}]
DECODE = [{"url": "http://192.168.0.2:8020"}]


def test_backends_from_the_inventory():
    backends = router_backends(["gpu1", "gpu2", "etcd1"], HOSTVARS)
    assert backends["errors"] == []
    assert backends["prefill"] == [
        {"url": "http://10.0.0.1:8010", "bootstrap_port": 8998, "host": "gpu1", "instance": "prefill", "kind": "vllm"}]
    # mooncake_instances_address wins over ansible_host; a string port is read as a number.
    assert [b["url"] for b in backends["decode"]] == ["http://192.168.0.2:8020", "http://192.168.0.2:30000"]


def test_backends_of_one_kind():
    backends = router_backends(["gpu1", "gpu2"], HOSTVARS, "sglang")
    assert backends["prefill"] == []
    assert [b["instance"] for b in backends["decode"]] == ["sg-decode"]


def test_ipv6_address_in_brackets():
    hostvars = {"h": {"ansible_host": "fd00::1", "mooncake_instances": [{"name": "d", "kind": "vllm", "role": "decode", "port": 8020}]}}
    assert router_backends(["h"], hostvars)["decode"][0]["url"] == "http://[fd00::1]:8020"


def test_missing_port_and_bootstrap_port_name_host_and_instance():
    hostvars = {"gpu3": {"ansible_host": "10.0.0.3", "mooncake_instances": [
        {"name": "p", "kind": "vllm", "role": "prefill", "port": 8010},
        {"name": "d", "kind": "sglang", "role": "decode"},
        {"name": "x", "kind": "trtllm", "role": "decode", "port": 1},
        {"name": "a", "kind": "agent", "role": "decode"},
    ]}}
    backends = router_backends(["gpu3"], hostvars)
    assert backends["prefill"] == [] and backends["decode"] == []
    errors = backends["errors"]
    assert len(errors) == 3
    assert errors[0].startswith("host gpu3, instance 'p': a vllm prefill instance needs bootstrap_port")
    assert "give bootstrap_port in this host's mooncake_instances, or run the instances role's plan first" in errors[0]
    assert errors[1].startswith("host gpu3, instance 'd': a sglang decode instance needs port, the port its OpenAI-compatible")
    assert "give port in this host's mooncake_instances, or run the instances role's plan first" in errors[1]
    assert "site.yml's preflight does" in errors[1]
    assert errors[2].startswith("host gpu3, instance 'x': kind 'trtllm'")


def test_api_port_is_not_read_any_more():
    # The instances role refuses api_port (unknown field): the API port is port.
    hostvars = {"h": {"ansible_host": "10.0.0.3", "mooncake_instances": [
        {"name": "d", "kind": "vllm", "role": "decode", "api_port": 8020}]}}
    backends = router_backends(["h"], hostvars)
    assert backends["decode"] == []
    assert "needs port" in backends["errors"][0] and "(got None)" in backends["errors"][0]


def test_the_published_plan_is_preferred():
    # The instances role's plan (mooncake_instances_plan) carries the planned ports and the
    # address the instances bind; the raw items (no ports here: planned from the bases) are not read.
    hostvars = {"gpu1": {
        "ansible_host": "10.0.0.1",
        "mooncake_instances": [
            {"name": "prefill", "kind": "vllm", "role": "prefill", "model": "m", "gpus": [0]},
            {"name": "decode", "kind": "vllm", "role": "decode", "model": "m", "gpus": [1]},
        ],
        "mooncake_instances_plan": [
            {"name": "agent", "kind": "agent", "role": "other", "address": "10.1.0.1", "port": 15624, "bootstrap_port": None},
            {"name": "prefill", "kind": "vllm", "role": "prefill", "address": "10.1.0.1", "port": 15625,
             "bootstrap_port": 8999, "command": ["/opt/vllm/bin/vllm", "serve", "m"]},
            {"name": "decode", "kind": "vllm", "role": "decode", "address": "10.1.0.1", "port": 15626,
             "bootstrap_port": None, "command": ["/opt/vllm/bin/vllm", "serve", "m"]},
        ],
    }}
    backends = router_backends(["gpu1"], hostvars, "vllm")
    assert backends["errors"] == []
    assert backends["prefill"] == [
        {"url": "http://10.1.0.1:15625", "bootstrap_port": 8999, "host": "gpu1", "instance": "prefill", "kind": "vllm"}]
    assert backends["decode"] == [{"url": "http://10.1.0.1:15626", "host": "gpu1", "instance": "decode", "kind": "vllm"}]


def test_a_plan_without_ports_is_an_error_naming_the_plan():
    hostvars = {"gpu1": {"ansible_host": "10.0.0.1", "mooncake_instances_plan": [
        {"name": "prefill", "kind": "vllm", "role": "prefill", "address": "10.0.0.1", "port": None, "bootstrap_port": None}]}}
    errors = router_backends(["gpu1"], hostvars)["errors"]
    assert len(errors) == 1 and "the instances role planned none" in errors[0]


def test_hosts_with_and_without_a_plan_mix():
    hostvars = dict(HOSTVARS, gpu2={"ansible_host": "10.0.0.2", "mooncake_instances_plan": [
        {"name": "decode", "kind": "vllm", "role": "decode", "address": "10.0.0.2", "port": 15624, "bootstrap_port": None}]})
    backends = router_backends(["gpu1", "gpu2"], hostvars, "vllm")
    assert backends["errors"] == []
    assert [b["url"] for b in backends["prefill"]] == ["http://10.0.0.1:8010"]
    assert [b["url"] for b in backends["decode"]] == ["http://10.0.0.2:15624"]


def test_vllm_command_line():
    plan = plan_router("r1", SETTINGS, PREFILL, DECODE)
    assert plan["errors"] == []
    assert plan["argv"] == [
        "/opt/mooncake/router/vllm-0.1.17/venv/bin/vllm-router", "--vllm-pd-disaggregation", "--kv-connector", "mooncake",
        "--host", "10.0.0.5", "--port", "30000", "--prometheus-host", "10.0.0.5", "--prometheus-port", "29000",
        "--worker-startup-timeout-secs", "600",
        "--prefill", "http://10.0.0.1:8010", "8998", "--decode", "http://192.168.0.2:8020",
    ]
    assert plan["exec_start"].startswith('"/opt/mooncake/router/vllm-0.1.17/venv/bin/vllm-router" "--vllm-pd-disaggregation"')
    assert plan["health_url"] == "http://10.0.0.5:30000/readiness"
    assert plan["port_expectations"] == [
        {"port": 30000, "state": "available", "unit": UNIT, "label": "host r1, router port"},
        {"port": 29000, "state": "available", "unit": UNIT, "label": "host r1, router metrics port"},
    ]


def test_sglang_command_line_and_wildcard_health_url():
    settings = dict(SETTINGS, kind="sglang", venv="/v", address="0.0.0.0", extra_args=["--policy", "round_robin"])
    plan = plan_router("r1", settings, PREFILL, DECODE)
    assert plan["errors"] == []
    assert plan["argv"][:4] == ["/v/bin/python", "-m", "sglang_router.launch_router", "--pd-disaggregation"]
    assert "--kv-connector" not in plan["argv"]
    assert plan["argv"][-2:] == ["--policy", "round_robin"]
    assert plan["health_url"] == "http://127.0.0.1:30000/readiness"


def test_exec_start_quotes_what_systemd_would_expand():
    plan = plan_router("r1", dict(SETTINGS, extra_args=["--api-key", "a%b$c"]), PREFILL, DECODE)
    assert plan["exec_start"].endswith('"--api-key" "a%%b$$c"')


@pytest.mark.parametrize(
    "change, expected",
    [
        ({"kind": "trtllm"}, "host r1: mooncake_router_kind 'trtllm' is not a router this role runs"),
        ({"port": 80}, "host r1: mooncake_router_port 80 is below 1024"),
        ({"port": 70000}, "host r1: mooncake_router_port 70000 is above 65535"),
        ({"metrics_port": 40000}, "host r1: mooncake_router_metrics_port 40000 is inside the kernel's ephemeral port range 32768-60999"),
        ({"metrics_port": 30000}, "host r1: mooncake_router_port and mooncake_router_metrics_port are both 30000"),
        ({"port": "x"}, "host r1: mooncake_router_port 'x' must be a whole number"),
        ({"reserved_ports": {"30000": "etcd (client)"}}, "host r1: mooncake_router_port 30000 is already used by etcd (client)"),
        ({"reserved_ranges": [{"low": 28000, "high": 29500, "what": "an instance's range"}]},
         "host r1: mooncake_router_metrics_port 29000 lies inside 28000-29500, an instance's range"),
        ({"address": "10.9.9.9"}, "host r1: mooncake_router_address 10.9.9.9 is not an address of this host (it has 10.0.0.5)"),
        ({"metrics_address": "localhost"}, "host r1: mooncake_router_metrics_address 'localhost' must be an IP address"),
        ({"startup_timeout": 0}, "host r1: mooncake_router_startup_timeout 0 must be a whole number of seconds"),
        ({"extra_args": ["--port=1"]}, "host r1: mooncake_router_extra_args sets --port, which the role writes"),
        ({"extra_args": "--policy x"}, "host r1: mooncake_router_extra_args must be a list of strings"),
        ({"venv": "opt/x"}, "host r1: the router's virtual environment 'opt/x' must be an absolute path"),
    ],
)
def test_each_setting_problem(change, expected):
    plan = plan_router("r1", dict(SETTINGS, **change), PREFILL, DECODE)
    assert plan["argv"] is None and plan["exec_start"] is None
    assert any(e.startswith(expected) for e in plan["errors"]), plan["errors"]


@pytest.mark.parametrize(
    "prefill, decode, expected",
    [
        ([], DECODE, "host r1: mooncake_router_prefill is empty; a P/D router needs at least one prefill instance"),
        (PREFILL, [], "host r1: mooncake_router_decode is empty"),
        ([{"url": "http://10.0.0.1:8010"}], DECODE, "host r1, mooncake_router_prefill[0]: bootstrap_port None must be"),
        (PREFILL, [{"url": "10.0.0.2:8020"}], "host r1, mooncake_router_decode[0]: url '10.0.0.2:8020' must be http://IP:PORT"),
        (PREFILL, [{"url": "http://0.0.0.0:8020"}], "host r1, mooncake_router_decode[0]: url http://0.0.0.0:8020 names 0.0.0.0"),
        (PREFILL, DECODE + DECODE, "host r1: mooncake_router_decode lists http://192.168.0.2:8020 more than once"),
        (PREFILL, "http://x:1", "host r1: mooncake_router_decode must be a list of backends"),
        ([dict(PREFILL[0], kind="sglang", host="gpu1", instance="p")], DECODE,
         "host r1, mooncake_router_prefill[0] (host gpu1, instance 'p'): the backend is a sglang instance but "
         "mooncake_router_kind is vllm"),
    ],
)
def test_each_backend_problem(prefill, decode, expected):
    plan = plan_router("r1", SETTINGS, prefill, decode)
    assert any(e.startswith(expected) for e in plan["errors"]), plan["errors"]


def test_every_problem_at_once():
    settings = dict(SETTINGS, kind="x", port=80, metrics_port=40000)
    errors = plan_router("r1", settings, [], [])["errors"]
    assert len(errors) == 5


def test_port_problems_keep_only_foreign_holders():
    results = [
        {"ok": True, "port": 30000},
        {"ok": False, "port": 29000, "problem": "host r1, router metrics port: port 29000 is held by pid 7 (python3, squatter.service)"},
    ]
    assert port_problems(results) == [
        "host r1, router metrics port: port 29000 is held by pid 7 (python3, squatter.service). "
        "Stop that process, or give the router another port."]
    assert port_problems(None) == []
