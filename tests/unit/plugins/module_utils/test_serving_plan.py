# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Instances of kind vllm and sglang: the argument lists, environment, ports and GPUs the plan
writes, checked against the option tables recorded from the real vLLM 0.34.0 and SGLang 0.5.23."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import pytest

from ansible_collections.mooncake.deploy.plugins.module_utils.instance_plan import plan_instances
from ansible_collections.mooncake.deploy.plugins.module_utils.serving_cli import load_cli

TABLES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))), "roles", "instances", "files", "serving_cli")
ADDRESS = "10.231.0.11"
VLLM = ["/opt/vllm/bin/vllm"]
SGLANG = ["/opt/sglang/bin/python"]


@pytest.fixture(scope="module")
def settings():
    return {
        "address": ADDRESS, "metadata_server": "P2PHANDSHAKE", "buffer_size": 1 << 28, "master_server_address": "etcd://10.231.0.11:2379",
        "range_base": 20000, "range_size": 100, "port_base": 8100, "port_stride": 1,
        "reserved_ports": {"2379": "etcd (client)"}, "ephemeral_range": [32768, 60999], "bootstrap_port_base": 8998,
        "serving": {
            "vllm": {"program": VLLM, "version": "0.34.0", "cli": load_cli(os.path.join(TABLES, "vllm-serve-0.34.0.json"))},
            "sglang": {"program": SGLANG, "version": "0.5.23", "cli_dir": TABLES},
        },
    }


def plan(settings, instances):
    return plan_instances("gpu1", instances, settings)


def ok_plans(settings, instances):
    plans, errors = plan(settings, instances)
    assert errors == [], errors
    return plans


PD = [
    {"name": "prefill", "kind": "vllm", "role": "prefill", "model": "Qwen/Qwen3-8B", "gpus": [0, 1]},
    {"name": "decode", "kind": "vllm", "role": "decode", "model": "Qwen/Qwen3-8B", "gpus": [2, 3],
     "extra_args": ["--max-model-len", "8192", "--enable-prefix-caching"]},
]


def test_vllm_prefill_and_decode_get_the_mooncake_connector_their_ports_and_gpus(settings):
    prefill, decode = ok_plans(settings, PD)
    assert prefill["command"] == VLLM + [
        "serve", "Qwen/Qwen3-8B", "--host", ADDRESS, "--port", "8100", "--tensor-parallel-size", "2",
        "--kv-transfer-config", '{"kv_connector":"MooncakeConnector","kv_connector_extra_config":{"mooncake_protocol":"tcp"},'
        '"kv_role":"kv_producer"}']
    assert json.loads(decode["command"][-4])["kv_role"] == "kv_consumer"
    assert decode["command"][-3:] == ["--max-model-len", "8192", "--enable-prefix-caching"]
    assert prefill["serving_env"] == {"VLLM_HOST_IP": ADDRESS, "VLLM_MOONCAKE_BOOTSTRAP_PORT": "8998", "CUDA_VISIBLE_DEVICES": "0,1"}
    assert "VLLM_MOONCAKE_BOOTSTRAP_PORT" not in decode["serving_env"] and decode["bootstrap_port"] is None
    assert prefill["health_url"] == "http://%s:8100/health" % ADDRESS
    assert prefill["exec_start"].startswith('"/opt/vllm/bin/vllm" "serve" "Qwen/Qwen3-8B"')
    assert prefill["ports"] == [8100, 8998] and decode["ports"] == [8101]


def test_rdma_names_the_device_for_vllm_and_sglang(settings):
    vllm, sglang = ok_plans(settings, [
        dict(PD[0], protocol="rdma", device_name="mlx5_0"),
        {"name": "sg", "kind": "sglang", "role": "prefill", "model": "m", "gpus": [4], "protocol": "rdma", "device_name": "mlx5_1",
         "bootstrap_port": 9100},
    ])
    assert json.loads(vllm["command"][-1])["kv_connector_extra_config"] == {"mooncake_protocol": "rdma", "device_name": "mlx5_0"}
    assert sglang["command"] == SGLANG + [
        "-m", "sglang.launch_server", "--model-path", "m", "--host", ADDRESS, "--port", "8101", "--tp-size", "1",
        "--disaggregation-mode", "prefill", "--disaggregation-transfer-backend", "mooncake",
        "--disaggregation-ib-device", "mlx5_1", "--disaggregation-bootstrap-port", "9100"]


