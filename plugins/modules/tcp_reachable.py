#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: tcp_reachable
short_description: Check that this host can open TCP connections to endpoints
author:
  - mooncake.deploy maintainers (!UNKNOWN)
version_added: 0.1.0
description:
  - Opens one TCP connection to each endpoint from the managed host, all at once, and reports
    C(open), C(refused) (the host answered, nothing listens), C(timeout), C(unreachable) or
    C(unresolved) for each.
  - Used before a deploy to catch a C(metadata_server) the host cannot reach. An endpoint this
    run is about to start (an etcd member of the inventory) may answer C(refused).
  - Read-only; never reports a change. Sends nothing but the TCP handshake.
options:
  endpoints:
    description: The endpoints to try.
    type: list
    elements: dict
    required: true
    suboptions:
      host:
        description: Name or IP address.
        type: str
        required: true
      port:
        description: TCP port.
        type: int
        required: true
      label:
        description: Put in front of this endpoint's problem, e.g. C(host node1, instance 'prefill').
        type: str
      refused_ok:
        description: Accept C(refused) too (the service is about to be started).
        type: bool
        default: false
  timeout:
    description: Seconds to wait for each connection.
    type: float
    default: 3
  fail_on_unreachable:
    description: Fail when an endpoint is not reachable. With C(false), report only.
    type: bool
    default: true
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: The module only opens and closes connections, so check mode runs the same checks.
  diff_mode:
    support: none
  platform:
    platforms: posix
"""

EXAMPLES = r"""
- name: The instances' etcd answers from this host
  mooncake.deploy.tcp_reachable:
    endpoints:
      - host: 10.0.0.11
        port: 2379
        label: "instance 'prefill' metadata_server"
"""

RETURN = r"""
results:
  description: One entry per endpoint, with C(status), C(detail) and C(ok).
  returned: always
  type: list
  elements: dict
  sample:
    - {host: 10.0.0.11, port: 2379, status: open, detail: accepts connections, ok: true}
failures:
  description: The problems found, one sentence each.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.mooncake.deploy.plugins.module_utils.reachability import probe_all


def main():
    module = AnsibleModule(
        argument_spec=dict(
            endpoints=dict(
                type="list",
                elements="dict",
                required=True,
                options=dict(
                    host=dict(type="str", required=True),
                    port=dict(type="int", required=True),
                    label=dict(type="str"),
                    refused_ok=dict(type="bool", default=False),
                ),
            ),
            timeout=dict(type="float", default=3.0),
            fail_on_unreachable=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    results, failures = probe_all(module.params["endpoints"], module.params["timeout"])
    outcome = dict(changed=False, results=results, failures=failures)
    if failures and module.params["fail_on_unreachable"]:
        module.fail_json(msg="; ".join(failures), **outcome)
    module.exit_json(**outcome)


if __name__ == "__main__":
    main()
