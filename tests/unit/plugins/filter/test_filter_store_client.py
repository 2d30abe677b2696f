# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The store_client filters: the plan of module_utils as {'clients', 'errors', ...}, the host's
memory and the reserved ports and ranges."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess
import sys

from ansible_collections.mooncake.deploy.plugins.filter import store_client as filter_plugin
from ansible_collections.mooncake.deploy.plugins.filter.store_client import FilterModule

SETTINGS = {
    "address": "10.231.0.11",
    "port_base": 22052,
    "http_port_base": 9300,
    "rpc_range_base": 23000,
    "store_range_base": 24000,
    "range_size": 100,
    "master_server_address": "10.231.0.12:50051",
    "reserved_ports": {"2379": "etcd (client)"},
    "reserved_ranges": [],
    "memory_bytes": 64 * 1024 ** 3,
}


def call(name, *args):
    return FilterModule().filters()[name](*args)


def test_the_filters_are_registered_under_their_documented_names():
    assert sorted(FilterModule().filters()) == ["meminfo_bytes", "store_client_plan", "store_client_reserved"]
    docs = os.path.join(os.path.dirname(filter_plugin.__file__))
    for name in FilterModule().filters():
        assert os.path.isfile(os.path.join(docs, name + ".yml")), name


def test_a_good_list_gives_clients_expectations_and_no_errors():
    result = call("store_client_plan", [{"name": "a"}, {"name": "b"}], "node1",
                  dict(SETTINGS, deployed=["/etc/mooncake/store-clients/a.flags", "/etc/mooncake/store-clients/gone.flags"]))
    assert sorted(result) == ["clients", "errors", "port_expectations", "unlisted"]
    assert result["errors"] == []
    assert [(c["name"], c["port"], c["http_port"]) for c in result["clients"]] == [("a", 22052, 9300), ("b", 22053, 9301)]
    assert [e["port"] for e in result["port_expectations"]] == [22052, 9300, 22053, 9301]
    assert result["unlisted"] == ["gone"]


def test_port_results_add_the_ports_others_hold():
    held = {"ok": False, "problem": "host node1, store client 'a' (port): port 22052 is held by nginx",
            "holders": [{"process": {"unit": "nginx.service"}}]}
    result = call("store_client_plan", [{"name": "a", "port": 2379}], "node1", SETTINGS, [held])
    assert result["errors"] == [
        "host node1, store client 'a': port 2379 is already used by etcd (client) on this host; choose another port",
        "host node1, store client 'a' (port): port 22052 is held by nginx. Stop that process, or give the store client another port.",
    ]


def test_meminfo_bytes():
    assert call("meminfo_bytes", "MemTotal:        2048 kB\n") == 2 * 1024 * 1024


def test_store_client_reserved_reads_the_hosts_variables():
    hostvars = {"node1": {"group_names": ["mooncake_master"], "mooncake_instances": [{"name": "prefill"}]}}
    assert call("store_client_reserved", "node1", hostvars, []) == {
        "ports": {"50051": "the Store master (RPC)", "9003": "the Store master (metrics, /health)",
                  "15624": "transfer-engine instance 'prefill'"},
        "ranges": [{"low": 20000, "high": 20099, "what": "the random-port range of transfer-engine instance 'prefill'"}],
    }


def test_the_filters_through_ansible_templating(tmp_path):
    """As the role calls them: by their FQCN in a template, with values Ansible templated."""
    collections = filter_plugin.__file__.split(os.sep + "ansible_collections" + os.sep, maxsplit=1)[0]
    config = tmp_path / "ansible.cfg"
    config.write_text("[defaults]\n")
    extra = {
        "clients": [{"name": "a", "global_segment_size": "{{ 2 }} GB"}, {"name": "b", "port": "{{ 22000 + 52 }}"}],
        "settings": dict(SETTINGS, range_size="{{ 100 }}", memory_bytes="{{ 'MemTotal: 1048576 kB' | mooncake.deploy.meminfo_bytes }}"),
    }
    run = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "ansible"), "localhost", "-i", "localhost,", "-c", "local",
         "-e", "ansible_python_interpreter=" + sys.executable, "-e", json.dumps(extra),
         "-m", "ansible.builtin.debug",
         "-a", "msg={{ clients | mooncake.deploy.store_client_plan(inventory_hostname, settings) }}"],
        capture_output=True, text=True, timeout=120, cwd=str(tmp_path), check=False,
        env=dict(os.environ, ANSIBLE_CONFIG=str(config), ANSIBLE_COLLECTIONS_PATH=collections, ANSIBLE_NOCOLOR="1"),
    )
    marker = "localhost | SUCCESS => "
    assert run.returncode == 0 and marker in run.stdout, run.stdout + run.stderr
    result = json.loads(run.stdout.split(marker, 1)[1])["msg"]
    assert result["errors"] == [
        "host localhost: port 22052 is taken more than once: port of store client 'a' and port of store client 'b'; give each its own port",
        "host localhost: the store clients pin 6.0 GiB of memory together ('a': global_segment_size 2.0 GiB + local_buffer_size 0 B; "
        "'b': global_segment_size 4.0 GiB + local_buffer_size 0 B), above 921.6 MiB, mooncake_store_client_memory_fraction 0.9 "
        "of the host's 1.0 GiB (MemTotal); shrink global_segment_size or local_buffer_size, run fewer clients, or move some to another host",
    ]
    assert [c["store_port_range"] for c in result["clients"]] == [[24000, 24099], [24100, 24199]]
