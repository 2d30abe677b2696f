# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Recorded rdma-core outputs (tests/unit/fixtures/ibverbs/README.md says where each came from)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.mooncake.deploy.tests.unit.procfs import FIXTURES

IBV = os.path.join(FIXTURES, "ibverbs")


def fixture(*parts):
    with open(os.path.join(IBV, *parts), "r") as handle:
        return handle.read()


def recorded(directory, name):
    """(rc, stdout, stderr) of one recorded command."""
    return (int(fixture(directory, name + ".rc")), fixture(directory, name + ".stdout"),
            fixture(directory, name + ".stderr"))