def test_sglang_over_tcp_and_with_hicache_on_the_store(settings):
    (decode,) = ok_plans(settings, [{"name": "d", "kind": "sglang", "role": "decode", "model": "m", "gpus": [0, 1, 2, 3],
                                     "tensor_parallel_size": 2, "data_parallel_size": 2, "store": True}])
    assert decode["command"][-9:] == ["--dp-size", "2", "--disaggregation-mode", "decode", "--disaggregation-transfer-backend", "mooncake",
                                      "--enable-hierarchical-cache", "--hicache-storage-backend", "mooncake"]
    assert "--disaggregation-ib-device" not in decode["command"]


def test_vllm_with_the_store_holds_both_connectors_in_a_multiconnector_and_reads_the_store_config(settings):
    (prefill,) = ok_plans(settings, [dict(PD[0], store=True)])
    config = json.loads(prefill["command"][prefill["command"].index("--kv-transfer-config") + 1])
    # Accepted by vLLM 0.34.0's own KVTransferConfig and connector factory (measured; both roles count: the
    # prefill produces for P/D, and the Store connector saves and loads).
    assert config == {"kv_connector": "MultiConnector", "kv_role": "kv_both", "kv_connector_extra_config": {"connectors": [
        {"kv_connector": "MooncakeConnector", "kv_role": "kv_producer",
         "kv_connector_extra_config": {"mooncake_protocol": "tcp"}},
        {"kv_connector": "MooncakeStoreConnector", "kv_role": "kv_both"}]}}
    assert prefill["serving_env"]["MOONCAKE_CONFIG_PATH"] == "/etc/mooncake/store/vllm.json"
    assert prefill["serving_env"]["PYTHONHASHSEED"] == "0"
    (plain,) = ok_plans(settings, [dict(PD[0])])
    assert "MOONCAKE_CONFIG_PATH" not in plain["serving_env"] and "PYTHONHASHSEED" not in plain["serving_env"]


def test_the_served_model_name_is_the_one_extra_args_give_else_the_model(settings):
    named, plain = ok_plans(settings, [dict(PD[0], extra_args=["--served-model-name", "qwen", "q3"]), dict(PD[1], gpus=[4, 5])])
    assert (named["served_model_name"], plain["served_model_name"]) == ("qwen", "Qwen/Qwen3-8B")


def test_two_prefills_on_one_host_get_their_own_bootstrap_ports(settings):
    plans = ok_plans(settings, [dict(PD[0], name="p1", gpus=[0]), dict(PD[0], name="p2", gpus=[1])])
    assert [p["bootstrap_port"] for p in plans] == [8998, 8999]


def test_a_shared_bootstrap_port_a_shared_gpu_and_a_port_in_a_range_are_refused(settings):
    _plans, errors = plan(settings, [dict(PD[0], name="p1", gpus=[0], bootstrap_port=9000),
                                     dict(PD[0], name="p2", gpus=[0, 1], bootstrap_port=9000, tensor_parallel_size=2),
                                     dict(PD[1], name="d", gpus=[2], port=20050, extra_args=[])])
    text = "\n".join(errors)
    assert "GPU 0 is given to 'p1' and 'p2'" in text
    assert "'p1' and 'p2' all use port 9000" in text
    assert "port 20050 of 'd' lies inside the random-port range 20000-20099 of 'p1'" in text


def test_a_gpu_count_that_does_not_fit_the_parallelism_is_refused(settings):
    _plans, errors = plan(settings, [dict(PD[0], gpus=[0, 1, 2], tensor_parallel_size=2)])
    assert errors == ["host gpu1, instance 'prefill': tensor_parallel_size 2 x pipeline_parallel_size 1 x data_parallel_size 1 = 2 GPUs, "
                      "but gpus lists 3 (0, 1, 2); give as many GPUs as the parallelism uses"]


def test_an_unknown_flag_in_extra_args_fails_naming_flag_program_and_version(settings):
    _plans, errors = plan(settings, [dict(PD[1], extra_args=["--max-model-lenght", "8192"])])
    assert len(errors) == 1
    assert "--max-model-lenght is not an option of vllm serve 0.34.0" in errors[0] and "--max-model-len" in errors[0]
    assert errors[0].startswith("host gpu1, instance 'decode': ")


def test_flags_the_plan_writes_are_refused_in_extra_args(settings):
    _plans, errors = plan(settings, [dict(PD[1], extra_args=["--port", "9999"])])
    assert any("extra_args sets --port, which the collection writes" in e for e in errors), errors


