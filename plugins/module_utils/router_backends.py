# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The P/D router in front of the serving instances: its backends and its checked command line.

``router_backends`` reads the serving instances of a group's hosts - the instances role's
published plan ``mooncake_instances_plan`` when the host has it, else the raw
``mooncake_instances`` items (``kind: vllm|sglang``, ``role: prefill|decode``, ``port``, the
API port, and for a prefill ``bootstrap_port``) - and returns the router's prefill and decode
lists.
``plan_router`` checks the router's own settings and those lists (every problem at once, naming
host, field and fix) and returns the argument list of ``vllm-router`` or SGLang's
``sglang_router.launch_router``, the unit's ``ExecStart=`` value and the port expectations of
the pre-change port check. One implementation serves the validation and the unit, so what is
checked is what runs.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re

from ansible_collections.mooncake.deploy.plugins.module_utils.instance_plan import (
    DEFAULT_EPHEMERAL_RANGE,
    _check_port,
    _int,
)
from ansible_collections.mooncake.deploy.plugins.module_utils.store_client_plan import _reserved as reserved_settings
from ansible_collections.mooncake.deploy.plugins.module_utils.store_client_plan import reserved_port_problems
from ansible_collections.mooncake.deploy.plugins.module_utils.unit_syntax import exec_line
from ansible_collections.mooncake.deploy.plugins.module_utils.values import is_ip, url_host

KINDS = ("vllm", "sglang")
ROLES = ("prefill", "decode")
UNIT = "mooncake-router.service"
# http://HOST:PORT with an optional path; HOST a name, an IPv4 or a bracketed IPv6 address.
_URL = re.compile(r"^https?://(?:[A-Za-z0-9.\-]+|\[[0-9A-Fa-f:.]+\]):(?P<port>\d{1,5})/?$")
_OPTION = re.compile(r"^--[a-z0-9][a-z0-9-]*(=.*)?$")
# Flags the role writes itself: an extra argument may not set them a second time.
MANAGED_FLAGS = (
    "--host", "--port", "--prometheus-host", "--prometheus-port", "--prefill", "--decode",
    "--worker-startup-timeout-secs", "--kv-connector", "--vllm-pd-disaggregation", "--pd-disaggregation",
    "--worker-urls",
)


def _port(value):
    port = _int(value)
    return port if port is not None and 1 <= port <= 65535 else None


def router_backends(hosts, hostvars, kind=None):
    """``{'prefill': [...], 'decode': [...], 'errors': [...]}`` from the inventory.

    Each host of ``hosts`` contributes its serving instances: items of ``kind`` vllm or sglang
    with a ``role`` of prefill or decode.

    - When the host has the fact ``mooncake_instances_plan`` (published by the instances role's
      ``plan``/``validate`` entry points, which site.yml's preflight runs on every instance host
      first), its planned items are read: ``kind``, ``role``, ``address``, ``port`` (the API
      port, planned from ``mooncake_instances_port_base`` when the inventory gave none) and
      ``bootstrap_port`` (planned from ``mooncake_instances_bootstrap_port_base``). Nothing is
      computed here: the plan is what the instances role deploys.
    - Otherwise the raw ``mooncake_instances`` items are read with the same fields, ``port``
      and ``bootstrap_port`` as the inventory gives them, at the host's
      ``mooncake_instances_address``, else ``ansible_host``, else its name. An item without
      them is an error: give them in the inventory, or plan the instances first.

    Items of kind agent or program (or without a kind: transfer-engine agents) are not serving
    instances and are left out; with ``kind`` given, so are the instances of the other kind
    (``plan_router`` reports them)."""
    prefill, decode, errors = [], [], []
    for host in hosts or []:
        variables = hostvars.get(host) or {}
        planned = variables.get("mooncake_instances_plan")
        if isinstance(planned, list):
            instances, from_plan = planned, True
        else:
            instances, from_plan = variables.get("mooncake_instances") or [], False
        if not isinstance(instances, list):
            continue
        host_address = variables.get("mooncake_instances_address") or variables.get("ansible_host") or host
        for index, item in enumerate(instances):
            if not isinstance(item, dict) or item.get("kind") in (None, "", "agent", "program"):
                continue
            name = item.get("name") or "mooncake_instances[%d]" % index
            where = "host %s, instance '%s'" % (host, name)
            if item.get("kind") not in KINDS:
                errors.append("%s: kind %r is not a serving engine the router knows; use one of %s"
                              % (where, item.get("kind"), ", ".join(KINDS)))
                continue
            if item.get("role") not in ROLES:
                continue
            address = (item.get("address") if from_plan else None) or host_address
            hint = ("the instances role planned none (its plan has errors: run it to see them)" if from_plan else
                    "give port in this host's mooncake_instances, or run the instances role's plan first "
                    "(tasks_from: plan or validate; site.yml's preflight does) so the router reads the planned one")
            api_port = _port(item.get("port"))
            if api_port is None:
                errors.append(
                    "%s: a %s %s instance needs port, the port its OpenAI-compatible API server listens on "
                    "(got %r); %s" % (where, item["kind"], item["role"], item.get("port"), hint)
                )
                continue
            entry = {
                "url": "http://%s:%d" % (url_host(str(address)), api_port),
                "host": host,
                "instance": name,
                "kind": item["kind"],
            }
            if item["role"] == "prefill":
                bootstrap = _port(item.get("bootstrap_port"))
                if bootstrap is None:
                    errors.append(
                        "%s: a %s prefill instance needs bootstrap_port, the port of its KV bootstrap server "
                        "(vLLM: VLLM_MOONCAKE_BOOTSTRAP_PORT, SGLang: --disaggregation-bootstrap-port; got %r), "
                        "without which decode cannot find the prefill's KV cache; %s"
                        % (where, item["kind"], item.get("bootstrap_port"), hint.replace("give port", "give bootstrap_port"))
                    )
                    continue
                entry["bootstrap_port"] = bootstrap
                prefill.append(entry)
            else:
                decode.append(entry)
    if kind is not None:
        prefill = [b for b in prefill if b["kind"] == kind]
        decode = [b for b in decode if b["kind"] == kind]
    return {"prefill": prefill, "decode": decode, "errors": errors}


