# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Filter ``transfer_engine_plan``: the engine the role installs, checked (see module_utils)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.mooncake.deploy.plugins.module_utils.transfer_engine_plan import engine_plan


def transfer_engine_plan(settings, host, python_version, architecture):
    """Return the plan (``errors``, ``id``, ``venv``, ``package``, ``remove``, ``active``, ...)."""
    return engine_plan(dict(settings or {}), host, str(python_version), str(architecture))


class FilterModule(object):
    def filters(self):
        return {"transfer_engine_plan": transfer_engine_plan}
