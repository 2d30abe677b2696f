# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""An instance's environment file: the variables the collection sets, then the user's ``env``.

The collection's variables carry the README's guarantees (ports, addresses, protocol), so an
``env`` entry may replace one only when the instance names it in ``env_override``; the plan
refuses it otherwise (``managed_env_problems``), naming the variable and what it guarantees.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.mooncake.deploy.plugins.module_utils.unit_syntax import ENV_NAME, env_value, env_value_problem

# Variable: what it guarantees (README, "What the deployment guarantees about ports").
MANAGED = {
    "MOONCAKE_CONFIG_PATH": "the instance reads its own engine config",
    "MOONCAKE_ENGINE": "the default agent runs the active engine, and an engine switch restarts it",
    "MC_LEGACY_RPC_PORT_BINDING": "the engine listens on exactly the instance's planned port, the one the checks and etcd name",
    "MC_TCP_BIND_ADDRESS": "peers are sent to the instance's own address (mooncake_instances_address)",
    "MC_MIN_RPC_PORT": "the engine's random ports stay in the instance's own rpc_port_range, apart from the other instances'",
    "MC_MAX_RPC_PORT": "the engine's random ports stay in the instance's own rpc_port_range, apart from the other instances'",
    "MC_FORCE_TCP": "protocol tcp really transfers over TCP (without it the engine uses RDMA whenever it finds a device)",
    "MC_GID_INDEX": "the RDMA GID index comes from the instance's gid_index (set that field instead)",
    "MC_MTU": "the RDMA MTU comes from the instance's mtu (set that field instead)",
    "MC_DISABLE_METACACHE": "peers that restarted are reachable at once (mooncake_instances_metadata_cache)",
    "VLLM_HOST_IP": "vLLM's engine and side channel advertise the instance's own address",
    "VLLM_MOONCAKE_BOOTSTRAP_PORT": "the prefill's bootstrap server listens on its planned bootstrap_port, apart from other prefills",
    "PYTHONHASHSEED": "every vLLM instance on the Store hashes prefixes alike, so one finds the blocks another put",
    "CUDA_VISIBLE_DEVICES": "the instance sees exactly its gpus, which no other instance of the host is given",
}
SERVING_KINDS = ("vllm", "sglang")


def managed_env_problems(env, override):
    """Sentences for the env entries that replace a managed variable without being listed in
    ``override``, and for ``override`` entries that are not such a replacement."""
    problems = []
    for name in sorted(set(env) & set(MANAGED) - set(override)):
        problems.append(
            "env %s would replace the collection's own %s, which guarantees that %s; remove it, "
            "or list it in env_override to take that guarantee away knowingly" % (name, name, MANAGED[name])
        )
    for name in override:
        if name not in MANAGED:
            problems.append(
                "env_override names %s, which the collection does not set (it may name: %s)"
                % (name, ", ".join(sorted(MANAGED)))
            )
        elif name not in env:
            problems.append("env_override names %s, but env gives it no value; add it to env or drop it from env_override" % name)
    return problems


def env_problems(env):
    """Sentences for env entries whose name or value a systemd environment file cannot hold."""
    problems = []
    for name in sorted(env, key=str):
        if not isinstance(name, str) or not ENV_NAME.match(name):
            problems.append(
                "env name %r is not a variable name; use letters, digits and '_', not starting with a digit" % (name,)
            )
            continue
        value = env[name]
        if isinstance(value, (dict, list)) or value is None:
            problems.append("env %s must be a string, number or boolean, got %s" % (name, type(value).__name__))
            continue
        problem = env_value_problem(str(value))
        if problem:
            problems.append("env %s %s" % (name, problem))
    return problems


def env_lines(plan, config_dir, engine_path, rdma_env, metadata_cache):
    """The lines of the instance's environment file, comments included."""
    override = set(plan.get("env_override") or [])
    managed = []

    def add(comment, name, value):
        if name not in override:
            managed.extend(["# " + line for line in comment] + ["%s=%s" % (name, value)])

    serving = plan.get("kind") in SERVING_KINDS
    if not serving:
        add([], "MOONCAKE_CONFIG_PATH", "%s/%s.json" % (config_dir, plan["name"]))
    if not plan.get("command"):
        add(["The engine the agent runs (its real path): a switch to another engine restarts this instance."],
            "MOONCAKE_ENGINE", engine_path)
    if serving:
        # vLLM and SGLang pick the engine's port in the instance's range; port is their API's.
        for name, value in sorted((plan.get("serving_env") or {}).items()):
            add([], name, value)
    elif not plan.get("p2p"):  # on P2PHANDSHAKE the engine ignores it (measured) and picks from its range
        add(["Bind exactly the port in local_hostname (%s); by default the engine only uses it" % plan["port"],
             "as a name in etcd and listens on a random port."], "MC_LEGACY_RPC_PORT_BINDING", "1")
    add(["Advertise this address to peers (otherwise: the first non-loopback interface)."],
        "MC_TCP_BIND_ADDRESS", plan["address"])
    add(["This instance's own random-port range, disjoint from the other instances on the host."],
        "MC_MIN_RPC_PORT", plan["rpc_port_range"][0])
    add([], "MC_MAX_RPC_PORT", plan["rpc_port_range"][1])
    if plan.get("protocol") == "tcp":
        add(["protocol tcp: without this the engine uses RDMA whenever it finds a device."], "MC_FORCE_TCP", "1")
    for name, value in sorted((rdma_env or {}).items()):
        add(["From the device's port (gid_index/mtu: auto) or the instance's own setting."], name, value)
    if not metadata_cache:
        add(["Read peers' segment descriptors from etcd on each use, not once for the engine's life: a peer",
             "that restarted (new buffer address, new data port) is reachable again at once."],
            "MC_DISABLE_METACACHE", "1")
    user = ["%s=%s" % (name, env_value(value)) for name, value in sorted((plan.get("env") or {}).items())]
    if override:
        user.insert(0, "# env_override: the instance replaces %s (README: what is lost)." % ", ".join(sorted(override)))
    return managed + user
