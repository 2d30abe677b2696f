#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: host_state_info
short_description: Read packages, paths, units, accounts and small files of a host in one call
author:
  - mooncake.deploy maintainers (!UNKNOWN)
version_added: 0.1.0
description:
  - Reads, in one round trip, what the collection's roles need to decide whether anything
    has to change on a host - installed packages, paths (symlinks not followed), matches of
    glob patterns, the state of systemd units, users, groups and the text of small files.
  - The roles run it once per play and then act only on the differences, so a converged host
    costs one task instead of one per package list, path, unit and account.
  - Read-only; never reports a change.
options:
  packages:
    description:
      - Package names whose installed version to read (C(dpkg-query), or C(rpm) on hosts
        without dpkg). A package that is not installed maps to C(null).
    type: list
    elements: str
    default: []
  paths:
    description: Paths to look at, without following a final symlink.
    type: list
    elements: path
    default: []
  checksum:
    description:
      - Also return the SHA-1 of every regular file among O(paths) (key C(sha1)), so the
        controller can tell, without a second call, whether content it would write is there
        already (see the filter C(mooncake.deploy.managed_files_pending)).
    type: bool
    default: false
  globs:
    description: Shell patterns to expand, e.g. C(/etc/mooncake/instances/*.json).
    type: list
    elements: str
    default: []
  units:
    description: systemd units (full names) whose load, active and enabled state to read.
    type: list
    elements: str
    default: []
  users:
    description: Accounts to look up.
    type: list
    elements: str
    default: []
  groups:
    description: Groups to look up.
    type: list
    elements: str
    default: []
  read:
    description: Small text files (up to 64 KiB) to return the content of; a missing one maps to C(null).
    type: list
    elements: path
    default: []
  reuse:
    description:
      - The registered result of an earlier C(host_state_info) call on the same host in this run.
        When it read everything this call asks for (and the checksums, if asked), the answer is
        taken from it on the controller, without a round trip; otherwise the host is read.
      - The caller decides whether that earlier read is still current (site.yml's roles pass the
        preflight's read until a change of the run makes it stale).
    type: raw
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
attributes:
  async:
    support: none
  bypass_host_loop:
    support: none
  check_mode:
    support: full
    details: The module only reads, so check mode returns the same data.
  action:
    support: full
    details: An action plugin answers from O(reuse) on the controller when it covers the call.
  diff_mode:
    support: none
  platform:
    platforms: posix
"""

EXAMPLES = r"""
- name: Read once what the later tasks of the run look at
  mooncake.deploy.host_state_info:
    packages: [etcd-server, etcd-client]
    units: [mooncake-etcd.service, mooncake-instance@prefill.service]
  register: run_read

- name: Answered from run_read on the controller (it read all of this), no round trip
  mooncake.deploy.host_state_info:
    units: [mooncake-etcd.service]
    reuse: "{{ run_read }}"
  register: etcd_state

- name: Read what the etcd role needs to know
  mooncake.deploy.host_state_info:
    packages: [etcd-server, etcd-client]
    paths: [/var/lib/mooncake-etcd/member, /etc/systemd/system/etcd.service]
    units: [mooncake-etcd.service]
  register: etcd_state

- name: Install etcd only when a package is missing
  ansible.builtin.apt:
    name: [etcd-server, etcd-client]
  when: etcd_state.packages | dict2items | selectattr('value', 'none') | list | length > 0
"""

RETURN = r"""
packages:
  description: Each asked package's installed version, or C(null) when it is not installed.
  returned: always
  type: dict
  sample: {"etcd-server": "3.4.23-4+b7", "etcd-client": null}
paths:
  description:
    - Each asked path - C(exists), and when it exists C(type) (C(file), C(directory), C(link),
      C(other)), C(mode), C(uid), C(gid), C(size), C(realpath), C(resolves), for a link its C(target),
      and with O(checksum) for a regular file its C(sha1).
  returned: always
  type: dict
  sample: {"/opt/mooncake/venv": {"exists": true, "type": "link", "target": "/opt/mooncake/engines/0.3.13.post1-non-cuda/venv"}}
globs:
  description: Each pattern's matches, sorted.
  returned: always
  type: dict
  sample: {"/etc/mooncake/instances/*.json": ["/etc/mooncake/instances/decode.json"]}
units:
  description:
    - Each asked unit - C(load) (e.g. C(loaded), C(not-found), C(masked)), C(active), C(sub),
      C(enabled) (the unit file state) and C(main_pid). Empty when the host has no systemd.
  returned: always
  type: dict
  sample: {"mooncake-etcd.service": {"load": "loaded", "active": "active", "sub": "running", "enabled": "enabled", "main_pid": 812}}
users:
  description: Each asked user - C(uid), C(gid), C(group), C(home), C(shell) - or C(null).
  returned: always
  type: dict
  sample: {"mooncake": {"uid": 999, "gid": 999, "group": "mooncake", "home": "/nonexistent", "shell": "/usr/sbin/nologin"}}
groups:
  description: Each asked group - C(gid) - or C(null).
  returned: always
  type: dict
  sample: {"mooncake": {"gid": 999}}
read:
  description: Each asked file's text, or C(null) when it is missing.
  returned: always
  type: dict
  sample: {"/etc/mooncake-etcd/peer-url": "http://10.231.0.11:2380\n"}
reused:
  description: Whether the answer was taken from O(reuse) instead of reading the host.
  returned: always
  type: bool
  sample: true
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.mooncake.deploy.plugins.module_utils import host_state

DPKG_FORMAT = "${Package}\t${db:Status-Status}\t${Version}\n"
RPM_FORMAT = "%{NAME}\t%{VERSION}-%{RELEASE}\n"


def read_packages(module, names):
    if not names:
        return {}
    dpkg = module.get_bin_path("dpkg-query")
    if dpkg:
        # rc 1: some name is unknown to dpkg, i.e. not installed; those print nothing.
        rc, out, err = module.run_command([dpkg, "-W", "-f=" + DPKG_FORMAT] + names)
        if rc not in (0, 1):
            module.fail_json(msg="dpkg-query failed (rc %d): %s" % (rc, err.strip()))
        installed = host_state.parse_dpkg_query(out)
    else:
        rpm = module.get_bin_path("rpm")
        if not rpm:
            module.fail_json(msg="neither dpkg-query nor rpm is on this host: cannot read its packages")
        # rc = the number of packages not installed.
        rc, out, err = module.run_command([rpm, "-q", "--qf", RPM_FORMAT] + names)
        installed = host_state.parse_rpm_query(out)
    return dict((name, installed.get(name)) for name in names)


def read_units(module, names):
    if not names:
        return {}
    systemctl = module.get_bin_path("systemctl")
    if not systemctl:
        return {}
    shown = host_state.unit_states(host_state.systemctl_show(module, names, host_state.UNIT_PROPERTIES, systemctl))
    missing = {"load": "not-found", "active": "inactive", "sub": "dead", "enabled": "", "main_pid": 0}
    return dict((name, shown.get(name, missing)) for name in names)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            packages=dict(type="list", elements="str", default=[]),
            paths=dict(type="list", elements="path", default=[]),
            checksum=dict(type="bool", default=False),
            globs=dict(type="list", elements="str", default=[]),
            units=dict(type="list", elements="str", default=[]),
            users=dict(type="list", elements="str", default=[]),
            groups=dict(type="list", elements="str", default=[]),
            read=dict(type="list", elements="path", default=[]),
            # Handled by the action plugin; a call that reaches the host reads it.
            reuse=dict(type="raw"),
        ),
        supports_check_mode=True,
    )
    params = module.params
    try:
        read = dict((path, host_state.read_small(path)) for path in params["read"])
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(
        changed=False,
        packages=read_packages(module, params["packages"]),
        paths=dict((path, host_state.path_state(path, params["checksum"])) for path in params["paths"]),
        globs=dict((pattern, host_state.glob_paths(pattern)) for pattern in params["globs"]),
        units=read_units(module, params["units"]),
        users=dict((name, host_state.user_state(name)) for name in params["users"]),
        groups=dict((name, host_state.group_state(name)) for name in params["groups"]),
        read=read,
    )


if __name__ == "__main__":
    main()
