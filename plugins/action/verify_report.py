# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Action verify_report: write the verification report on the controller, in this process.

Three files in one task without a module process per file (the verify play runs on every
site.yml run, so its controller-side cost counts too). Documentation: plugins/modules/verify_report.py.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import tempfile

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible_collections.mooncake.deploy.plugins.filter.verify_report import deployment_svg, verify_table
from ansible_collections.mooncake.deploy.plugins.module_utils.socket_report import socket_lines
from ansible_collections.mooncake.deploy.plugins.module_utils.store_verify import store_lines

ARGUMENT_SPEC = dict(
    dest=dict(type="path", required=True),
    report=dict(type="list", elements="dict", required=True),
    etcd_hosts=dict(type="list", elements="dict", default=[]),
    store=dict(type="dict", default={}),
    prometheus_targets=dict(type="list", elements="dict", default=[]),
    sockets=dict(type="list", elements="dict", default=[]),
)


def report_failures(report):
    """Every failure sentence instance_status gave, host by host."""
    failures = []
    for host in report:
        failures.extend(host.get("failures") or [])
    return failures


def report_files(report, etcd_hosts, store=None, targets=None, sockets=None):
    """{file name: content} of the report (the Store's section in verify-store.json and the
    listening sockets in verify-sockets.json, when given)."""
    lines = verify_table(report) + store_lines(store) + socket_lines(sockets)
    public = [{"host": host["host"], "instances": host.get("instances") or []} for host in report]
    files = {
        "verify-report.txt": "\n".join(lines + report_failures(report) + list((store or {}).get("failures") or [])) + "\n",
        "verify-report.json": json.dumps(public, indent=4, sort_keys=True) + "\n",
        "deployment.svg": deployment_svg(public, etcd_hosts, store=store),
    }
    if store:
        files["verify-store.json"] = json.dumps(store, indent=4, sort_keys=True) + "\n"
    if targets:
        files["prometheus-targets.json"] = json.dumps(targets, indent=2) + "\n"
    if sockets:
        files["verify-sockets.json"] = json.dumps(sockets, indent=4, sort_keys=True) + "\n"
    return lines, files


def write_atomically(path, content):
    """Readers never see half a report: write beside it, then rename over it."""
    handle, temp = tempfile.mkstemp(dir=os.path.dirname(path), prefix="." + os.path.basename(path) + ".")
    try:
        with os.fdopen(handle, "w") as out:
            out.write(content)
        os.chmod(temp, 0o644)
        os.rename(temp, path)
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    _VALID_ARGS = frozenset(ARGUMENT_SPEC)

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        _validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        dest = args["dest"]
        lines, files = report_files(args["report"], args["etcd_hosts"], args["store"], args["prometheus_targets"], args["sockets"])
        try:
            if not os.path.isdir(dest):
                os.makedirs(dest, 0o755)
            for name, content in files.items():
                write_atomically(os.path.join(dest, name), content)
        except (IOError, OSError) as exc:
            raise AnsibleActionFail("cannot write the report into %s on the controller: %s" % (dest, exc))
        # A report describes the hosts; writing it changes none of them (and runs in check mode).
        result.update(changed=False, lines=lines, failures=report_failures(args["report"]) + list(args["store"].get("failures") or []),
                      files=sorted(os.path.join(dest, name) for name in files))
        return result
