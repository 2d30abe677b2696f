# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The verify_report action: the files it writes from the 3-host lab's recorded report, and a
real run through the ansible CLI on localhost (check mode included)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess
import sys
from xml.etree import ElementTree

from ansible_collections.mooncake.deploy.plugins.action.verify_report import report_files, write_atomically
from ansible_collections.mooncake.deploy.tests.unit.instance_status_fixtures import recorded_report

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
ETCD = [{"host": "etcd1", "address": "10.231.4.11"}]


def with_failures():
    report = recorded_report()
    report[1]["failures"] = ["node2/decode: unit mooncake-instance@decode.service is failed"]
    return report


def test_three_files_table_json_picture():
    lines, files = report_files(with_failures(), ETCD)
    assert sorted(files) == ["deployment.svg", "verify-report.json", "verify-report.txt"]
    assert files["verify-report.txt"].splitlines() == lines + ["node2/decode: unit mooncake-instance@decode.service is failed"]
    # The JSON keeps the shape scripts read (host, instances), without the failure sentences.
    assert json.loads(files["verify-report.json"]) == [{"host": h["host"], "instances": h["instances"]} for h in recorded_report()]
    assert ElementTree.fromstring(files["deployment.svg"].encode()).tag.endswith("svg")


def test_write_atomically_replaces_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "verify-report.txt"
    target.write_text("old")
    write_atomically(str(target), "new\n")
    assert target.read_text() == "new\n" and oct(target.stat().st_mode & 0o777) == "0o644"
    assert os.listdir(str(tmp_path)) == ["verify-report.txt"]


def run_action(tmp_path, *extra):
    args = json.dumps({"dest": str(tmp_path / "reports"), "report": with_failures(), "etcd_hosts": ETCD})
    run = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "ansible"), "localhost", "-o", "-m", "mooncake.deploy.verify_report",
         "-a", args] + list(extra),
        cwd=REPO, capture_output=True, text=True, check=False,
        env=dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), ANSIBLE_NOCOLOR="1"))
    assert run.returncode == 0, run.stdout + run.stderr
    return json.loads(run.stdout.split("=>", 1)[1])


def test_real_run_writes_the_files_and_changes_nothing(tmp_path):
    result = run_action(tmp_path)
    assert result["changed"] is False
    assert sorted(os.listdir(str(tmp_path / "reports"))) == ["deployment.svg", "verify-report.json", "verify-report.txt"]
    assert result["lines"][1].startswith("node1      prefill")
    assert result["failures"] == ["node2/decode: unit mooncake-instance@decode.service is failed"]


def test_real_run_in_check_mode_writes_too(tmp_path):
    result = run_action(tmp_path, "--check")
    assert result["changed"] is False and os.path.isfile(str(tmp_path / "reports" / "deployment.svg"))
