# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Filter ``master_settings``: the Store master's addresses and ports, checked (see module_utils)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.mooncake.deploy.plugins.module_utils.master_settings import master_settings as check


def master_settings(settings, host):
    """Return ``{errors, ports, server_address, health_url}``."""
    return check(dict(settings or {}), host)


class FilterModule(object):
    def filters(self):
        return {"master_settings": master_settings}
