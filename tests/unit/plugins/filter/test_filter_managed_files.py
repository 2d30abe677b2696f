# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""managed_files_pending judged on real files read by host_state_info, and checked against what
managed_files itself then does: an entry called in place must be one the module leaves alone,
and one called pending must be one it changes."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import grp
import os
import pwd

import pytest

from ansible_collections.mooncake.deploy.plugins.filter.managed_files import managed_files_pending
from ansible_collections.mooncake.deploy.plugins.modules import host_state_info, managed_files
from ansible_collections.mooncake.deploy.tests.unit.module_harness import AnsibleExitJson, patch_exits, run_module

ME = pwd.getpwuid(os.getuid()).pw_name
MY_GROUP = grp.getgrgid(os.getgid()).gr_name


@pytest.fixture(autouse=True)
def exits(monkeypatch):
    patch_exits(monkeypatch)


def read(entries):
    return run_module(host_state_info.main, {
        "paths": [e["path"] for e in entries], "checksum": True, "users": [ME], "groups": [MY_GROUP],
    }, AnsibleExitJson)


def apply(entries):
    return run_module(managed_files.main, {"files": entries}, AnsibleExitJson)


def tree(tmp_path):
    return [
        {"path": str(tmp_path / "conf"), "state": "directory", "owner": ME, "group": MY_GROUP, "mode": "0750"},
        {"path": str(tmp_path / "conf" / "a.json"), "content": u"{\"port\": 15624}\n", "owner": ME, "mode": "0640"},
        {"path": str(tmp_path / "conf" / "unit"), "content": u"[Unit]\nDescription=\u00e9tcd\n", "group": MY_GROUP, "mode": 0o644},
        {"path": str(tmp_path / "venv"), "state": "link", "src": "/opt/x/venv", "mode": "0600"},
        {"path": str(tmp_path / "old.conf"), "state": "absent"},
    ]


def test_a_fresh_tree_is_all_pending_and_a_written_one_is_in_place(tmp_path):
    entries = tree(tmp_path)
    # Everything but the path that must be absent, which is.
    assert managed_files_pending(entries, read(entries)) == entries[:4]
    assert apply(entries)["changed_paths"] == [e["path"] for e in entries[:4]]
    # A link's mode is never compared (managed_files does not set it either).
    assert managed_files_pending(entries, read(entries)) == []
    assert apply(entries)["changed"] is False


@pytest.mark.parametrize("spoil, index", [
    (lambda p: (p / "conf" / "a.json").write_text(u"{\"port\": 15625}\n"), 1),   # content
    (lambda p: os.chmod(str(p / "conf" / "unit"), 0o600), 2),                       # mode
    (lambda p: os.chmod(str(p / "conf"), 0o755), 0),                                # directory mode
    (lambda p: (os.unlink(str(p / "venv")), os.symlink("/opt/y/venv", str(p / "venv"))), 3),  # link target
    (lambda p: (p / "old.conf").write_text(u"x"), 4),                               # must be absent
])
def test_what_the_filter_calls_pending_is_what_the_module_changes(tmp_path, spoil, index):
    entries = tree(tmp_path)
    apply(entries)
    spoil(tmp_path)
    pending = managed_files_pending(entries, read(entries))
    assert pending == [entries[index]]
    assert apply(entries)["changed_paths"] == [entries[index]["path"]]


def test_what_the_read_cannot_tell_is_pending(tmp_path):
    entries = tree(tmp_path)
    apply(entries)
    state = read(entries)
    # A path the read did not ask for, an owner it did not look up, a symbolic mode.
    assert managed_files_pending(entries, dict(state, paths={})) == entries
    assert managed_files_pending(entries, None) == entries
    assert managed_files_pending(entries[1:2], dict(state, users={})) == entries[1:2]
    assert managed_files_pending([dict(entries[1], mode="u=rw,g=r")], state) == [dict(entries[1], mode="u=rw,g=r")]
    # Without checksum=true the content cannot be compared.
    plain = run_module(host_state_info.main, {"paths": [entries[1]["path"]], "users": [ME]}, AnsibleExitJson)
    assert managed_files_pending(entries[1:2], plain) == entries[1:2]
    # Numeric owners need no lookup.
    assert managed_files_pending([dict(entries[1], owner=str(os.getuid()))], dict(state, users={})) == []
