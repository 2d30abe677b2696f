# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Filters ``etcd_members`` and ``etcd_endpoints``: the inventory's etcd members (module_utils/etcd_members.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.mooncake.deploy.plugins.module_utils import etcd_members as table


def etcd_members(hosts, hostvars, defaults=None):
    """A list of {host, name, address, client_port, peer_port, endpoint, client_url, peer_url}."""
    return table.members(list(hosts or []), hostvars, defaults)


def etcd_endpoints(hosts, hostvars, defaults=None):
    """A list of ``ADDRESS:CLIENT_PORT``, one per member."""
    try:
        return table.endpoints(list(hosts or []), hostvars, defaults)
    except table.MemberError as err:
        raise AnsibleFilterError(str(err))


class FilterModule(object):
    def filters(self):
        return {"etcd_members": etcd_members, "etcd_endpoints": etcd_endpoints}
