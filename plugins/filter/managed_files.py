# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Filter ``managed_files_pending``: the entries a managed_files call would change, judged from
a host_state_info read (see module_utils/managed_files.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.mooncake.deploy.plugins.module_utils.managed_files import pending_entries


def managed_files_pending(entries, state):
    """Return the entries of ``entries`` that are not in place on the host ``state`` describes."""
    return pending_entries(entries or [], state or {})


class FilterModule(object):
    def filters(self):
        return {"managed_files_pending": managed_files_pending}
