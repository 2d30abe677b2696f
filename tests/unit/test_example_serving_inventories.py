# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The example P/D inventories (inventories/example-vllm-pd, inventories/example-sglang-pd),
rendered without GPUs: ``ansible-inventory --list`` of each, every host's instances planned with
``instance_plan.plan_instances`` and the instances role's defaults (as vars/main.yml builds
``__mooncake_instances_settings``), and the router's backends and command line from the hostvars."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json
import os
import shutil
import subprocess
import sys

import pytest
import yaml

from ansible_collections.mooncake.deploy.plugins.module_utils.instance_plan import plan_instances
from ansible_collections.mooncake.deploy.plugins.module_utils.router_backends import plan_router, router_backends
from ansible_collections.mooncake.deploy.plugins.module_utils.store_client_plan import reserved_services
from ansible_collections.mooncake.deploy.plugins.module_utils.instance_checks import reserved_ports

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROLES = os.path.join(ROOT, "roles")
CLI_DIR = os.path.join(ROLES, "instances", "files", "serving_cli")
MODEL = "Qwen/Qwen3-8B"


def _ansible_inventory():
    found = shutil.which("ansible-inventory")
    if found:
        return found
    beside = os.path.join(os.path.dirname(sys.executable), "ansible-inventory")
    return beside if os.path.exists(beside) else None


def _defaults(role):
    with open(os.path.join(ROLES, role, "defaults", "main.yml")) as handle:
        return yaml.safe_load(handle)


@pytest.fixture(scope="module", params=["example-vllm-pd", "example-sglang-pd"])
def inventory(request):
    """{name, kind, groups: {group: [hosts]}, hostvars: {host: vars incl. group_names}}."""
    program = _ansible_inventory()
    if program is None:
        pytest.skip("ansible-inventory is not installed")
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"))
    out = subprocess.run([program, "-i", os.path.join(ROOT, "inventories", request.param), "--list"],
                         check=True, capture_output=True, text=True, cwd=ROOT, env=env).stdout
    data = json.loads(out)
    hostvars = data["_meta"]["hostvars"]
    groups = {}

    def walk(group):
        members = list(data.get(group, {}).get("hosts", []))
        for child in data.get(group, {}).get("children", []):
            members += [h for h in walk(child) if h not in members]
        groups[group] = members
        return members

    walk("all")
    for host, variables in hostvars.items():
        variables["inventory_hostname"] = host
        variables["group_names"] = sorted(g for g, members in groups.items() if host in members and g not in ("all", "ungrouped"))
    return {"name": request.param, "kind": request.param.split("-")[1], "groups": groups, "hostvars": hostvars}


def settings_for(host, inv, overrides=None):
    """The instances role's __mooncake_instances_settings for host (vars/main.yml), from its
    defaults and the inventory; Jinja defaults replaced by what they resolve to here."""
    hostvars = inv["hostvars"]
    v = dict(_defaults("instances"))
    v.update({k: val for k, val in hostvars[host].items() if k.startswith("mooncake_instances")})
    v.update(overrides or {})
    # "{{ ansible_host }}", "etcd://" + no etcd members (serving kinds use P2PHANDSHAKE anyway),
    # no Store master, etcd/master ports of this host, the transfer_engine role's pinned engine.
    address = hostvars[host].get("mooncake_instances_address", hostvars[host]["ansible_host"])
    etcd = inv["groups"].get("etcd", [])
    return {
        "address": address,
        "metadata_server": "P2PHANDSHAKE",
        "master_server_address": v.get("mooncake_instances_master_server_address_resolved", ""),
        "buffer_size": v["mooncake_instances_buffer_size"],
        "port_base": v["mooncake_instances_port_base"],
        "port_stride": v["mooncake_instances_port_stride"],
        "remote_peers": [h for h in inv["groups"]["mooncake"] if h != host],
        "range_base": v["mooncake_instances_port_range_base"],
        "range_size": v["mooncake_instances_port_range_size"],
        "reserved_ports": reserved_ports(host, hostvars[host], etcd),
        "ephemeral_range": v["mooncake_instances_ephemeral_range"],
        "bootstrap_port_base": v["mooncake_instances_bootstrap_port_base"],
        "engine": {"variant": hostvars[host].get("mooncake_transfer_engine_variant", "non-cuda"),
                   "version": str(hostvars[host].get("mooncake_transfer_engine_version", ""))},
        "serving": {
            kind: {"program": v["mooncake_instances_%s_program" % kind], "version": str(v["mooncake_instances_%s_version" % kind]),
                   "cli_dir": CLI_DIR}
            for kind in ("vllm", "sglang")
        },
    }


