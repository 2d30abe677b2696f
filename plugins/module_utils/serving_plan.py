# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""What an instance of kind ``vllm`` or ``sglang`` runs: its argument list, environment, ports
and GPUs, from the structured fields of the inventory, checked before anything changes.

The flags written are those of the pinned versions' Mooncake P/D paths (README of the instances
role, "Serving instances"): vLLM's ``MooncakeConnector`` through ``--kv-transfer-config`` with
P2PHANDSHAKE metadata (the connector sets it itself) and the bootstrap port in
``VLLM_MOONCAKE_BOOTSTRAP_PORT``; SGLang's ``--disaggregation-*`` flags. Every flag written and
every one of the user's ``extra_args`` is checked against the option table recorded from the
real program of that version (``serving_cli.argv_problems``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

from ansible_collections.mooncake.deploy.plugins.module_utils.serving_cli import argv_problems, load_cli
from ansible_collections.mooncake.deploy.plugins.module_utils.unit_syntax import env_value_problem
from ansible_collections.mooncake.deploy.plugins.module_utils.values import whole_number

KINDS = ("agent", "program", "vllm", "sglang")
SERVING_KINDS = ("vllm", "sglang")
SERVING_KEYS = ("model", "gpus", "tensor_parallel_size", "pipeline_parallel_size", "data_parallel_size",
                "bootstrap_port", "extra_args", "store")
# Flags the collection writes itself: in extra_args they would contradict the plan.
OWN_FLAGS = {
    "vllm": ("--host", "--port", "--kv-transfer-config", "--tensor-parallel-size", "-tp", "--pipeline-parallel-size", "-pp",
             "--data-parallel-size", "-dp"),
    "sglang": ("--host", "--port", "--model-path", "--tp-size", "--tensor-parallel-size", "--pp-size", "--pipeline-parallel-size",
               "--dp-size", "--data-parallel-size", "--disaggregation-mode", "--disaggregation-transfer-backend",
               "--disaggregation-ib-device", "--disaggregation-bootstrap-port", "--base-gpu-id", "--hicache-storage-backend"),
}


# The engine wheel each pinned serving version imports (measured from their packages: both are
# CUDA 13 builds, torch 2.14.x+cu130, so only the cuda13 engine build loads beside them;
# tests/unit/fixtures/serving_cli/README.md). Versions not listed are not judged.
STACK_ENGINES = {
    ("vllm", "0.34.0"): ("cuda13", "0.3.14"),
    ("sglang", "0.5.23"): ("cuda13", "0.3.14"),
}


def _version_tuple(text):
    parts = []
    for part in str(text).replace(".post", ".").split("."):
        digits = "".join(c for c in part if c.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


def engine_problems(kind, version, engine):
    """Why the engine the inventory declares ({variant, version}) cannot load beside kind's version."""
    wanted = STACK_ENGINES.get((kind, str(version)))
    if not wanted or not engine or not engine.get("variant"):
        return []
    variant, minimum = wanted
    name = {"vllm": "vLLM", "sglang": "SGLang"}[kind]
    problems = []
    if engine["variant"] != variant:
        problems.append("%s %s is a CUDA 13 build: the Mooncake engine beside it must be the %s build "
                        "(mooncake-transfer-engine-%s >= %s), not %s; set mooncake_transfer_engine_variant: %s "
                        "(or mooncake_instances_serving_engine to what the program's environment holds)"
                        % (name, version, variant, variant, minimum, engine["variant"], variant))
    elif engine.get("version") and _version_tuple(engine["version"]) < _version_tuple(minimum):
        problems.append("%s %s wants mooncake-transfer-engine-%s %s or newer, the inventory pins %s"
                        % (name, version, variant, minimum, engine["version"]))
    return problems


# The recorded option tables: <cli_dir>/<name>-<version>.json (roles/instances/files/serving_cli).
TABLE_NAMES = {"vllm": "vllm-serve", "sglang": "sglang-launch_server"}
_TABLES = {}


def option_table(cli_dir, kind, version):
    """The recorded option table of kind's program at version, None when none is recorded."""
    path = os.path.join(cli_dir, "%s-%s.json" % (TABLE_NAMES[kind], version))
    if path not in _TABLES:
        _TABLES[path] = load_cli(path) if os.path.isfile(path) else None
    return _TABLES[path]


def instance_kind(raw):
    """The kind an inventory entry asks for: its ``kind``, else program with a command, else agent."""
    if raw.get("kind") is not None:
        return raw.get("kind")
    return "program" if raw.get("command") is not None else "agent"


def kind_problems(raw, kind):
    """Sentences for fields that do not fit the kind (before any kind-specific check)."""
    problems = []
    if kind not in KINDS:
        return ["kind %r must be one of %s" % (kind, ", ".join(KINDS))]
    if kind in SERVING_KINDS:
        if raw.get("command") is not None:
            problems.append("kind %s writes its own command line; put your flags in extra_args, or use kind program "
                            "with command for a program of your own" % kind)
        if raw.get("health_url") is not None:
            problems.append("kind %s is checked on its API's /health; remove health_url" % kind)
    else:
        given = sorted(k for k in SERVING_KEYS if k in raw)
        if given:
            problems.append("%s apply to kind vllm or sglang only (this instance is kind %s)" % (", ".join(given), kind))
        if kind == "program" and raw.get("command") is None:
            problems.append("kind program needs command, the program's argument list")
        if kind == "agent" and raw.get("command") is not None:
            problems.append("kind agent runs the collection's agent; remove command or use kind program")
    return problems


def _gpus(raw, problems):
    gpus = raw.get("gpus")
    if not isinstance(gpus, list) or not gpus:
        problems.append("gpus must list the GPU indices this instance uses, e.g. [0, 1] (CUDA_VISIBLE_DEVICES)")
        return []
    numbers = [whole_number(g) for g in gpus]
    if None in numbers:
        problems.append("gpus %r must be whole numbers (GPU indices as nvidia-smi numbers them)" % (gpus,))
        return []
    if len(set(numbers)) != len(numbers):
        problems.append("gpus %r names a GPU twice" % (gpus,))
    return numbers


def _sizes(raw, gpus, problems):
    """(tp, pp, dp): tensor parallel defaults to the GPUs the others leave; the product must be the GPU count."""
    sizes = {}
    for field in ("pipeline_parallel_size", "data_parallel_size", "tensor_parallel_size"):
        value = raw.get(field)
        if value is None:
            value = 1 if field != "tensor_parallel_size" else max(len(gpus) // (sizes["pipeline_parallel_size"] * sizes["data_parallel_size"]), 1)
        number = whole_number(value)
        if number is None or number < 1:
            problems.append("%s %r must be a whole number, at least 1" % (field, value))
            number = 1
        sizes[field] = number
    tp, pp, dp = sizes["tensor_parallel_size"], sizes["pipeline_parallel_size"], sizes["data_parallel_size"]
    if gpus and tp * pp * dp != len(gpus):
        problems.append("tensor_parallel_size %d x pipeline_parallel_size %d x data_parallel_size %d = %d GPUs, but gpus lists %d (%s); "
                        "give as many GPUs as the parallelism uses" % (tp, pp, dp, tp * pp * dp, len(gpus), ", ".join(str(g) for g in gpus)))
    return tp, pp, dp


def _extra_args(raw, problems):
    extra = raw.get("extra_args", [])
    if not isinstance(extra, list) or not all(isinstance(a, (str, int, float)) and not isinstance(a, bool) for a in extra):
        problems.append("extra_args must be a list of strings, one argument each, e.g. ['--max-model-len', '8192']")
        return []
    extra = [str(a) for a in extra]
    for argument in extra:
        problem = env_value_problem(argument)
        if problem:
            problems.append("extra_args item %r %s" % (argument, problem))
    return extra


def _vllm(plan, model, sizes, bootstrap, extra, store_config):
    tp, pp, dp = sizes
    config = {"kv_connector": "MooncakeConnector", "kv_role": "kv_producer" if plan["role"] == "prefill" else "kv_consumer",
              "kv_connector_extra_config": {"mooncake_protocol": plan["protocol"]}}
    if plan["protocol"] == "rdma":
        config["kv_connector_extra_config"]["device_name"] = plan["device_name"]
    if store_config:
        # P/D and the Store's shared KV pool together: vLLM's MultiConnector holds both, and only its
        # children's kv_role count (vllm/config/kv_transfer.py, 0.34.0).
        config = {"kv_connector": "MultiConnector", "kv_role": "kv_both", "kv_connector_extra_config": {"connectors": [
            config, {"kv_connector": "MooncakeStoreConnector", "kv_role": "kv_both"}]}}
    args = ["serve", model, "--host", plan["address"], "--port", str(plan["port"]), "--tensor-parallel-size", str(tp)]
    if pp > 1:
        args += ["--pipeline-parallel-size", str(pp)]
    if dp > 1:
        args += ["--data-parallel-size", str(dp)]
    args += ["--kv-transfer-config", json.dumps(config, sort_keys=True, separators=(",", ":"))]
    env = {"VLLM_HOST_IP": plan["address"]}
    if bootstrap is not None:
        env["VLLM_MOONCAKE_BOOTSTRAP_PORT"] = str(bootstrap)
    if store_config:
        # The connector reads the Store's config there; one hash seed everywhere, so every instance
        # names a prefix's blocks alike and finds what another put.
        env.update({"MOONCAKE_CONFIG_PATH": store_config, "PYTHONHASHSEED": "0"})
    return args, extra, env


def _sglang(plan, model, sizes, bootstrap, extra, store):
    tp, pp, dp = sizes
    args = ["-m", "sglang.launch_server", "--model-path", model, "--host", plan["address"], "--port", str(plan["port"]),
            "--tp-size", str(tp)]
    if pp > 1:
        args += ["--pp-size", str(pp)]
    if dp > 1:
        args += ["--dp-size", str(dp)]
    args += ["--disaggregation-mode", plan["role"], "--disaggregation-transfer-backend", "mooncake"]
    if plan["protocol"] == "rdma":
        args += ["--disaggregation-ib-device", plan["device_name"]]
    if bootstrap is not None:
        args += ["--disaggregation-bootstrap-port", str(bootstrap)]
    if store:
        args += ["--enable-hierarchical-cache", "--hicache-storage-backend", "mooncake"]
    return args, extra, {}


def served_model_name(model, extra):
    """The name the API answers to: the first value of --served-model-name in extra_args, else the model."""
    for position, argument in enumerate(extra):
        if argument == "--served-model-name" and position + 1 < len(extra) and not extra[position + 1].startswith("-"):
            return extra[position + 1]
    return model


def plan_serving(raw, kind, plan, index, settings):
    """Fill the serving fields of ``plan`` (an instance's plan with name, role, port, address,
    protocol, device_name) for kind vllm or sglang. Returns the problems, each a sentence.

    settings: ``serving`` {kind: {program: [words], version, cli: option table, or cli_dir: where the
    recorded tables are}},
    ``bootstrap_port_base`` (the first prefill's bootstrap port when it gives none)."""
    problems = []
    stack = (settings.get("serving") or {}).get(kind) or {}
    program = stack.get("program") or []
    if not program:
        problems.append("no program is set for kind %s (mooncake_instances_%s_program)" % (kind, kind))
    if plan["role"] not in ("prefill", "decode"):
        problems.append("kind %s needs role prefill or decode, not %r" % (kind, plan["role"]))
    model = raw.get("model")
    if not isinstance(model, str) or not model.strip() or env_value_problem(model):
        problems.append("model %r must name the model (a Hugging Face id or a local path), on one line" % (model,))
        model = ""
    gpus = _gpus(raw, problems)
    sizes = _sizes(raw, gpus, problems)
    extra = _extra_args(raw, problems)
    store = raw.get("store", False)
    if not isinstance(store, bool):
        problems.append("store must be true or false, got %r" % (store,))
        store = False
    if store and not settings.get("master_server_address"):
        problems.append("store: true needs a Mooncake Store master (hosts in the group mooncake_master, or "
                        "mooncake_instances_master_server_address)")

    bootstrap = None
    if plan["role"] == "prefill":
        given = raw.get("bootstrap_port")
        base = whole_number(settings.get("bootstrap_port_base"))
        bootstrap = whole_number(given) if given is not None else (base + index if base is not None else None)
        if bootstrap is None:
            problems.append("bootstrap_port %r must be a whole number (each prefill serves its own)" % (given,))
    elif raw.get("bootstrap_port") is not None:
        problems.append("bootstrap_port applies to role prefill only (a decode instance gets the prefill's from the router)")
    for argument in extra:
        if argument.split("=", 1)[0] in OWN_FLAGS[kind]:
            problems.append("extra_args sets %s, which the collection writes from the instance's fields; "
                            "set the field instead" % argument.split("=", 1)[0])

    if kind == "vllm":
        store_config = os.path.join(settings.get("store_dir") or "/etc/mooncake/store", "vllm.json") if store else None
        args, extra, env = _vllm(plan, model, sizes, bootstrap, extra, store_config)
    else:
        args, extra, env = _sglang(plan, model, sizes, bootstrap, extra, store)
    problems.extend(engine_problems(kind, stack.get("version"), settings.get("engine")))
    cli = stack.get("cli")
    if cli is None and stack.get("cli_dir"):
        cli = option_table(stack["cli_dir"], kind, stack.get("version"))
    if not cli:
        problems.append("no option table is recorded for %s %s, so its arguments cannot be checked; record one with "
                        "scripts/record_serving_cli.py into roles/instances/files/serving_cli/, or pin a recorded version "
                        "(mooncake_instances_%s_version)" % ({"vllm": "vLLM", "sglang": "SGLang"}[kind], stack.get("version"), kind))
    elif model:
        checked = args[1:] if kind == "vllm" else args[2:]
        problems.extend(argv_problems(cli, checked + extra))
    env["CUDA_VISIBLE_DEVICES"] = ",".join(str(g) for g in gpus)
    tp, pp, dp = sizes
    plan.update({
        "kind": kind,
        "model": model,
        "served_model_name": served_model_name(model, extra),
        "gpus": gpus,
        "parallel": {"tensor": tp, "pipeline": pp, "data": dp},
        "bootstrap_port": bootstrap,
        "store": store,
        "serving_env": env,
        "command": (program + args + extra) if program else None,
        "health_url": "http://%s:%s/health" % (plan["address"], plan["port"]),
        "version": stack.get("version"),
    })
    return problems


def gpu_problems(prefix, plans):
    """Sentences for GPUs given to two instances of one host."""
    owners = {}
    for plan in plans:
        for gpu in plan.get("gpus") or []:
            owners.setdefault(gpu, []).append(plan["name"])
    return ["%s: GPU %d is given to %s; each GPU serves one instance (set gpus apart)" % (prefix, gpu, " and ".join("'%s'" % n for n in names))
            for gpu, names in sorted(owners.items()) if len(names) > 1]
