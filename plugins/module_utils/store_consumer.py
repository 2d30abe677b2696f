# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""What the Store's consumers on a serving host read, computed from the deployment.

- vLLM's ``MooncakeStoreConnector`` reads the JSON file named by ``MOONCAKE_CONFIG_PATH``:
  ``mode`` (``standalone-store``: the host's store clients own the memory pool and each rank
  only requests, with ``global_segment_size`` 0; ``embedded``: each rank gives
  ``global_segment_size`` to the pool itself), ``local_hostname``, ``metadata_server``,
  ``master_server_address``, ``global_segment_size``, ``local_buffer_size``, ``protocol``,
  ``device_name``.
- SGLang's HiCache (``--hicache-storage-backend mooncake``) reads ``MOONCAKE_*`` variables:
  ``MOONCAKE_MASTER``, ``MOONCAKE_TE_META_DATA_SERVER``, ``MOONCAKE_PROTOCOL``,
  ``MOONCAKE_DEVICE``, ``MOONCAKE_GLOBAL_SEGMENT_SIZE`` (per TP rank),
  ``MOONCAKE_LOCAL_BUFFER_SIZE``, ``MOONCAKE_LOCAL_HOSTNAME``.
Sizes are written in bytes: both read plain integers.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.mooncake.deploy.plugins.module_utils.instance_plan import master_address_ok
from ansible_collections.mooncake.deploy.plugins.module_utils.store_client_plan import parse_size
from ansible_collections.mooncake.deploy.plugins.module_utils.unit_syntax import env_value

MODES = ("auto", "standalone-store", "embedded")


def consumer_configs(host, settings):
    """``{errors, vllm, sglang_env}`` for the serving host ``host``.

    settings: address, master_server_address, metadata_server, mode (auto: standalone-store
    when the host runs store clients), has_store_clients, global_segment_size (embedded mode),
    local_buffer_size, protocol, device_name."""
    errors = []
    where = "host %s" % host
    master = settings.get("master_server_address") or ""
    if not master_address_ok(master):
        errors.append("%s: the Store consumers need a master: mooncake_instances_store_master_server_address %r must be "
                      "IP:PORT or etcd://IP:PORT[;IP:PORT]" % (where, master))
    mode = settings.get("mode") or "auto"
    if mode not in MODES:
        errors.append("%s: mooncake_instances_store_mode %r must be one of %s" % (where, mode, ", ".join(MODES)))
        mode = "auto"
    if mode == "auto":
        mode = "standalone-store" if settings.get("has_store_clients") else "embedded"
    sizes = {}
    for field in ("global_segment_size", "local_buffer_size"):
        sizes[field] = parse_size(settings.get(field))
        if sizes[field] is None:
            errors.append("%s: mooncake_instances_store_%s %r is not a size; write bytes or e.g. '4 GB'"
                          % (where, field, settings.get(field)))
    if mode == "standalone-store":
        sizes["global_segment_size"] = 0
    elif sizes["global_segment_size"] == 0:
        errors.append("%s: mode embedded needs mooncake_instances_store_global_segment_size above 0 (each rank gives it "
                      "to the pool); with store clients on the host use mode standalone-store" % where)
    if not sizes["local_buffer_size"]:
        errors.append("%s: mooncake_instances_store_local_buffer_size must be above 0 (each rank's own buffer)" % where)
    protocol = settings.get("protocol") or "tcp"
    if protocol not in ("tcp", "rdma"):
        errors.append("%s: mooncake_instances_store_protocol %r must be tcp or rdma" % (where, protocol))
    device = settings.get("device_name") or ""
    if protocol == "rdma" and not device:
        errors.append("%s: mooncake_instances_store_protocol rdma needs mooncake_instances_store_device_name" % where)
    metadata = settings.get("metadata_server") or "P2PHANDSHAKE"
    vllm = {
        "mode": mode,
        "local_hostname": settings.get("address"),
        "metadata_server": metadata,
        "master_server_address": master,
        "global_segment_size": sizes["global_segment_size"] or 0,
        "local_buffer_size": sizes["local_buffer_size"] or 0,
        "protocol": protocol,
        "device_name": device,
    }
    sglang = [
        ("MOONCAKE_MASTER", master),
        ("MOONCAKE_TE_META_DATA_SERVER", metadata),
        ("MOONCAKE_LOCAL_HOSTNAME", settings.get("address") or ""),
        ("MOONCAKE_PROTOCOL", protocol),
        ("MOONCAKE_DEVICE", device),
        ("MOONCAKE_GLOBAL_SEGMENT_SIZE", str(vllm["global_segment_size"])),
        ("MOONCAKE_LOCAL_BUFFER_SIZE", str(vllm["local_buffer_size"])),
    ]
    return {"errors": errors, "vllm": vllm,
            "sglang_env": ["%s=%s" % (name, env_value(str(value))) for name, value in sglang]}