def plan_all(inv):
    plans, errors = {}, []
    for host in inv["groups"]["mooncake"]:
        planned, problems = plan_instances(host, inv["hostvars"][host].get("mooncake_instances", []), settings_for(host, inv))
        plans[host] = planned
        errors += problems
    return plans, errors


def test_groups_need_no_etcd(inventory):
    assert inventory["groups"]["mooncake"] == ["gpu1", "gpu2"]
    assert inventory["groups"]["mooncake_router"] == ["gpu1"]
    assert inventory["groups"].get("etcd", []) == []
    assert "mooncake_master" not in inventory["groups"] or inventory["groups"]["mooncake_master"] == []
    for host in ("gpu1", "gpu2"):
        variables = inventory["hostvars"][host]
        assert variables["mooncake_transfer_engine_variant"] == "cuda13"
        assert variables["mooncake_transfer_engine_version"] == "0.3.14"
        assert variables["ansible_host"].startswith("192.0.2.")
    assert inventory["hostvars"]["gpu1"]["mooncake_router_kind"] == inventory["kind"]


def test_every_host_plans_without_errors(inventory):
    plans, errors = plan_all(inventory)
    assert errors == []
    prefill, = plans["gpu1"]
    decode, = plans["gpu2"]
    for plan, role, address in ((prefill, "prefill", "192.0.2.11"), (decode, "decode", "192.0.2.12")):
        assert plan["kind"] == inventory["kind"]
        assert plan["role"] == role
        assert plan["model"] == MODEL
        assert plan["port"] == 8100
        assert plan["metadata_server"] == "P2PHANDSHAKE"
        assert plan["gpus"] == [0, 1, 2, 3]
        assert plan["parallel"] == {"tensor": 4, "pipeline": 1, "data": 1}
        assert plan["serving_env"]["CUDA_VISIBLE_DEVICES"] == "0,1,2,3"
        assert plan["health_url"] == "http://%s:8100/health" % address
        assert plan["protocol"] == "rdma" and plan["device_name"] == "mlx5_0"
    assert prefill["bootstrap_port"] == 8998 and prefill["ports"] == [8100, 8998]
    assert decode["bootstrap_port"] is None and decode["ports"] == [8100]


def _flag(argv, flag):
    assert argv.count(flag) == 1, "%s once in %r" % (flag, argv)
    return argv[argv.index(flag) + 1]


def test_vllm_command_lines(inventory):
    if inventory["kind"] != "vllm":
        pytest.skip("vLLM inventory only")
    plans, errors = plan_all(inventory)
    assert errors == []
    for host, role, address, kv_role in (("gpu1", "prefill", "192.0.2.11", "kv_producer"),
                                         ("gpu2", "decode", "192.0.2.12", "kv_consumer")):
        plan, = plans[host]
        argv = plan["command"]
        assert argv[:3] == ["/opt/vllm/bin/vllm", "serve", MODEL]
        assert _flag(argv, "--host") == address
        assert _flag(argv, "--port") == "8100"
        assert _flag(argv, "--tensor-parallel-size") == "4"
        assert _flag(argv, "--max-model-len") == "32768"
        assert json.loads(_flag(argv, "--kv-transfer-config")) == {
            "kv_connector": "MooncakeConnector", "kv_role": kv_role,
            "kv_connector_extra_config": {"mooncake_protocol": "rdma", "device_name": "mlx5_0"},
        }
        assert plan["serving_env"]["VLLM_HOST_IP"] == address
    assert plans["gpu1"][0]["serving_env"]["VLLM_MOONCAKE_BOOTSTRAP_PORT"] == "8998"
    assert "VLLM_MOONCAKE_BOOTSTRAP_PORT" not in plans["gpu2"][0]["serving_env"]


