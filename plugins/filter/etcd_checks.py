# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Filters ``etcd_problems`` (every problem of one etcd member's settings) and ``etcd_join_cluster``
(a joining member's --initial-cluster); the logic is in module_utils/etcd_checks.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.mooncake.deploy.plugins.module_utils import etcd_checks as checks
from ansible_collections.mooncake.deploy.plugins.module_utils import etcd_members as table


def etcd_problems(settings, host, hostvars, groups):
    """A list of messages (empty when the settings are right), each naming host, field and fix."""
    settings = dict(settings or {})
    group = str(settings.get("mooncake_etcd_group") or "etcd")
    members = table.members(list(groups.get(group) or []), hostvars, checks.defaults(settings))
    variables = hostvars[host]
    facts = variables.get("ansible_facts") if "ansible_facts" in variables else {}
    own = table.member(host, variables, checks.defaults(settings))
    engines = checks.engine_hosts(host, own, settings, groups, hostvars) \
        if checks.truthy(settings.get("mooncake_etcd_client_tls")) else []
    return checks.problems(host, settings, variables, facts, members, engines)


def etcd_join_cluster(members, name, peer_url):
    """``NAME=PEER_URL,...`` from etcdctl's JSON members; the unnamed new member is `name` (its `peer_url`)."""
    return checks.join_cluster(list(members or []), name, peer_url)


class FilterModule(object):
    def filters(self):
        return {"etcd_problems": etcd_problems, "etcd_join_cluster": etcd_join_cluster}
