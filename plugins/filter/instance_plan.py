# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Filters of the instances role: the plan (module_utils/instance_plan.py) and the checks on it
(module_utils/instance_checks.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.mooncake.deploy.plugins.module_utils import instance_checks as checks
from ansible_collections.mooncake.deploy.plugins.module_utils import instance_rollback as rollback
from ansible_collections.mooncake.deploy.plugins.module_utils.instance_env import env_lines
from ansible_collections.mooncake.deploy.plugins.module_utils.instance_plan import plan_instances, resolve_rdma


def instance_plan(instances, host, settings):
    """Return ``{'instances': [...], 'errors': [...]}`` for the host's ``mooncake_instances``."""
    plans, errors = plan_instances(host, instances, settings)
    return {"instances": plans, "errors": errors}


def instance_rdma(plans, host, info):
    """Return ``{'env': {name: {MC_GID_INDEX, MC_MTU}}, 'errors': [...]}`` for the rdma instances."""
    env, errors = resolve_rdma(host, plans, info)
    return {"env": env, "errors": errors}


def instance_port_expectations(plans, host):
    return checks.port_expectations(host, plans)


def instance_metadata_probes(plans, host, managed_endpoints=None):
    return checks.metadata_probes(host, plans, managed_endpoints)


def instance_problems(planned, host, address, own_addresses, ports=None, reach=None, rdma=None):
    """Every problem of the host, one sentence each: the plan's errors, the advertised address,
    the ports others hold (port_bindings' result), the metadata servers out of reach
    (tcp_reachable's), the RDMA devices (instance_rdma's). A skipped check gives nothing."""
    plans = planned.get("instances") or []
    return (
        list(planned.get("errors") or [])
        + checks.address_problem(host, plans, address, own_addresses)
        + checks.port_problems(plans, (ports or {}).get("results"))
        + list((reach or {}).get("failures") or [])
        + list((rdma or {}).get("errors") or [])
    )


def instance_reserved_ports(host, hostvars, etcd_hosts):
    return checks.reserved_ports(host, hostvars[host], etcd_hosts)


def instances_leftovers(found, plans, config_dir):
    return checks.leftovers(found, plans, config_dir)


def instance_env_lines(plan, config_dir, engine_path, rdma_env=None, metadata_cache=False):
    return env_lines(plan, config_dir, engine_path, rdma_env, metadata_cache)


def instance_rollback(name, own, retired, shared):
    return rollback.rollback_plan(name, own, retired, shared)


def instance_kept_copies(own, retired, shared):
    return rollback.kept_copies(own, retired, shared)


def instance_failure_message(plan, host, reason, rollback_plan, healthy_again, journal):
    return rollback.failure_message(host, plan, reason, rollback_plan, healthy_again, journal)


class FilterModule(object):
    def filters(self):
        return {
            "instance_plan": instance_plan,
            "instance_rdma": instance_rdma,
            "instance_port_expectations": instance_port_expectations,
            "instance_metadata_probes": instance_metadata_probes,
            "instance_problems": instance_problems,
            "instances_leftovers": instances_leftovers,
            "instance_reserved_ports": instance_reserved_ports,
            "instance_env_lines": instance_env_lines,
            "instance_rollback": instance_rollback,
            "instance_kept_copies": instance_kept_copies,
            "instance_failure_message": instance_failure_message,
        }