def test_sglang_command_lines(inventory):
    if inventory["kind"] != "sglang":
        pytest.skip("SGLang inventory only")
    plans, errors = plan_all(inventory)
    assert errors == []
    for host, role, address in (("gpu1", "prefill", "192.0.2.11"), ("gpu2", "decode", "192.0.2.12")):
        plan, = plans[host]
        argv = plan["command"]
        assert argv[:3] == ["/opt/sglang/bin/python", "-m", "sglang.launch_server"]
        assert _flag(argv, "--model-path") == MODEL
        assert _flag(argv, "--host") == address
        assert _flag(argv, "--port") == "8100"
        assert _flag(argv, "--tp-size") == "4"
        assert _flag(argv, "--disaggregation-mode") == role
        assert _flag(argv, "--disaggregation-transfer-backend") == "mooncake"
        assert _flag(argv, "--disaggregation-ib-device") == "mlx5_0"
        assert _flag(argv, "--context-length") == "32768"
        assert "--enable-hierarchical-cache" not in argv
    assert _flag(plans["gpu1"][0]["command"], "--disaggregation-bootstrap-port") == "8998"
    assert "--disaggregation-bootstrap-port" not in plans["gpu2"][0]["command"]


def test_sglang_hicache_option(inventory):
    """What the commented lines turn on: a Store master on gpu1 and store: true on the decode."""
    if inventory["kind"] != "sglang":
        pytest.skip("SGLang inventory only")
    inv = copy.deepcopy(inventory)
    decode = inv["hostvars"]["gpu2"]["mooncake_instances"][0]
    decode["store"] = True
    # Without a master the plan refuses store: true.
    _plans, errors = plan_instances("gpu2", [decode], settings_for("gpu2", inv))
    assert any("store: true needs a Mooncake Store master" in e for e in errors)
    # With the mooncake_master group (one master): its RPC address on gpu1.
    settings = settings_for("gpu2", inv, {"mooncake_instances_master_server_address_resolved": "192.0.2.11:50051"})
    plans, errors = plan_instances("gpu2", [decode], settings)
    assert errors == []
    argv = plans[0]["command"]
    assert _flag(argv, "--hicache-storage-backend") == "mooncake"
    assert "--enable-hierarchical-cache" in argv


@pytest.mark.parametrize("from_plan", [True, False], ids=["published-plan", "raw-inventory"])
def test_router_backends_and_command_line(inventory, from_plan):
    plans, errors = plan_all(inventory)
    assert errors == []
    hostvars = copy.deepcopy(inventory["hostvars"])
    if from_plan:
        for host, planned in plans.items():
            hostvars[host]["mooncake_instances_plan"] = planned
    kind = hostvars["gpu1"]["mooncake_router_kind"]
    backends = router_backends(inventory["groups"]["mooncake"], hostvars, kind)
    assert backends["errors"] == []
    assert [(b["url"], b["bootstrap_port"]) for b in backends["prefill"]] == [("http://192.0.2.11:8100", 8998)]
    assert [b["url"] for b in backends["decode"]] == ["http://192.0.2.12:8100"]

    router = dict(_defaults("router"))
    router.update({k: v for k, v in hostvars["gpu1"].items() if k.startswith("mooncake_router")})
    version = router["mooncake_router_%s_version" % kind]
    reserved = reserved_services("gpu1", hostvars["gpu1"], inventory["groups"].get("etcd", []))
    plan = plan_router("gpu1", {
        "kind": kind,
        "venv": "%s/%s-%s/venv" % (router["mooncake_router_root"], kind, version),
        "address": hostvars["gpu1"]["ansible_host"],
        "port": router["mooncake_router_port"],
        "metrics_address": hostvars["gpu1"]["ansible_host"],
        "metrics_port": router["mooncake_router_metrics_port"],
        "startup_timeout": router["mooncake_router_startup_timeout"],
        "health_path": router["mooncake_router_health_path"],
        "extra_args": router["mooncake_router_extra_args"],
        "ephemeral_range": router["mooncake_router_ephemeral_range"],
        "reserved_ports": reserved["ports"],
        "reserved_ranges": reserved["ranges"],
        "own_addresses": ["192.0.2.11"],
    }, backends["prefill"], backends["decode"])
    assert plan["errors"] == []
    argv = plan["argv"]
    assert argv[argv.index("--prefill"):argv.index("--prefill") + 3] == ["--prefill", "http://192.0.2.11:8100", "8998"]
    assert _flag(argv, "--decode") == "http://192.0.2.12:8100"
    assert _flag(argv, "--port") == "30000"
    assert plan["health_url"] == "http://192.0.2.11:30000/readiness"
    if kind == "vllm":
        assert argv[1:4] == ["--vllm-pd-disaggregation", "--kv-connector", "mooncake"]
    else:
        assert argv[1:4] == ["-m", "sglang_router.launch_router", "--pd-disaggregation"]