@pytest.mark.parametrize("change, message", [
    ({"role": "other"}, "kind vllm needs role prefill or decode"),
    ({"model": ""}, "model '' must name the model"),
    ({"gpus": []}, "gpus must list the GPU indices"),
    ({"gpus": ["a"]}, "gpus ['a'] must be whole numbers"),
    ({"command": ["/bin/true"]}, "kind vllm writes its own command line"),
    ({"health_url": "http://127.0.0.1:1/health"}, "kind vllm is checked on its API's /health"),
    ({"kind": "tgi"}, "kind 'tgi' must be one of agent, program, vllm, sglang"),
    ({"store": "yes"}, "store must be true or false, got 'yes'"),
    ({"bootstrap_port": 80}, "bootstrap_port 80 is below 1024"),
])
def test_bad_serving_fields_each_get_a_clear_message(settings, change, message):
    _plans, errors = plan(settings, [dict(PD[0], **change)])
    assert any(message in e for e in errors), errors


def test_hicache_without_a_store_master_is_refused(settings):
    _plans, errors = plan(dict(settings, master_server_address=""), [{"name": "d", "kind": "sglang", "role": "decode", "model": "m",
                                                                      "gpus": [0], "store": True}])
    assert errors == ["host gpu1, instance 'd': store: true needs a Mooncake Store master (hosts in the group mooncake_master, "
                      "or mooncake_instances_master_server_address)"]


def test_the_preflight_expects_the_api_and_the_bootstrap_port_free_or_held_by_the_instance(settings):
    from ansible_collections.mooncake.deploy.plugins.module_utils.instance_checks import port_expectations
    expected = port_expectations("gpu1", ok_plans(settings, PD))
    assert [(e["port"], e["unit"]) for e in expected] == [
        (8100, "mooncake-instance@prefill.service"), (8998, "mooncake-instance@prefill.service"), (8101, "mooncake-instance@decode.service")]


@pytest.mark.parametrize("engine, message", [
    ({"variant": "cuda13", "version": "0.3.14"}, None),
    ({"variant": "", "version": ""}, None),
    ({"variant": "non-cuda", "version": "0.3.13.post1"}, "vLLM 0.34.0 is a CUDA 13 build: the Mooncake engine beside it must be the "
     "cuda13 build (mooncake-transfer-engine-cuda13 >= 0.3.14), not non-cuda"),
    ({"variant": "cuda12", "version": "0.3.14"}, "must be the cuda13 build"),
    ({"variant": "cuda13", "version": "0.3.13.post1"}, "vLLM 0.34.0 wants mooncake-transfer-engine-cuda13 0.3.14 or newer, the inventory pins 0.3.13.post1"),
])
def test_the_engine_build_must_be_the_one_the_serving_stack_loads(settings, engine, message):
    _plans, errors = plan(dict(settings, engine=engine), [PD[0]])
    if message is None:
        assert errors == []
    else:
        assert len(errors) == 1 and message in errors[0], errors


def test_serving_fields_on_an_agent_instance_are_refused(settings):
    _plans, errors = plan(settings, [{"name": "a", "model": "m", "gpus": [0]}])
    assert errors == ["host gpu1, instance 'a': gpus, model apply to kind vllm or sglang only (this instance is kind agent)"]


def test_no_recorded_option_table_is_a_clear_error(settings):
    other = dict(settings, serving=dict(settings["serving"], vllm={"program": VLLM, "version": "0.99.0", "cli_dir": TABLES}))
    _plans, errors = plan(other, [PD[0]])
    assert errors == ["host gpu1, instance 'prefill': no option table is recorded for vLLM 0.99.0, so its arguments cannot be checked; "
                      "record one with scripts/record_serving_cli.py into roles/instances/files/serving_cli/, or pin a recorded version "
                      "(mooncake_instances_vllm_version)"]


def test_a_prefills_bootstrap_port_is_reserved_for_the_hosts_other_services():
    from ansible_collections.mooncake.deploy.plugins.module_utils.store_client_plan import reserved_services
    variables = {"mooncake_instances": [{"name": "p", "kind": "vllm", "role": "prefill", "model": "m", "gpus": [0], "port": 8100}]}
    reserved = reserved_services("gpu1", variables, [])
    assert reserved["ports"]["8100"] == "vllm instance 'p'" and reserved["ports"]["8998"] == "vllm instance 'p'"
