# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""host_state_info: its parsers on the lab host's recorded dpkg-query and systemctl output, and
the module itself on this machine's real files and accounts."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.mooncake.deploy.plugins.module_utils import host_state
from ansible_collections.mooncake.deploy.plugins.modules import host_state_info
from ansible_collections.mooncake.deploy.tests.unit.module_harness import AnsibleExitJson, AnsibleFailJson, patch_exits, run_module

RECORDED = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "lab-node1", "commands")


def recorded(name):
    with open(os.path.join(RECORDED, name)) as handle:
        return handle.read()


@pytest.fixture(autouse=True)
def exits(monkeypatch):
    patch_exits(monkeypatch)


def test_dpkg_query_recorded_on_the_lab_host():
    installed = host_state.parse_dpkg_query(recorded("dpkg-query-W.txt"))
    assert installed["etcd-server"] == "3.4.23-4+b4"
    assert installed["mooncake-transfer-engine-non-cuda-0.3.13.post1"] == "0.3.13.post1"
    # Asked for, unknown to dpkg: no line, so not installed.
    assert "not-a-package" not in installed


def test_dpkg_query_ignores_removed_packages_with_config_left():
    text = "etcd-server\tconfig-files\t3.4.23-4\nkmod\tinstalled\t30+20221128-1\nlibfoo:amd64\tinstalled\t1.0\n"
    assert host_state.parse_dpkg_query(text) == {"kmod": "30+20221128-1", "libfoo": "1.0"}


def test_rpm_query_skips_packages_not_installed():
    text = "rdma-core\t44.0-2.el9\npackage perftest is not installed\n"
    assert host_state.parse_rpm_query(text) == {"rdma-core": "44.0-2.el9"}


def test_systemctl_show_recorded_on_the_lab_host():
    units = host_state.unit_states(host_state.parse_systemctl_show(recorded("systemctl-show.txt")))
    assert units["mooncake-instance@prefill.service"] == {
        "load": "loaded", "active": "active", "sub": "running", "enabled": "enabled", "main_pid": 4459}
    assert units["etcd.service"]["load"] == "masked"
    assert units["not-a-unit.service"]["load"] == "not-found"
    assert units["not-a-unit.service"]["enabled"] == ""
    assert len(units) == 5


def test_module_reads_paths_globs_accounts_and_files(tmp_path):
    (tmp_path / "a.json").write_text(u"{}")
    (tmp_path / "b.json").write_text(u"{}")
    (tmp_path / "link").symlink_to(tmp_path / "a.json")
    (tmp_path / "big").write_bytes(b"x" * 10)
    result = run_module(host_state_info.main, {
        "paths": [str(tmp_path / "link"), str(tmp_path / "missing")],
        "globs": [str(tmp_path / "*.json")],
        "users": ["root", "no-such-user-here"],
        "groups": ["root"],
        "read": [str(tmp_path / "big"), str(tmp_path / "missing")],
    }, AnsibleExitJson)
    assert result["changed"] is False
    link = result["paths"][str(tmp_path / "link")]
    assert link["type"] == "link" and link["target"] == str(tmp_path / "a.json") and link["resolves"]
    assert result["paths"][str(tmp_path / "missing")] == {"exists": False}
    assert result["globs"][str(tmp_path / "*.json")] == [str(tmp_path / "a.json"), str(tmp_path / "b.json")]
    assert result["users"]["root"]["uid"] == 0
    assert result["users"]["no-such-user-here"] is None
    assert result["groups"]["root"] == {"gid": 0}
    assert result["read"] == {str(tmp_path / "big"): "x" * 10, str(tmp_path / "missing"): None}


def test_module_refuses_to_read_a_large_file(tmp_path):
    (tmp_path / "huge").write_bytes(b"x" * (host_state.READ_LIMIT + 1))
    result = run_module(host_state_info.main, {"read": [str(tmp_path / "huge")]}, AnsibleFailJson)
    assert "larger than" in result["msg"]


def test_module_reads_real_packages_of_this_machine():
    # The controller is Debian: dpkg knows libc6, and not a made-up name.
    result = run_module(host_state_info.main, {"packages": ["libc6", "not-a-package-xyz"]}, AnsibleExitJson)
    assert result["packages"]["libc6"]
    assert result["packages"]["not-a-package-xyz"] is None
