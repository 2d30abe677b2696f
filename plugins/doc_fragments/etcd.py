# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # The connection options every etcd module of this collection takes.
    DOCUMENTATION = r"""
options:
  endpoints:
    description:
      - etcd client URLs, C(http://host:port) (the engine's C(etcd://host:port) becomes C(http://host:port)).
    type: list
    elements: str
    required: true
  timeout:
    description: Seconds each etcd request may take.
    type: int
    default: 5
"""
