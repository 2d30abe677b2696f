#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: port_bindings
short_description: Check which process and systemd unit hold the ports you expect
version_added: 0.1.0
author:
  - mooncake.deploy maintainers (!UNKNOWN)
description:
  - Reads the host's listening TCP sockets (IPv4 and IPv6) from procfs and maps each one to
    the process and systemd unit that holds it.
  - Compares them with what you expect (a port listening and owned by a unit or a process, or
    a port free) and fails with a message that names who holds the port when they differ.
  - Read-only; never reports a change.
options:
  expect:
    description: What must be true of each port.
    type: list
    elements: dict
    default: []
    suboptions:
      port:
        description: The port.
        type: int
        required: true
      address:
        description:
          - The address it must be reachable on. A wildcard listener (0.0.0.0, ::) matches any
            address. Omit to accept any.
        type: str
      state:
        description:
          - C(listening) - something listens (the O(expect[].unit) or O(expect[].process) when given).
          - C(free) - nothing listens.
          - C(available) - nothing listens, or only the O(expect[].unit) or O(expect[].process)
            does. The check to run before deploying a service; it passes on a fresh host and
            on a converged one, and fails when a foreign process took the port.
        type: str
        choices: [listening, free, available]
        default: listening
      unit:
        description: The systemd unit that must hold the port, e.g. C(mooncake-instance@prefill.service).
        type: str
      process:
        description: The process name (comm) that must hold the port.
        type: str
      label:
        description: Put in front of this expectation's problem, e.g. C(host node1, instance 'prefill').
        type: str
      protocol:
        description: Only TCP is checked.
        type: str
        choices: [tcp]
        default: tcp
  fail_on_mismatch:
    description: Fail when an expectation does not hold. With C(false), report only.
    type: bool
    default: true
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: The module only reads procfs, so check mode runs the same checks.
  diff_mode:
    support: none
  platform:
    platforms: linux
notes:
  - Needs root to see the processes of other users.
  - Linux only; it reads C(/proc/net/tcp), C(/proc/net/tcp6) and C(/proc/PID/{fd,comm,cmdline,cgroup}).
"""

EXAMPLES = r"""
- name: The prefill instance owns its port
  mooncake.deploy.port_bindings:
    expect:
      - port: 15624
        unit: mooncake-instance@prefill.service

- name: Nobody holds the port we are about to use
  mooncake.deploy.port_bindings:
    expect:
      - port: 15625
        state: free

- name: Before a deploy - each port is free or already held by its own instance
  mooncake.deploy.port_bindings:
    expect:
      - port: 15624
        state: available
        unit: mooncake-instance@prefill.service
        label: instance 'prefill'
"""

RETURN = r"""
listeners:
  description: Every listening TCP socket, with the process holding it.
  returned: always
  type: list
  elements: dict
  sample:
    - protocol: tcp
      address: 0.0.0.0
      port: 15624
      process: {pid: 812, name: python, cmdline: "/opt/mooncake/venv/bin/python ...", unit: mooncake-instance@prefill.service}
results:
  description: One entry per expectation, with C(ok), C(problem) and the C(holders) of the port.
  returned: always
  type: list
  elements: dict
failures:
  description: The problems found, one sentence each.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.mooncake.deploy.plugins.module_utils.sockets import check_expectations, read_listeners


def main():
    module = AnsibleModule(
        argument_spec=dict(
            expect=dict(
                type="list",
                elements="dict",
                default=[],
                options=dict(
                    port=dict(type="int", required=True),
                    address=dict(type="str"),
                    state=dict(type="str", choices=["listening", "free", "available"], default="listening"),
                    unit=dict(type="str"),
                    process=dict(type="str"),
                    protocol=dict(type="str", choices=["tcp"], default="tcp"),
                    label=dict(type="str"),
                ),
            ),
            fail_on_mismatch=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    listeners = read_listeners()
    results, failures = check_expectations(listeners, module.params["expect"])
    outcome = dict(changed=False, listeners=listeners, results=results, failures=failures)
    if failures and module.params["fail_on_mismatch"]:
        module.fail_json(msg="; ".join(failures), **outcome)
    module.exit_json(**outcome)


if __name__ == "__main__":
    main()
