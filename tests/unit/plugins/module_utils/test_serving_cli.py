# -*- coding: utf-8 -*-
"""The serving programs' arguments, checked against the options their real packages accept.

The fixtures (tests/unit/fixtures/serving_cli/, README.md there) were recorded from the real
vLLM, SGLang, vllm-router and sglang-router wheels by scripts/record_serving_cli.py; each test
below reads one of them, so a re-recorded version is checked by the same tests.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import json
import os

import pytest

from ansible_collections.mooncake.deploy.plugins.module_utils.serving_cli import (
    argv_problems, cli_label, help_text_options, load_cli)

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "fixtures", "serving_cli")
# vLLM's and SGLang's tables ship with the instances role, which checks instances against them.
SHIPPED = os.path.join(os.path.dirname(FIXTURES), "..", "..", "..", "roles", "instances", "files", "serving_cli")

KV_CONFIG = json.dumps({
    "kv_connector": "MooncakeConnector", "kv_role": "kv_producer",
    "kv_connector_extra_config": {"mooncake_protocol": "rdma", "device_name": "mlx5_0"}})


def fixture_path(slug, suffix=".json"):
    found = sorted(glob.glob(os.path.join(FIXTURES, slug + "-[0-9]*" + suffix)) + glob.glob(os.path.join(SHIPPED, slug + "-[0-9]*" + suffix)))
    assert len(found) == 1, "one recorded version of %s expected, found %s" % (slug, found)
    return found[0]


@pytest.fixture(scope="module")
def vllm():
    return load_cli(fixture_path("vllm-serve"))


@pytest.fixture(scope="module")
def sglang():
    return load_cli(fixture_path("sglang-launch_server"))


@pytest.fixture(scope="module")
def vllm_router():
    return load_cli(fixture_path("vllm-router"))


@pytest.fixture(scope="module")
def sglang_router():
    return load_cli(fixture_path("sglang_router-launch_router"))


def test_fixtures_are_recorded_from_the_real_parsers(vllm, sglang, vllm_router, sglang_router):
    for cli, package, many in ((vllm, "vllm", 300), (sglang, "sglang", 400),
                               (vllm_router, "vllm-router", 50),
                               (sglang_router, "sglang-router", 50)):
        assert cli["package"] == package
        assert cli["source"] == "argparse"
        assert len(cli["options"]) > many
        assert cli["wheels"] and all(len(w["sha256"]) == 64 for w in cli["wheels"])
        assert "--port" in cli["options"] and "--host" in cli["options"]
    assert [int(x) for x in vllm["version"].split(".")[:2]] >= [0, 12]  # has MooncakeConnector
    assert cli_label(vllm) == "vllm serve %s" % vllm["version"]


# The arguments the collection writes ------------------------------------------------------

def test_vllm_serve_accepts_the_collections_arguments(vllm):
    argv = ["Qwen/Qwen3-8B", "--host", "10.0.0.1", "--port", "8010",
            "--tensor-parallel-size", "2", "--kv-transfer-config", KV_CONFIG]
    assert argv_problems(vllm, argv, "prefill0") == []
    assert argv_problems(vllm, ["M", "--port=8010", "-tp", "2"]) == []


def test_sglang_accepts_the_collections_arguments(sglang):
    for mode in ("prefill", "decode"):
        argv = ["--model-path", "Qwen/Qwen3-8B", "--disaggregation-mode", mode,
                "--disaggregation-transfer-backend", "mooncake",
                "--disaggregation-ib-device", "mlx5_0", "--disaggregation-bootstrap-port",
                "8998", "--host", "10.0.0.1", "--port", "30000", "--tp-size", "2",
                "--base-gpu-id", "2"]
        assert argv_problems(sglang, argv) == []


def test_vllm_router_accepts_the_collections_arguments(vllm_router):
    argv = ["--vllm-pd-disaggregation", "--kv-connector", "mooncake",
            "--prefill", "http://10.0.0.1:8010", "8998",
            "--prefill", "http://10.0.0.2:8010", "8998",
            "--decode", "http://10.0.0.3:8020", "--decode", "http://10.0.0.4:8020",
            "--host", "0.0.0.0", "--port", "30000",
            "--prometheus-host", "0.0.0.0", "--prometheus-port", "29000"]
    assert argv_problems(vllm_router, argv) == []


def test_sglang_router_accepts_the_collections_arguments(sglang_router):
    argv = ["--pd-disaggregation", "--prefill", "http://10.0.0.1:30000", "8998",
            "--prefill", "http://10.0.0.2:30000", "--decode", "http://10.0.0.3:30001",
            "--host", "0.0.0.0", "--port", "8000",
            "--prometheus-host", "0.0.0.0", "--prometheus-port", "29000"]
    assert argv_problems(sglang_router, argv) == []


# Mistakes, each named with the flag, the program and the version ---------------------------

def test_misspelt_flag_is_named_with_program_version_and_closest(vllm):
    problems = argv_problems(vllm, ["M", "--kv-transfer-conig", KV_CONFIG], "prefill0")
    assert problems == [
        "prefill0: --kv-transfer-conig is not an option of vllm serve %s "
        "(closest: --kv-transfer-config)" % vllm["version"]]


def test_misspelt_flag_with_equals_form(sglang):
    problems = argv_problems(sglang, ["--disagregation-mode=prefill"])
    assert len(problems) == 1
    assert problems[0].startswith("--disagregation-mode is not an option of "
                                  "sglang.launch_server %s" % sglang["version"])
    assert "(closest: --disaggregation-mode)" in problems[0]


def test_flag_of_the_other_program_is_refused(vllm, sglang_router):
    assert argv_problems(sglang_router, ["--vllm-pd-disaggregation"])[0].startswith(
        "--vllm-pd-disaggregation is not an option of sglang_router.launch_router %s"
        % sglang_router["version"])
    assert "--disaggregation-mode is not an option of vllm serve" in argv_problems(
        vllm, ["M", "--disaggregation-mode", "prefill"])[0]


def test_abbreviation_is_refused(vllm, sglang):
    # argparse would take both (allow_abbrev is on in both parsers); we require full names
    assert vllm["allow_abbrev"] and sglang["allow_abbrev"]
    problem, = argv_problems(vllm, ["M", "--kv-transfer-conf", KV_CONFIG])
    assert problem == ("--kv-transfer-conf is not an option of vllm serve %s: write the full "
                       "name (it abbreviates --kv-transfer-config)" % vllm["version"])
    problem, = argv_problems(sglang, ["--disaggregation-transfer", "mooncake"])
    assert "write the full name (it abbreviates --disaggregation-transfer-backend)" in problem


def test_missing_value(vllm, sglang, vllm_router):
    problem, = argv_problems(vllm, ["M", "--port", "--host", "10.0.0.1"])
    assert problem == ("--port needs a value of vllm serve %s (it is followed by the option "
                       "--host)" % vllm["version"])
    problem, = argv_problems(sglang, ["--model-path", "M", "--port"])
    assert problem == "--port needs a value of sglang.launch_server %s (nothing follows it)" % (
        sglang["version"])
    # --prefill takes the URL and an optional bootstrap port (nargs +), at least the URL
    problem, = argv_problems(vllm_router, ["--vllm-pd-disaggregation", "--prefill", "--decode",
                                           "http://d:1"])
    assert problem.startswith("--prefill needs a value of vllm-router %s" % vllm_router["version"])


def test_bad_choice(sglang, vllm_router):
    problem, = argv_problems(sglang, ["--model-path", "M", "--disaggregation-mode", "prefil"])
    assert problem.startswith("--disaggregation-mode prefil is not a choice of "
                              "sglang.launch_server %s (choices: " % sglang["version"])
    assert "prefill" in problem and "decode" in problem
    problem, = argv_problems(vllm_router, ["--kv-connector=mooncak"])
    assert problem.startswith("--kv-connector mooncak is not a choice of vllm-router")


def test_choices_vllm_lower_cases(vllm):
    # vLLM lower-cases --moe-backend before argparse checks its choices
    assert vllm["options"]["--moe-backend"]["choices_ignore_case"]
    assert argv_problems(vllm, ["M", "--moe-backend", "AUTO"]) == []
    assert "not a choice" in argv_problems(vllm, ["M", "--moe-backend", "autox"])[0]
    assert "not a choice" in argv_problems(vllm, ["M", "--dtype", "AUTO"])[0]


def test_flag_given_a_value(sglang_router, vllm):
    problem, = argv_problems(sglang_router, ["--pd-disaggregation=true"])
    assert problem == ("--pd-disaggregation is a flag of sglang_router.launch_router %s and "
                       "takes no value (given --pd-disaggregation=true)" % sglang_router["version"])
    assert argv_problems(vllm, ["M", "--enable-prefix-caching"]) == []
    assert "takes no value" in argv_problems(vllm, ["M", "--enable-prefix-caching=1"])[0]


def test_option_given_twice(vllm, sglang, vllm_router):
    problem, = argv_problems(vllm, ["M", "--port", "1", "--port=2"])
    assert problem.startswith("--port given more than once to vllm serve %s" % vllm["version"])
    # the short and long names of one option, and a flag with its negation, count as one
    assert len(argv_problems(vllm, ["M", "-tp", "2", "--tensor-parallel-size", "4"])) == 1
    negation = vllm["options"]["--enable-prefix-caching"]["negation"]
    assert len(argv_problems(vllm, ["M", "--enable-prefix-caching", negation])) == 1
    assert len(argv_problems(sglang, ["--tp-size", "2", "--tensor-parallel-size", "2"])) == 1
    # --prefill/--decode are append options: repeating them is how several are given
    assert vllm_router["options"]["--prefill"]["repeatable"]


def test_positionals(vllm, sglang):
    problem, = argv_problems(vllm, ["M", "N"])
    assert problem == "vllm serve %s: vllm serve %s takes at most 1 positional argument " \
        "(unexpected: N)" % (vllm["version"], vllm["version"])
    assert "takes no positional argument (unexpected: M)" in argv_problems(sglang, ["M"])[0]
    # a value that looks like a negative number is a value, as in argparse
    assert argv_problems(sglang, ["--model-path", "M", "--random-seed", "-1"]) == []


def test_vllm_flexible_parser_forms(vllm):
    """vLLM's FlexibleArgumentParser: underscores, --json-option.key value, -O3."""
    assert vllm["dialect"]["underscores_as_dashes"]
    assert argv_problems(vllm, ["M", "--tensor_parallel_size", "2"]) == []
    assert argv_problems(vllm, ["M", "--kv-transfer-config.kv_connector", "MooncakeConnector",
                                "--kv-transfer-config.kv_role=kv_consumer"]) == []
    assert argv_problems(vllm, ["M", "-O3"]) == []
    problem, = argv_problems(vllm, ["M", "--kv-transfer-conig.kv_role", "kv_both"])
    assert "(closest: --kv-transfer-config)" in problem
    assert "given more than once" in argv_problems(
        vllm, ["M", "--kv-transfer-config", KV_CONFIG, "--kv-transfer-config.kv_role", "x"])[0]


