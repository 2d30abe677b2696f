# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""host_state_info's reuse: the answer taken from an earlier read is exactly what reading the
host would have returned for the same options, and anything the earlier read lacks sends the
call to the host. Earlier reads are real module runs on this machine's files and accounts."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.mooncake.deploy.plugins.module_utils.host_state import ASKED, view_of
from ansible_collections.mooncake.deploy.plugins.modules import host_state_info
from ansible_collections.mooncake.deploy.tests.unit.module_harness import AnsibleExitJson, patch_exits, run_module


@pytest.fixture(autouse=True)
def exits(monkeypatch):
    patch_exits(monkeypatch)


@pytest.fixture
def files(tmp_path):
    (tmp_path / "unit").write_text(u"[Unit]\n")
    (tmp_path / "dir").mkdir()
    return tmp_path


def read(**options):
    result = run_module(host_state_info.main, options, AnsibleExitJson)
    return dict((key, result[key]) for key in ASKED)


def test_a_covered_call_gets_what_the_host_would_answer(files):
    wide = dict(paths=[str(files / "unit"), str(files / "dir"), str(files / "missing")], checksum=True,
                users=["root"], groups=["root"], read=[str(files / "unit")], globs=[str(files / "*")],
                packages=["libc6"])
    earlier = run_module(host_state_info.main, wide, AnsibleExitJson)
    for asked in (dict(paths=[str(files / "unit")], checksum=True, users=["root"]),
                  dict(paths=[str(files / "dir"), str(files / "missing")]),
                  dict(read=[str(files / "unit")], packages=["libc6"], globs=[str(files / "*")]),
                  dict()):
        assert view_of(earlier, asked) == read(**asked)


def test_anything_not_read_earlier_sends_the_call_to_the_host(files):
    earlier = run_module(host_state_info.main, dict(paths=[str(files / "unit")], users=["root"]), AnsibleExitJson)
    assert view_of(earlier, dict(paths=[str(files / "dir")])) is None
    assert view_of(earlier, dict(groups=["root"])) is None
    assert view_of(earlier, dict(units=["etcd.service"])) is None
    # The file was read without its checksum.
    assert view_of(earlier, dict(paths=[str(files / "unit")], checksum=True)) is None
    # A failed or skipped earlier task, or none at all.
    assert view_of(dict(earlier, failed=True), dict(users=["root"])) is None
    assert view_of({"skipped": True, "changed": False}, dict()) is None
    assert view_of(None, dict()) is None
