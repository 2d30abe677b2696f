#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: etcd_info
short_description: Report etcd's health and members and the Mooncake transfer engine's metadata in it
version_added: 0.1.0
author:
  - mooncake.deploy maintainers (!UNKNOWN)
description:
  - Probes every etcd endpoint given and reports whether it answers (with the error when it does not), the
    etcd version and the leader's member id.
  - Through the first endpoint that answers, lists the cluster's members and the metadata the Mooncake
    transfer engine keeps in etcd, grouped per segment (an instance's C(local_hostname), C(ip:port)) -
    C(mooncake/rpc_meta/<segment>) (where peers connect for RPC) and C(mooncake/ram/<segment>) (the data
    port and the registered buffers).
  - These keys have no lease - an instance killed with SIGKILL leaves them behind and peers then get
    C(Connection refused) on its dead port. Compare RV(segments) with the instances that run, and remove
    stale ones with M(mooncake.deploy.mooncake_metadata).
  - Fails, naming every endpoint and its error, when no endpoint answers.
  - Read-only; never reports a change.
options: {}
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - mooncake.deploy.etcd
attributes:
  check_mode:
    support: full
    details: The module only reads from etcd, so check mode runs the same queries.
  diff_mode:
    support: none
  platform:
    platforms: posix
notes:
  - TLS - give O(ca_cert) with https endpoints, and O(client_cert)/O(client_key) when etcd requires client
    certificates (C(--client-cert-auth)).
  - Debian and Ubuntu package the client as C(python3-etcd3) for the system Python (C(/usr/bin/python3)).
    PyPI's C(etcd3) 0.12 only imports with protobuf 4 or later when C(PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION=python)
    is set in the task's environment.
requirements:
  - etcd3 (the Python client for etcd's v3 API)
"""

EXAMPLES = r"""
- name: What is in etcd
  mooncake.deploy.etcd_info:
    endpoints:
      - http://10.0.0.1:2379
  register: etcd

- name: The prefill instance is registered
  ansible.builtin.assert:
    that:
      - "'10.0.0.5:15624' in etcd.segments"
      - etcd.segments['10.0.0.5:15624'].rpc_meta.rpc_port == 15624

- name: With PyPI's etcd3 and a current protobuf
  mooncake.deploy.etcd_info:
    endpoints: [http://127.0.0.1:2379]
  environment:
    PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION: python
"""

RETURN = r"""
endpoint:
  description: The endpoint the members and keys were read through (the first one that answered).
  returned: always
  type: str
  sample: http://10.0.0.1:2379
health:
  description: One entry per endpoint given, in order.
  returned: always
  type: list
  elements: dict
  contains:
    endpoint:
      description: The endpoint, normalized.
      type: str
      sample: http://10.0.0.1:2379
    status:
      description: C(ok) when it answered etcd's status request, C(error) otherwise.
      type: str
      sample: ok
    error:
      description: Why it did not answer; null when it did.
      type: str
      sample: "ConnectionFailedError: etcd connection failed (failed to connect to all addresses; ... Connection refused)"
    version:
      description: The etcd server version; null on error.
      type: str
      sample: 3.4.23
    leader_id:
      description: The leader's member id as this endpoint sees it; null on error or without a leader.
      type: int
      sample: 13458989633860879742
leader_id:
  description: The leader's member id, from the endpoint the module read through; null when there is none.
  returned: always
  type: int
  sample: 13458989633860879742
members:
  description: The cluster's members.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Member id.
      type: int
    name:
      description: Member name (C(--name)); empty for a member added but not started.
      type: str
    peer_urls:
      description: Its advertised peer URLs.
      type: list
      elements: str
    client_urls:
      description: Its advertised client URLs (C(--advertise-client-urls)).
      type: list
      elements: str
  sample:
    - id: 13458989633860879742
      name: node1
      peer_urls: [http://10.0.0.1:2380]
      client_urls: [http://10.0.0.1:2379]
segments:
  description:
    - The transfer engine's segments, keyed by segment name (C(ip:port)).
    - C(rpc_meta) is C(mooncake/rpc_meta/<segment>) decoded (C(ip_or_host_name), C(rpc_port)); C(ram) summarizes
      C(mooncake/ram/<segment>) (C(name), C(protocol), C(tcp_data_host), C(tcp_data_port), C(timestamp) and the
      number of C(buffers) and RDMA C(devices)). Either is null when its key is missing or is not a JSON object.
    - C(problems) names missing keys and values that do not decode.
  returned: always
  type: dict
  sample:
    "127.0.0.1:15624":
      name: "127.0.0.1:15624"
      rpc_meta: {ip_or_host_name: 127.0.0.1, rpc_port: 15624}
      ram: {name: "127.0.0.1:15624", protocol: tcp, tcp_data_host: 127.0.0.1, tcp_data_port: 16344,
            buffers: 1, devices: 0, timestamp: "2026-11-25 10:25:55.902933"}
      problems: []
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.mooncake.deploy.plugins.module_utils import etcd_client


def main():
    module = AnsibleModule(
        argument_spec=dict(
            endpoints=dict(type="list", elements="str", required=True),
            timeout=dict(type="int", default=etcd_client.DEFAULT_TIMEOUT),
            **etcd_client.TLS_ARGUMENT_SPEC
        ),
        supports_check_mode=True,
    )
    etcd_client.require_etcd3(module)
    try:
        tls = etcd_client.tls_options(module.params)
        endpoints = etcd_client.parse_endpoints(module.params["endpoints"], bool(tls))
    except etcd_client.EtcdError as exc:
        module.fail_json(msg=str(exc))
    healths, client, url, leader_id, members, segments = [], None, None, None, [], {}
    try:
        client, url, healths = etcd_client.connect(
            [e["url"] for e in endpoints], module.params["timeout"], probe_all=True, tls=tls)
        leader_id = next((h["leader_id"] for h in healths if h["endpoint"] == url), None)
        members = etcd_client.members(client)
        items = etcd_client.read_prefix(client, etcd_client.RPC_META_PREFIX)
        items += etcd_client.read_prefix(client, etcd_client.RAM_PREFIX)
        segments = etcd_client.group_segments(items)
    except etcd_client.EtcdError as exc:
        module.fail_json(msg=str(exc), changed=False, health=exc.health or healths)
    except Exception as exc:  # pylint: disable=broad-except
        module.fail_json(msg="reading etcd failed: %s" % etcd_client.describe_error(exc), changed=False, health=healths)
    finally:
        etcd_client.close(client)
    module.exit_json(changed=False, endpoint=url, health=healths, leader_id=leader_id,
                     members=members, segments=segments)


if __name__ == "__main__":
    main()
