# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Filter ``rdma_report``: what ibv_devices_info found, as lines (see module_utils)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.mooncake.deploy.plugins.module_utils.rdma_report import rdma_report


class FilterModule(object):
    def filters(self):
        return {"rdma_report": rdma_report}