def test_user_extra_arguments_are_checked_like_the_collections(vllm):
    extra = ["--max-model-len", "8192", "--gpu-memory-utilisation", "0.9"]
    problem, = argv_problems(vllm, ["M", "--port", "8010"] + extra, "decode1's extra_args")
    assert problem.startswith("decode1's extra_args: --gpu-memory-utilisation is not an "
                              "option of vllm serve %s" % vllm["version"])
    assert "(closest: --gpu-memory-utilization)" in problem


# The help-text reader, on the routers' recorded --help output -------------------------------

@pytest.mark.parametrize("slug", ["vllm-router", "sglang_router-launch_router"])
def test_help_text_options_match_the_parser(slug):
    with open(fixture_path(slug, ".help.txt")) as handle:
        from_help = help_text_options(handle.read())
    recorded = load_cli(fixture_path(slug))["options"]
    assert set(from_help) == set(recorded)
    for name, entry in from_help.items():
        assert entry["takes_value"] == recorded[name]["takes_value"], name
        assert entry.get("nargs", 1 if entry["takes_value"] else 0) in (
            recorded[name].get("nargs", 1 if recorded[name]["takes_value"] else 0),), name
        assert set(entry["choices"] or ()) == set(recorded[name]["choices"] or ()), name


def test_help_text_options_do_not_read_the_description_examples():
    with open(fixture_path("vllm-router", ".help.txt")) as handle:
        text = handle.read()
    assert "    --prefill http://prefill1:8000 9000" in text  # an example line, not an option
    options = help_text_options(text)
    assert options["--prefill"] == {"takes_value": True, "choices": None, "nargs": "+"}
    assert options["--kv-connector"]["choices"] == ["nixl", "mooncake", "moriio"]
    assert options["--vllm-pd-disaggregation"] == {"takes_value": False, "choices": None}


def test_help_text_options_clap_layout():
    text = """Usage: router [OPTIONS]

Options:
      --host <HOST>          Host address [default: 0.0.0.0]
  -p, --port <PORT>          Port [default: 30000]
      --policy <POLICY>      [possible values: random, round_robin]
      --worker-urls <URL>...  Worker URLs
      --pd-disaggregation    Enable PD mode
  -h, --help                 Print help
"""
    options = help_text_options(text)
    assert options["-p"] == options["--port"] == {"takes_value": True, "choices": None}
    assert options["--worker-urls"]["nargs"] == "+"
    assert options["--pd-disaggregation"] == {"takes_value": False, "choices": None}
    assert options["-h"]["takes_value"] is False
