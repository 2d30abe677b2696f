#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: instance_status
short_description: Check a host's transfer-engine instances - units, ports, etcd and real transfers
version_added: 0.1.0
author:
  - mooncake.deploy maintainers (!UNKNOWN)
description:
  - One call checks every instance of a host, so a verification costs one task per host.
  - For each instance - its unit C(mooncake-instance@NAME.service) is active (one
    C(systemctl show) for all units); its port is listened on by that unit's process (procfs,
    as M(mooncake.deploy.port_bindings)); its segment is registered in etcd (through the v3
    JSON gateway of the first endpoint that answers) with C(mooncake/rpc_meta/SEGMENT) naming
    the instance's address and port, and C(mooncake/ram/SEGMENT) present. An agent on
    C(P2PHANDSHAKE) has no fixed port and no registration - its agent says which port its engine
    picked, and that port is checked.
  - Each instance with O(instances[].role=prefill) and O(instances[].transfers=true) then asks
    its agent, through the agent's control socket, to write O(transfer_size) random bytes into
    each of the O(peers) on the same metadata server and read them back, compared byte for byte, and reports the
    throughput. Transfers run one after the other.
  - Read-only for the deployment; never reports a change. A failed check is reported in
    RV(failures), not as a module failure (the caller decides).
options:
  host:
    description: Inventory name of the host, used in the failure sentences.
    type: str
    required: true
  instances:
    description: The host's instances, as planned by the instances role.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Instance name (unit C(mooncake-instance@NAME.service)).
        type: str
        required: true
      port:
        description: The port the instance listens on and registers. Required unless O(instances[].p2p=true).
        type: int
      address:
        description: The address the instance advertises.
        type: str
        required: true
      segment:
        description: The segment name in the metadata server, C(address:port).
        type: str
        required: true
      role:
        description: C(prefill) instances transfer to the O(peers).
        type: str
        default: other
      metadata_server:
        description: C(etcd://host:port[,host:port]); any other kind is not checked (its C(etcd.ok) is null).
        type: str
        default: ''
      control_socket:
        description: The agent's control socket. Default C(/run/mooncake-NAME/control.sock).
        type: str
      transfers:
        description: The instance runs the default agent (no own C(command)), which can transfer.
        type: bool
        default: true
      p2p:
        description:
          - The agent runs on C(P2PHANDSHAKE) - it has no fixed port. Its agent is asked (ping) which port its
            engine picked from its range; that port is the one checked, and RV(instances[].segment) is
            C(address:that port).
        type: bool
        default: false
  peers:
    description: The instances every prefill instance transfers into (usually every decode instance of the play).
    type: list
    elements: dict
    default: []
    suboptions:
      host:
        description: Inventory name of the peer's host.
        type: str
        required: true
      name:
        description: The peer instance's name.
        type: str
        required: true
      segment:
        description:
          - The peer's segment, C(address:port) (on P2PHANDSHAKE the port its engine picked). Empty when
            it is not known - a transfer into it is then reported failed with O(peers[].problem).
        type: str
      metadata_server:
        description:
          - The peer's metadata server. A prefill transfers only into peers its engine can find - the same
            server, or an etcd with a member in common; empty means the prefill's own.
        type: str
        default: ''
      problem:
        description: Why the peer's segment is not known (shown in the failure).
        type: str
  transfer_size:
    description: Bytes per transfer; at most half the prefill agent's buffer.
    type: int
    default: 67108864
  transfer_rounds:
    description: Write and read rounds per pair; the throughput is the best round's.
    type: int
    default: 1
  timeout:
    description: Seconds to wait for an etcd endpoint.
    type: float
    default: 5
  transfer_timeout:
    description: Seconds to wait for one pair's transfers.
    type: float
    default: 300
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Every check runs except the transfers, which are not tried (RV(instances[].transfers) is empty).
  diff_mode:
    support: none
  platform:
    platforms: linux
notes:
  - Run as root, to see which process holds each port and to reach the agents' sockets.
  - Transfers into one decode instance land at the same address of its memory, so two hosts
    must not run this module's transfers at the same time (the verify role uses C(throttle=1)).
seealso:
  - module: mooncake.deploy.port_bindings
  - module: mooncake.deploy.etcd_info
"""

EXAMPLES = r"""
- name: Check the instances of this host and transfer from its prefill into every decode
  mooncake.deploy.instance_status:
    host: "{{ inventory_hostname }}"
    instances:
      - {name: prefill, role: prefill, port: 15624, address: 10.0.0.11, segment: "10.0.0.11:15624",
         metadata_server: "etcd://10.0.0.10:2379"}
      - {name: decode, role: decode, port: 15625, address: 10.0.0.11, segment: "10.0.0.11:15625",
         metadata_server: "etcd://10.0.0.10:2379"}
    peers:
      - {host: node1, name: decode, segment: "10.0.0.11:15625"}
      - {host: node2, name: decode, segment: "10.0.0.12:15625"}
  register: status
  throttle: 1

- name: Fail on any problem
  ansible.builtin.assert:
    that: status.failures | length == 0
    fail_msg: "{{ status.failures | join('\n') }}"
"""

RETURN = r"""
instances:
  description: One entry per instance, in the order given.
  returned: always
  type: list
  elements: dict
  contains:
    host:
      description: The host (O(host)).
      type: str
    instance:
      description: The instance name.
      type: str
    role:
      description: Its role.
      type: str
    segment:
      description: Its segment.
      type: str
    metadata_server:
      description: Its metadata server (O(instances[].metadata_server)).
      type: str
    unit:
      description: The unit's C(Id), C(LoadState), C(ActiveState), C(SubState), C(MainPID) and C(NRestarts).
      type: dict
    unit_ok:
      description: The unit is active.
      type: bool
    port:
      description: C(ok), C(problem) and the C(holders) of the port (address, pid, command, unit).
      type: dict
    etcd:
      description:
        - C(ok) (null for a metadata server other than etcd), C(problem), C(rpc_meta) (the
          decoded value of C(mooncake/rpc_meta/SEGMENT)) and C(ram) (that key exists).
      type: dict
    transfers:
      description: One per peer - C(peer) (host/name), C(segment), C(ok) and the agent's C(result) (bytes, match, GiB/s).
      type: list
      elements: dict
  sample:
    - host: node1
      instance: prefill
      role: prefill
      segment: 10.0.0.11:15624
      unit: {Id: mooncake-instance@prefill.service, ActiveState: active, SubState: running, MainPID: "812", NRestarts: "0"}
      unit_ok: true
      port: {ok: true, problem: null, holders: [{address: 0.0.0.0, pid: 812, command: "/opt/mooncake/venv/bin/python ...",
             unit: mooncake-instance@prefill.service}]}
      etcd: {ok: true, problem: null, rpc_meta: {ip_or_host_name: 10.0.0.11, rpc_port: 15624}, ram: true}
      transfers:
        - peer: node2/decode
          segment: 10.0.0.12:15625
          ok: true
          result: {ok: true, match: true, bytes: 67108864, rounds: 3, write_gib_per_s: 1.2, read_gib_per_s: 1.1}
failures:
  description: Every failed check, one sentence each, naming host, instance and what is wrong.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.mooncake.deploy.plugins.module_utils.instance_status import (
    UNIT_PROPERTIES, RAM_PREFIX, RPC_META_PREFIX, agent_request, etcd_endpoints, etcd_get, instance_failures,
    judge_registration, judge_transfer, port_entry, reachable_peers, unit_name)
from ansible_collections.mooncake.deploy.plugins.module_utils.systemctl import systemctl_show
from ansible_collections.mooncake.deploy.plugins.module_utils.sockets import check_expectations, read_listeners


def unit_states(module, instances):
    if not instances:
        return {}
    return systemctl_show(module, [unit_name(i["name"]) for i in instances], UNIT_PROPERTIES)


def registration(instance, timeout):
    endpoints = etcd_endpoints(instance["metadata_server"])
    if not endpoints:
        return {"ok": None, "problem": None, "rpc_meta": None, "ram": None}
    rpc_meta, error = etcd_get(endpoints, RPC_META_PREFIX + instance["segment"], timeout)
    ram = None
    if not error:
        ram, error = etcd_get(endpoints, RAM_PREFIX + instance["segment"], timeout)
    return judge_registration(instance, rpc_meta, ram, error)


def control_socket(instance):
    return instance["control_socket"] or "/run/mooncake-%s/control.sock" % instance["name"]


def transfers(module, instance):
    params = module.params
    if module.check_mode or instance["role"] != "prefill" or not instance["transfers"]:
        return []
    done = []
    for peer in reachable_peers(instance, params["peers"]):
        if not peer["segment"]:
            done.append(judge_transfer(peer, {"ok": False, "error": "its segment is unknown: %s" % (peer["problem"] or "no reply")}))
            continue
        request = {"op": "transfer", "peer": peer["segment"], "size": params["transfer_size"],
                   "rounds": params["transfer_rounds"]}
        done.append(judge_transfer(peer, agent_request(control_socket(instance), request, params["transfer_timeout"])))
    return done


def p2p_port(module, instance):
    """(port, segment, problem) of an agent on P2PHANDSHAKE: the port its engine picked, from its ping."""
    reply = agent_request(control_socket(instance), {"op": "ping"}, module.params["timeout"])
    if not reply.get("ok") or not reply.get("rpc_port"):
        return None, instance["segment"], "its agent did not say which port its engine picked: %s" % (reply.get("error") or reply)
    return int(reply["rpc_port"]), reply.get("segment") or "%s:%s" % (instance["address"], reply["rpc_port"]), None


def main():
    module = AnsibleModule(
        argument_spec=dict(
            host=dict(type="str", required=True),
            instances=dict(
                type="list", elements="dict", default=[],
                options=dict(
                    name=dict(type="str", required=True),
                    port=dict(type="int"),
                    address=dict(type="str", required=True),
                    segment=dict(type="str", required=True),
                    role=dict(type="str", default="other"),
                    metadata_server=dict(type="str", default=""),
                    control_socket=dict(type="str"),
                    transfers=dict(type="bool", default=True),
                    p2p=dict(type="bool", default=False),
                ),
                required_if=[("p2p", False, ("port",))],
            ),
            peers=dict(
                type="list", elements="dict", default=[],
                options=dict(
                    host=dict(type="str", required=True),
                    name=dict(type="str", required=True),
                    segment=dict(type="str"),
                    metadata_server=dict(type="str", default=""),
                    problem=dict(type="str"),
                ),
            ),
            transfer_size=dict(type="int", default=67108864),
            transfer_rounds=dict(type="int", default=1),
            timeout=dict(type="float", default=5),
            transfer_timeout=dict(type="float", default=300),
        ),
        supports_check_mode=True,
    )
    host, instances = module.params["host"], module.params["instances"]
    units = unit_states(module, instances)
    # An agent on P2PHANDSHAKE has no fixed port: its engine's handshake port is checked instead.
    picked = [p2p_port(module, i) if i["p2p"] else (i["port"], i["segment"], None) for i in instances]
    # Only known ports are looked up; an agent that did not say its port keeps its problem.
    known = [(i["name"], port) for i, (port, _segment, problem) in zip(instances, picked) if problem is None]
    port_results, _port_failures = check_expectations(
        read_listeners(), [{"port": port, "unit": unit_name(name)} for name, port in known])
    port_checks = dict((name, port_entry(result)) for (name, _port), result in zip(known, port_results))
    entries, failures = [], []
    for instance, (_port, segment, problem) in zip(instances, picked):
        unit = units.get(unit_name(instance["name"]), {})
        entry = {
            "host": host, "instance": instance["name"], "role": instance["role"], "segment": segment,
            "metadata_server": instance["metadata_server"], "unit": unit, "unit_ok": unit.get("ActiveState") == "active",
            "port": port_checks.get(instance["name"]) or {"ok": False, "problem": problem, "holders": []},
            "etcd": registration(instance, module.params["timeout"]),
            "transfers": transfers(module, instance),
        }
        entries.append(entry)
        failures.extend(instance_failures(host, entry))
    module.exit_json(changed=False, instances=entries, failures=failures)


if __name__ == "__main__":
    main()
