#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: mooncake_metadata
short_description: Remove a Mooncake transfer engine segment's stale metadata from etcd
version_added: 0.1.0
author:
  - mooncake.deploy maintainers (!UNKNOWN)
description:
  - The transfer engine registers each instance in etcd under its segment name (its C(local_hostname),
    C(ip:port)) as two keys, C(mooncake/rpc_meta/<segment>) and C(mooncake/ram/<segment>). The keys have
    no lease, so an instance killed with SIGKILL (or lost with its host) leaves them behind, and peers
    keep connecting to its dead port and get C(Connection refused).
  - With O(state=absent), deletes both keys of the segment, through the first etcd endpoint that answers.
    Reports a change only when at least one of them existed.
  - Fails, naming every endpoint and its error, when no endpoint answers.
options:
  segment:
    description: The segment, C(ip:port), exactly as the instance's C(local_hostname).
    type: str
    required: true
  state:
    description: C(absent) removes the segment's keys; it is the only state.
    type: str
    choices: [absent]
    default: absent
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - mooncake.deploy.etcd
attributes:
  check_mode:
    support: full
    details: Reads the keys and reports the change and the diff without deleting anything.
  diff_mode:
    support: full
    details: C(before) holds the segment's keys and their values, C(after) is empty.
  platform:
    platforms: posix
notes:
  - The keys are deleted whether or not the instance still runs, and a running instance is then unreachable
    until it restarts. Stop the instance first, or check that nothing holds its port (M(mooncake.deploy.port_bindings)).
  - TLS - give O(ca_cert) with https endpoints, and O(client_cert)/O(client_key) when etcd requires client
    certificates (C(--client-cert-auth)).
  - Debian and Ubuntu package the client as C(python3-etcd3) for the system Python (C(/usr/bin/python3)).
    PyPI's C(etcd3) 0.12 only imports with protobuf 4 or later when C(PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION=python)
    is set in the task's environment.
requirements:
  - etcd3 (the Python client for etcd's v3 API)
seealso:
  - module: mooncake.deploy.etcd_info
"""

EXAMPLES = r"""
- name: Remove what the killed prefill instance left in etcd
  mooncake.deploy.mooncake_metadata:
    endpoints: [http://10.0.0.1:2379]
    segment: 10.0.0.5:15624
    state: absent

- name: Remove every segment whose instance is not running here (the list comes from your inventory)
  mooncake.deploy.mooncake_metadata:
    endpoints: [http://10.0.0.1:2379]
    segment: "{{ item }}"
  loop: "{{ etcd.segments | list | difference(running_segments) }}"
"""

RETURN = r"""
endpoint:
  description: The endpoint the keys were read and deleted through (the first one that answered).
  returned: always
  type: str
  sample: http://10.0.0.1:2379
segment:
  description: The segment.
  returned: always
  type: str
  sample: 10.0.0.5:15624
keys:
  description: The keys that existed and were deleted (in check mode, would be deleted).
  returned: always
  type: list
  elements: str
  sample: [mooncake/rpc_meta/10.0.0.5:15624, mooncake/ram/10.0.0.5:15624]
health:
  description: The endpoints probed up to the first that answered, each with C(endpoint), C(status) (C(ok) or
    C(error)), C(error), C(version) and C(leader_id).
  returned: always
  type: list
  elements: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.mooncake.deploy.plugins.module_utils import etcd_client


def main():
    module = AnsibleModule(
        argument_spec=dict(
            endpoints=dict(type="list", elements="str", required=True),
            segment=dict(type="str", required=True),
            state=dict(type="str", choices=["absent"], default="absent"),
            timeout=dict(type="int", default=etcd_client.DEFAULT_TIMEOUT),
            **etcd_client.TLS_ARGUMENT_SPEC
        ),
        supports_check_mode=True,
    )
    etcd_client.require_etcd3(module)
    try:
        tls = etcd_client.tls_options(module.params)
        endpoints = etcd_client.parse_endpoints(module.params["endpoints"], bool(tls))
        segment = etcd_client.parse_segment(module.params["segment"])
    except etcd_client.EtcdError as exc:
        module.fail_json(msg=str(exc))
    healths, client, url, before, deleted = [], None, None, {}, []
    try:
        client, url, healths = etcd_client.connect([e["url"] for e in endpoints], module.params["timeout"], tls=tls)
        for key in etcd_client.segment_keys(segment):
            raw, _meta = client.get(key)
            if raw is not None:
                before[key] = etcd_client.decode_value(raw)[0]
        if before and not module.check_mode:
            for key in before:
                client.delete(key)
                deleted.append(key)
    except etcd_client.EtcdError as exc:
        module.fail_json(msg=str(exc), changed=False, segment=segment, health=exc.health or healths)
    except Exception as exc:  # pylint: disable=broad-except
        module.fail_json(msg="changing etcd through %s failed: %s" % (url, etcd_client.describe_error(exc)),
                         changed=bool(deleted), segment=segment, keys=deleted, health=healths)
    finally:
        etcd_client.close(client)
    result = dict(changed=bool(before), endpoint=url, segment=segment, keys=list(before), health=healths)
    if module._diff:
        result["diff"] = dict(before=before, after="",
                              before_header="etcd %s (%s)" % (url, segment), after_header="etcd %s (%s)" % (url, segment))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
