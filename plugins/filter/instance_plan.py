# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Filter ``instance_plan``: a host's instance list, checked and expanded (see module_utils)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.mooncake.deploy.plugins.module_utils.instance_plan import plan_instances, resolve_rdma


def instance_plan(instances, host, settings):
    """Return ``{'instances': [...], 'errors': [...]}`` for the host's ``mooncake_instances``."""
    plans, errors = plan_instances(host, instances, settings)
    return {"instances": plans, "errors": errors}


def instance_rdma(plans, host, info):
    """Return ``{'env': {name: {MC_GID_INDEX, MC_MTU}}, 'errors': [...]}`` for the rdma instances."""
    env, errors = resolve_rdma(host, plans, info)
    return {"env": env, "errors": errors}


class FilterModule(object):
    def filters(self):
        return {"instance_plan": instance_plan, "instance_rdma": instance_rdma}