def _backend_problems(where, field, backends, kind, need_bootstrap):
    errors = []
    if not isinstance(backends, list):
        return ["%s: %s must be a list of backends ({url: http://IP:PORT%s}), got %s"
                % (where, field, ", bootstrap_port: N" if need_bootstrap else "", type(backends).__name__)], []
    checked = []
    for index, backend in enumerate(backends):
        label = "%s, %s[%d]" % (where, field, index)
        if not isinstance(backend, dict):
            errors.append("%s: each backend must be a mapping with url%s" % (label, " and bootstrap_port" if need_bootstrap else ""))
            continue
        if backend.get("instance"):
            label = "%s (host %s, instance '%s')" % (label, backend.get("host"), backend["instance"])
        url = backend.get("url")
        match = _URL.match(url) if isinstance(url, str) else None
        if match is None or not 1 <= int(match.group("port")) <= 65535:
            errors.append("%s: url %r must be http://IP:PORT of the instance's API server" % (label, url))
            continue
        host_part = url.split("://", 1)[1].rsplit(":", 1)[0].strip("[]")
        if is_ip(host_part) and ipaddress.ip_address(host_part).is_unspecified:
            errors.append("%s: url %s names %s, an address to listen on, not one to connect to; use the instance's real address"
                          % (label, url, host_part))
            continue
        if backend.get("kind") not in (None, kind):
            errors.append(
                "%s: the backend is a %s instance but mooncake_router_kind is %s; a %s router cannot drive it "
                "(set mooncake_router_kind: %s, or give this router group %s backends)"
                % (label, backend["kind"], kind, kind, backend["kind"], kind)
            )
            continue
        entry = {"url": url.rstrip("/")}
        if need_bootstrap:
            bootstrap = _int(backend.get("bootstrap_port"))
            if bootstrap is None or not 1 <= bootstrap <= 65535:
                errors.append("%s: bootstrap_port %r must be the prefill's KV bootstrap port (1-65535); without it decode "
                              "recomputes the prefill instead of receiving its KV cache" % (label, backend.get("bootstrap_port")))
                continue
            entry["bootstrap_port"] = bootstrap
        checked.append(entry)
    urls = [b["url"] for b in checked]
    for url in sorted(set(u for u in urls if urls.count(u) > 1)):
        errors.append("%s: %s lists %s more than once; list each instance once" % (where, field, url))
    return errors, checked


