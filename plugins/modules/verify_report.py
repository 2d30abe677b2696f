#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

# The work is done by the action plugin of the same name (plugins/action/verify_report.py), on
# the controller; this file holds its documentation.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: verify_report
short_description: Write the verification report on the controller - table, JSON and a picture
version_added: 0.1.0
author:
  - mooncake.deploy maintainers (!UNKNOWN)
description:
  - Writes, into O(dest) on the controller, the report the verify role assembled from
    M(mooncake.deploy.instance_status) - C(verify-report.txt) (the table of
    P(mooncake.deploy.verify_table#filter), then every failure), C(verify-report.json) (one
    entry per host with its instances) and C(deployment.svg) (the picture of
    P(mooncake.deploy.deployment_svg#filter)).
  - Runs in the controller's Ansible process (an action plugin), so the three files cost one
    task and no module process. Each file is replaced atomically.
  - Never reports a change - the report describes the hosts and changes none of them - and
    writes in check mode too.
options:
  dest:
    description: Directory on the controller; created when missing.
    type: path
    required: true
  report:
    description:
      - One entry per host - C(host), C(instances) (RV(mooncake.deploy.instance_status#module:instances))
        and C(failures) (RV(mooncake.deploy.instance_status#module:failures)).
    type: list
    elements: dict
    required: true
  etcd_hosts:
    description: The etcd members, each C({host, address}), drawn inside their hosts.
    type: list
    elements: dict
    default: []
  store:
    description:
      - The Store's section (filter C(mooncake.deploy.verify_store)) - masters, clients, objects
        put and read back, throughput. Written to C(verify-store.json) and appended to the text
        report; its failures count like the instances'.
    type: dict
    default: {}
  prometheus_targets:
    description:
      - A Prometheus file_sd document (filter C(mooncake.deploy.prometheus_targets)), written to
        C(prometheus-targets.json) so a Prometheus scrapes the deployment with one C(file_sd_configs) entry.
    type: list
    elements: dict
    default: []
  sockets:
    description:
      - Per host, the listening sockets of the collection's units (filter
        C(mooncake.deploy.verify_sockets)), each flagged when any host of the network reaches it;
        listed in the text report and written to C(verify-sockets.json). Flags are findings, not
        failures.
    type: list
    elements: dict
    default: []
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
attributes:
  action:
    support: full
  async:
    support: none
  bypass_host_loop:
    support: none
  check_mode:
    support: full
    details: Writes the report in check mode too (it describes the hosts as they are).
  diff_mode:
    support: none
  platform:
    platforms: posix
    details: Runs on the controller.
seealso:
  - module: mooncake.deploy.instance_status
  - plugin: mooncake.deploy.verify_table
    plugin_type: filter
  - plugin: mooncake.deploy.deployment_svg
    plugin_type: filter
"""

EXAMPLES = r"""
- name: Write the report
  mooncake.deploy.verify_report:
    dest: "{{ playbook_dir }}/reports"
    report:
      - host: node1
        instances: "{{ status.instances }}"
        failures: "{{ status.failures }}"
    etcd_hosts: [{host: etcd1, address: 10.0.0.10}]
  run_once: true
  register: written

- name: Show it
  ansible.builtin.debug:
    msg: "{{ written.lines }}"
  run_once: true
"""

RETURN = r"""
lines:
  description: The table, header first, one line per instance.
  returned: always
  type: list
  elements: str
failures:
  description: Every failure of every host.
  returned: always
  type: list
  elements: str
files:
  description: The files written.
  returned: always
  type: list
  elements: path
  sample: [/srv/reports/deployment.svg, /srv/reports/verify-report.json, /srv/reports/verify-report.txt]
"""
