# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""managed_files on real files in a temporary directory: create, converge, validate, check mode."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat

import pytest

from ansible_collections.mooncake.deploy.plugins.modules import managed_files
from ansible_collections.mooncake.deploy.tests.unit.module_harness import AnsibleExitJson, AnsibleFailJson, patch_exits, run_module


@pytest.fixture(autouse=True)
def exits(monkeypatch):
    patch_exits(monkeypatch)


def apply(files, expect=AnsibleExitJson, **extra):
    args = {"files": files}
    args.update(extra)
    return run_module(managed_files.main, args, expect)


def layout(root):
    return [
        {"path": str(root / "etc"), "state": "directory", "mode": "0750"},
        {"path": str(root / "etc" / "a.conf"), "content": "a=1\n", "mode": "0640"},
        {"path": str(root / "active"), "state": "link", "src": str(root / "etc")},
        {"path": str(root / "old.d"), "state": "absent"},
    ]


def mode_of(path):
    return "%04o" % stat.S_IMODE(os.lstat(str(path)).st_mode)


def test_creates_everything_then_reports_no_change(tmp_path):
    (tmp_path / "old.d").mkdir()
    (tmp_path / "old.d" / "x.conf").write_text(u"x")
    first = apply(layout(tmp_path))
    assert first["changed"] is True
    assert first["changed_paths"] == [str(tmp_path / p) for p in ("etc", "etc/a.conf", "active", "old.d")]
    assert (tmp_path / "etc" / "a.conf").read_text() == u"a=1\n"
    assert mode_of(tmp_path / "etc") == "0750" and mode_of(tmp_path / "etc" / "a.conf") == "0640"
    assert os.readlink(str(tmp_path / "active")) == str(tmp_path / "etc")
    assert not (tmp_path / "old.d").exists()
    second = apply(layout(tmp_path))
    assert second["changed"] is False and second["changed_paths"] == []


def test_reports_only_the_file_whose_content_or_mode_drifted(tmp_path):
    apply(layout(tmp_path))
    (tmp_path / "etc" / "a.conf").write_text(u"edited by hand\n")
    os.chmod(str(tmp_path / "etc"), 0o755)
    result = apply(layout(tmp_path), _ansible_diff=True)
    assert result["changed_paths"] == [str(tmp_path / "etc"), str(tmp_path / "etc" / "a.conf")]
    content_diff = [d for d in result["diff"] if "before_header" in d]
    assert content_diff[0]["before"] == u"edited by hand\n" and content_diff[0]["after"] == u"a=1\n"
    assert (tmp_path / "etc" / "a.conf").read_text() == u"a=1\n"
    assert mode_of(tmp_path / "etc") == "0750"


def test_repoints_a_link_atomically(tmp_path):
    (tmp_path / "v1").mkdir()
    (tmp_path / "v2").mkdir()
    os.symlink(str(tmp_path / "v1"), str(tmp_path / "active"))
    result = apply([{"path": str(tmp_path / "active"), "state": "link", "src": str(tmp_path / "v2")}])
    assert result["changed"] is True
    assert os.readlink(str(tmp_path / "active")) == str(tmp_path / "v2")
    assert sorted(os.listdir(str(tmp_path))) == ["active", "v1", "v2"]


def test_check_mode_predicts_and_changes_nothing(tmp_path):
    result = apply(layout(tmp_path), _ansible_check_mode=True, _ansible_diff=True)
    assert result["changed_paths"] == [str(tmp_path / p) for p in ("etc", "etc/a.conf", "active")]
    assert any(d.get("after") == u"a=1\n" for d in result["diff"])
    assert sorted(os.listdir(str(tmp_path))) == []


def test_failed_validation_keeps_the_old_file_and_names_it(tmp_path):
    target = tmp_path / "unit.service"
    target.write_text(u"good\n")
    entry = {"path": str(target), "content": "bad\n", "label": "the etcd unit",
             "validate": "/bin/sh -c 'case \"$(basename \"$1\")\" in unit.service) grep -q good \"$1\";; *) exit 3;; esac' check %s"}
    result = apply([entry], AnsibleFailJson)
    assert result["msg"].startswith("the etcd unit: the new content failed validation")
    assert target.read_text() == u"good\n"
    # The validator saw the file under its own base name.
    entry["content"] = "good too\n"
    assert apply([entry])["changed"] is True
    assert target.read_text() == u"good too\n"


def test_refuses_to_replace_a_directory_with_a_file(tmp_path):
    (tmp_path / "d").mkdir()
    result = apply([{"path": str(tmp_path / "d"), "content": "x"}], AnsibleFailJson)
    assert "is a directory" in result["msg"]


def test_a_file_in_a_missing_directory_is_an_error(tmp_path):
    result = apply([{"path": str(tmp_path / "nowhere" / "f"), "content": "x"}], AnsibleFailJson)
    assert "does not exist" in result["msg"]


def test_secrets_can_stay_out_of_the_diff(tmp_path):
    result = apply([{"path": str(tmp_path / "key"), "content": "secret", "mode": "0600", "diff": False}],
                   _ansible_diff=True)
    assert result["changed"] is True and "secret" not in repr(result["diff"])
    assert mode_of(tmp_path / "key") == "0600"


def test_a_directory_gets_its_missing_parents(tmp_path):
    result = apply([{"path": str(tmp_path / "opt" / "mooncake" / "bin"), "state": "directory", "mode": "0755"}])
    assert result["changed_paths"] == [str(tmp_path / "opt" / "mooncake" / "bin")]
    assert (tmp_path / "opt" / "mooncake" / "bin").is_dir()