def plan_router(host, settings, prefill, decode):
    """Check the router of ``host`` and return ``{'argv', 'exec_start', 'health_url', 'errors',
    'port_expectations'}``.

    ``settings``: kind (vllm|sglang), venv (the router's virtual environment), address (the IP
    it binds), port, metrics_address, metrics_port, startup_timeout (seconds the router waits for
    its backends), health_path, extra_args (a list of further arguments), ephemeral_range,
    reserved_ports ({port: what} of the host's other services), reserved_ranges
    ([{low, high, what}]), own_addresses (the host's IPs; None: not checked)."""
    errors = []
    where = "host %s" % host
    kind = settings.get("kind")
    if kind not in KINDS:
        errors.append("%s: mooncake_router_kind %r is not a router this role runs; use vllm (vllm-router) or sglang "
                      "(sglang_router.launch_router)" % (where, kind))
    ephemeral = settings.get("ephemeral_range") or DEFAULT_EPHEMERAL_RANGE
    ephemeral = tuple(_int(p) for p in ephemeral) if isinstance(ephemeral, (list, tuple)) and len(ephemeral) == 2 else (None, None)
    if None in ephemeral:
        errors.append("%s: mooncake_router_ephemeral_range %r must be [low, high], as in net.ipv4.ip_local_port_range"
                      % (where, settings.get("ephemeral_range")))
        ephemeral = DEFAULT_EPHEMERAL_RANGE

    ports = {}
    for field in ("port", "metrics_port"):
        value = _int(settings.get(field))
        ports[field] = value if _check_port(errors, where, "mooncake_router_" + field, value, ephemeral, settings.get(field)) else None
    if ports["port"] is not None and ports["port"] == ports["metrics_port"]:
        errors.append("%s: mooncake_router_port and mooncake_router_metrics_port are both %d; the router's API and its "
                      "Prometheus metrics need a port each" % (where, ports["port"]))

    # The host's other services, read as the store clients read them (the same default feeds both).
    reserved, ranges = reserved_settings(settings)
    for field, value in sorted(ports.items()):
        if value is not None:
            errors.extend(reserved_port_problems(where, "mooncake_router_" + field, value, reserved, ranges))

    addresses = {}
    for field in ("address", "metrics_address"):
        value = settings.get(field)
        if not is_ip(value):
            errors.append("%s: mooncake_router_%s %r must be an IP address to bind (0.0.0.0 for every interface)" % (where, field, value))
            continue
        own = settings.get("own_addresses")
        parsed = ipaddress.ip_address(str(value))
        if own is not None and not (parsed.is_unspecified or parsed.is_loopback) and str(value) not in [str(a) for a in own]:
            errors.append("%s: mooncake_router_%s %s is not an address of this host (it has %s); the router could not bind it"
                          % (where, field, value, ", ".join(str(a) for a in own) or "none"))
            continue
        addresses[field] = str(value)

    startup = _int(settings.get("startup_timeout"))
    if startup is None or startup < 1:
        errors.append("%s: mooncake_router_startup_timeout %r must be a whole number of seconds, at least 1"
                      % (where, settings.get("startup_timeout")))

    prefill_errors, prefill_ok = _backend_problems(where, "mooncake_router_prefill", prefill, kind, True)
    decode_errors, decode_ok = _backend_problems(where, "mooncake_router_decode", decode, kind, False)
    errors += prefill_errors + decode_errors
    if isinstance(prefill, list) and not prefill:
        errors.append("%s: mooncake_router_prefill is empty; a P/D router needs at least one prefill instance (give hosts "
                      "of mooncake_router_backend_group prefill instances with kind %s - instances of another kind are left "
                      "out - or set mooncake_router_prefill)" % (where, kind))
    if isinstance(decode, list) and not decode:
        errors.append("%s: mooncake_router_decode is empty; a P/D router needs at least one decode instance (give hosts "
                      "of mooncake_router_backend_group decode instances with kind %s - instances of another kind are left "
                      "out - or set mooncake_router_decode)" % (where, kind))

    extra = settings.get("extra_args") or []
    if not isinstance(extra, list) or not all(isinstance(a, (str, int, float)) and not isinstance(a, bool) for a in extra):
        errors.append("%s: mooncake_router_extra_args must be a list of strings, one per argument" % where)
        extra = []
    extra = [str(a) for a in extra]
    for argument in extra:
        flag = argument.split("=", 1)[0]
        if flag in MANAGED_FLAGS:
            errors.append("%s: mooncake_router_extra_args sets %s, which the role writes from its own variables; set "
                          "the role's variable instead (mooncake_router_address, _port, _metrics_address, _metrics_port, "
                          "_prefill, _decode, _startup_timeout)" % (where, flag))
        if "\x00" in argument or "\n" in argument:
            errors.append("%s: mooncake_router_extra_args item %r contains a NUL or a line break" % (where, argument))

    venv = str(settings.get("venv") or "")
    if not venv.startswith("/"):
        errors.append("%s: the router's virtual environment %r must be an absolute path" % (where, venv))

    plan = {"argv": None, "exec_start": None, "health_url": None, "errors": errors, "port_expectations": []}
    if errors:
        return plan
    if kind == "vllm":
        argv = [venv + "/bin/vllm-router", "--vllm-pd-disaggregation", "--kv-connector", "mooncake"]
    else:
        argv = [venv + "/bin/python", "-m", "sglang_router.launch_router", "--pd-disaggregation"]
    argv += [
        "--host", addresses["address"], "--port", str(ports["port"]),
        "--prometheus-host", addresses["metrics_address"], "--prometheus-port", str(ports["metrics_port"]),
        "--worker-startup-timeout-secs", str(startup),
    ]
    for backend in prefill_ok:
        argv += ["--prefill", backend["url"], str(backend["bootstrap_port"])]
    for backend in decode_ok:
        argv += ["--decode", backend["url"]]
    argv += extra
    probe = addresses["address"]
    if ipaddress.ip_address(probe).is_unspecified:
        probe = "127.0.0.1" if ipaddress.ip_address(probe).version == 4 else "::1"
    plan.update({
        "argv": argv,
        "exec_start": exec_line(argv),
        "health_url": "http://%s:%d%s" % (url_host(probe), ports["port"], settings.get("health_path") or "/readiness"),
        "port_expectations": [
            {"port": ports[field], "state": "available", "unit": UNIT, "label": "host %s, router %s" % (host, label)}
            for field, label in (("port", "port"), ("metrics_port", "metrics port"))
        ],
    })
    return plan


def port_problems(port_results):
    """The port_bindings results that stand as problems: a port held by anything but the router's unit."""
    return ["%s. Stop that process, or give the router another port." % result["problem"]
            for result in port_results or [] if not result.get("ok") and result.get("problem")]
