#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: ibv_devices_info
short_description: Report the host's RDMA devices, ports and GIDs, and the GID index RoCE v2 should use
version_added: 0.1.0
author:
  - mooncake.deploy maintainers (!UNKNOWN)
description:
  - Reports the RDMA devices of the host (name, node GUID, transport), their ports (state,
    physical state, link layer, MTU, width, speed) and the non-zero entries of each port's GID
    table (index, GID, type C(RoCE v1), C(RoCE v2) or C(IB), network device).
  - Reads them through pyverbs when it imports in the Python that runs the module, otherwise by
    parsing C(ibv_devinfo -v) and C(ibv_devices) (rdma-core's utilities). RV(source) says which.
    Whatever that source does not report (older C(ibv_devinfo) prints no GID type, and it prints no
    network device) is completed from C(/sys/class/infiniband) when it is readable.
  - For every port, suggests the GID index a RoCE v2 deployment should use (C(MC_GID_INDEX) for
    the Mooncake transfer engine, C(NCCL_IB_GID_INDEX), C(ib_write_bw -x)) and says why; a wrong
    index is a top cause of all-zero GIDs and queue pairs that never reach RTR.
  - Says RV(available=false) with the reason when the host has no RDMA support at all (no
    InfiniBand support in the kernel, or neither pyverbs nor the rdma-core utilities installed).
    A kernel with RDMA support and no device gives RV(available=true) and no devices.
  - Optionally requires devices (or single ports) by name, active ports and a link layer, and fails
    with a message that names what is missing and what was found.
  - Read-only; never reports a change.
options:
  require_devices:
    description:
      - Devices that must exist, by name (C(mlx5_0)) or as C(name:port) (C(mlx5_0:1)) to name one port.
      - The other requirements apply to the ports of these devices; with none named, to every port found.
    type: list
    elements: str
    default: []
  require_active:
    description: Every checked port must be in state C(ACTIVE).
    type: bool
    default: false
  require_link_layer:
    description: Every checked port must have this link layer (C(Ethernet) is RoCE).
    type: str
    choices: [InfiniBand, Ethernet]
  use_pyverbs:
    description:
      - Try pyverbs first. With C(false), or when pyverbs does not import, parse the rdma-core utilities.
    type: bool
    default: true
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: The module only queries devices and reads sysfs, so check mode runs the same queries.
  diff_mode:
    support: none
  platform:
    platforms: linux
notes:
  - pyverbs is optional. Debian and Ubuntu package it as C(python3-pyverbs) for the system Python only, so it
    is used when the module runs under that interpreter; otherwise RV(pyverbs_error) says why it did not import.
  - The fallback needs C(ibv_devinfo) and C(ibv_devices) from C(ibverbs-utils) (Debian, Ubuntu) or
    C(libibverbs-utils) (RHEL, Fedora).
  - Unused (all-zero) GID entries are left out.
requirements:
  - pyverbs, or the rdma-core utilities ibv_devinfo and ibv_devices
"""

EXAMPLES = r"""
- name: What RDMA does this host have
  mooncake.deploy.ibv_devices_info:
  register: rdma

- name: Use the GID index the module suggests for the transfer engine
  ansible.builtin.set_fact:
    mooncake_gid_index: "{{ rdma.devices | selectattr('name', 'equalto', 'mlx5_0') | map(attribute='ports')
                            | flatten | map(attribute='suggested_gid_index') | first }}"
  when: rdma.available

- name: The RoCE NIC the instances use must be up
  mooncake.deploy.ibv_devices_info:
    require_devices: [mlx5_0:1]
    require_active: true
    require_link_layer: Ethernet
"""

RETURN = r"""
available:
  description: Whether the host has RDMA support (a kernel with RDMA and a way to query it).
  returned: always
  type: bool
  sample: true
reason:
  description: Why RDMA is unavailable; null when it is available.
  returned: always
  type: str
  sample: "no RDMA support in this kernel: ibv_devices exited 1: Failed to get IB devices list: Function not implemented"
source:
  description: Where the devices came from, C(pyverbs), C(ibv_devinfo) or C(none).
  returned: always
  type: str
  sample: ibv_devinfo
pyverbs_error:
  description: Why pyverbs was not the source (it did not import, or it raised); null when it was.
  returned: always
  type: str
  sample: "pyverbs did not import: ModuleNotFoundError: No module named 'pyverbs' (Debian/Ubuntu ship it as python3-pyverbs, for the system Python only)"
sysfs_used:
  description: Whether sysfs supplied a link layer, GID, GID type or network device that the source lacked.
  returned: always
  type: bool
devices:
  description: The RDMA devices.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Device name (C(hca_id)).
      type: str
      sample: mlx5_0
    node_guid:
      description: Node GUID, four groups of four hex digits.
      type: str
      sample: "08c0:eb03:00da:e2e6"
    transport:
      description: Transport, C(InfiniBand) for both InfiniBand and RoCE devices, C(iWARP), ...
      type: str
    ports:
      description: The device's ports.
      type: list
      elements: dict
      contains:
        port:
          description: Port number.
          type: int
        state:
          description: C(DOWN), C(INIT), C(ARMED), C(ACTIVE) or C(ACTIVE_DEFER).
          type: str
        phys_state:
          description: Physical state, e.g. C(LINK_UP), C(POLLING), C(DISABLED).
          type: str
        link_layer:
          description: C(InfiniBand) or C(Ethernet) (RoCE); null when unknown.
          type: str
        active_mtu:
          description: Active MTU in bytes.
          type: int
        active_width:
          description: Active link width, e.g. C(4X); null when unknown.
          type: str
        active_speed:
          description: Active per-lane speed, e.g. C(25.0 Gbps); null when unknown.
          type: str
        rate_gbps:
          description: Width times speed; null when either is unknown.
          type: float
        gids:
          description: Non-zero GID entries with C(index), C(gid), C(address), C(ipv4) (for IPv4-mapped GIDs),
            C(type) (C(RoCE v1), C(RoCE v2), C(IB) or null) and C(netdev).
          type: list
          elements: dict
        suggested_gid_index:
          description: The GID index a RoCE v2 deployment should use; null when none is needed or none fits.
          type: int
        suggested_gid_reason:
          description: Why that index, or why none.
          type: str
failures:
  description: The requirements that do not hold, one sentence each.
  returned: always
  type: list
  elements: str
notes:
  description: Things worth knowing that are not failures (a tool that exited non-zero, a device only one tool listed).
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.mooncake.deploy.plugins.module_utils import ibverbs

SYSFS_ROOT = ibverbs.SYSFS_ROOT


def main():
    module = AnsibleModule(
        argument_spec=dict(
            require_devices=dict(type="list", elements="str", default=[]),
            require_active=dict(type="bool", default=False),
            require_link_layer=dict(type="str", choices=["InfiniBand", "Ethernet"]),
            use_pyverbs=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    result = ibverbs.gather(
        module.run_command,
        module.get_bin_path,
        use_pyverbs=module.params["use_pyverbs"],
        sysfs_root=SYSFS_ROOT,
    )
    failures = ibverbs.check_requirements(
        result,
        require_devices=module.params["require_devices"],
        require_active=module.params["require_active"],
        require_link_layer=module.params["require_link_layer"],
    )
    outcome = dict(result, changed=False, failures=failures)
    if failures:
        module.fail_json(msg="; ".join(failures), **outcome)
    module.exit_json(**outcome)


if __name__ == "__main__":
    main()
