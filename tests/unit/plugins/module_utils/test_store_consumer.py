# -*- coding: utf-8 -*-
"""What vLLM's MooncakeStoreConnector and SGLang's HiCache read on a serving host."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.mooncake.deploy.plugins.module_utils.store_consumer import consumer_configs

BASE = {"address": "10.231.4.12", "master_server_address": "etcd://10.231.4.11:2379", "metadata_server": "P2PHANDSHAKE",
        "mode": "auto", "has_store_clients": True, "global_segment_size": "4 GB", "local_buffer_size": "1 GB",
        "protocol": "tcp", "device_name": ""}


def configs(**changes):
    settings = dict(BASE)
    settings.update(changes)
    return consumer_configs("node1", settings)


def test_with_store_clients_on_the_host_the_ranks_only_request():
    result = configs()
    assert result["errors"] == []
    assert result["vllm"] == {"mode": "standalone-store", "local_hostname": "10.231.4.12", "metadata_server": "P2PHANDSHAKE",
                              "master_server_address": "etcd://10.231.4.11:2379", "global_segment_size": 0,
                              "local_buffer_size": 1 << 30, "protocol": "tcp", "device_name": ""}
    assert result["sglang_env"] == [
        'MOONCAKE_MASTER="etcd://10.231.4.11:2379"', 'MOONCAKE_TE_META_DATA_SERVER="P2PHANDSHAKE"',
        'MOONCAKE_LOCAL_HOSTNAME="10.231.4.12"', 'MOONCAKE_PROTOCOL="tcp"', 'MOONCAKE_DEVICE=""',
        'MOONCAKE_GLOBAL_SEGMENT_SIZE="0"', 'MOONCAKE_LOCAL_BUFFER_SIZE="1073741824"']


def test_without_store_clients_each_rank_gives_its_segment():
    result = configs(has_store_clients=False)
    assert result["vllm"]["mode"] == "embedded" and result["vllm"]["global_segment_size"] == 4 << 30


def test_embedded_with_no_segment_is_refused():
    assert configs(mode="embedded", global_segment_size=0)["errors"] == [
        "host node1: mode embedded needs mooncake_instances_store_global_segment_size above 0 (each rank gives it to the "
        "pool); with store clients on the host use mode standalone-store"]


def test_bad_values_are_named():
    errors = configs(master_server_address="", mode="pooled", local_buffer_size="lots", protocol="rdma")["errors"]
    assert errors == [
        "host node1: the Store consumers need a master: mooncake_instances_store_master_server_address '' must be IP:PORT "
        "or etcd://IP:PORT[;IP:PORT]",
        "host node1: mooncake_instances_store_mode 'pooled' must be one of auto, standalone-store, embedded",
        "host node1: mooncake_instances_store_local_buffer_size 'lots' is not a size; write bytes or e.g. '4 GB'",
        "host node1: mooncake_instances_store_local_buffer_size must be above 0 (each rank's own buffer)",
        "host node1: mooncake_instances_store_protocol rdma needs mooncake_instances_store_device_name",
    ]
