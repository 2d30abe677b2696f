# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Make ``ansible_collections.mooncake.deploy`` importable for plain pytest runs.

In the repository, ``collections/ansible_collections/mooncake/deploy`` links back to the
repository root, so ``collections/`` is the directory to put on sys.path. In an installed
or copied collection (``.../ansible_collections/mooncake/deploy/tests/unit``) it is the
directory that holds ``ansible_collections``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import socket
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def _collections_dir():
    linked = os.path.join(ROOT, "collections")
    if os.path.isdir(os.path.join(linked, "ansible_collections", "mooncake", "deploy")):
        return linked
    parent = os.path.dirname(os.path.dirname(ROOT))
    if os.path.basename(parent) == "ansible_collections":
        return os.path.dirname(parent)
    raise RuntimeError("cannot find ansible_collections/mooncake/deploy around %s" % ROOT)


if _collections_dir() not in sys.path:
    sys.path.insert(0, _collections_dir())


@pytest.fixture
def listening_socket():
    """A TCP socket listening on 127.0.0.1 (a free port the kernel picks), held by this process."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    try:
        yield server.getsockname()[1]
    finally:
        server.close()
