# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The instance_plan filter: the plan of module_utils, as {'instances', 'errors'}."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess
import sys

from ansible_collections.mooncake.deploy.plugins.filter import instance_plan as filter_plugin
from ansible_collections.mooncake.deploy.plugins.filter.instance_plan import FilterModule

SETTINGS = {
    "address": "10.231.0.11",
    "metadata_server": "etcd://10.231.0.11:2379",
    "buffer_size": 268435456,
    "range_base": 20000,
    "range_size": 100,
    "reserved_ports": {"2379": "etcd (client)", "2380": "etcd (peer)"},
    "ephemeral_range": [32768, 60999],
}


def instance_plan(*args):
    return FilterModule().filters()["instance_plan"](*args)


def test_the_filter_is_registered_under_its_documented_name():
    assert sorted(FilterModule().filters()) == [
        "instance_env_lines", "instance_failure_message", "instance_kept_copies", "instance_metadata_probes",
        "instance_plan", "instance_port_expectations", "instance_problems", "instance_rdma", "instance_reserved_ports",
        "instance_rollback", "instances_leftovers"]


def test_a_good_list_gives_instances_and_no_errors():
    result = instance_plan(
        [{"name": "prefill", "role": "prefill", "port": 15624}, {"name": "decode", "role": "decode", "port": 15625}],
        "node1",
        SETTINGS,
    )
    assert sorted(result) == ["errors", "instances"]
    assert result["errors"] == []
    assert [(i["name"], i["segment"], i["rpc_port_range"]) for i in result["instances"]] == [
        ("prefill", "10.231.0.11:15624", [20000, 20099]),
        ("decode", "10.231.0.11:15625", [20100, 20199]),
    ]


def test_a_bad_list_gives_the_errors_with_the_host_name():
    result = instance_plan(
        [{"name": "prefill", "port": 15624}, {"name": "decode", "port": 15624}],
        "gpu-07",
        SETTINGS,
    )
    assert sorted(result) == ["errors", "instances"]
    assert result["errors"] == [
        "host gpu-07: instances 'prefill' and 'decode' all use port 15624; give each instance its own port"
    ]
    assert len(result["instances"]) == 2


def test_the_filter_through_ansible_templating(tmp_path):
    """As the roles call it: by its FQCN in a template, with values Ansible templated."""
    collections = filter_plugin.__file__.split(os.sep + "ansible_collections" + os.sep, maxsplit=1)[0]
    config = tmp_path / "ansible.cfg"
    config.write_text("[defaults]\n")
    extra = {
        "mooncake_instances": [{"name": "prefill", "port": "{{ 15000 + 624 }}"}, {"name": "decode", "port": 15624}],
        "settings": dict(SETTINGS, range_base="{{ 20000 }}"),
    }
    run = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "ansible"), "localhost", "-i", "localhost,", "-c", "local",
         "-e", "ansible_python_interpreter=" + sys.executable, "-e", json.dumps(extra),
         "-m", "ansible.builtin.debug",
         "-a", "msg={{ mooncake_instances | mooncake.deploy.instance_plan(inventory_hostname, settings) }}"],
        capture_output=True, text=True, timeout=120, cwd=str(tmp_path), check=False,
        env=dict(os.environ, ANSIBLE_CONFIG=str(config), ANSIBLE_COLLECTIONS_PATH=collections, ANSIBLE_NOCOLOR="1"),
    )
    marker = "localhost | SUCCESS => "
    assert run.returncode == 0 and marker in run.stdout, run.stdout + run.stderr
    result = json.loads(run.stdout.split(marker, 1)[1])["msg"]
    assert result["errors"] == [
        "host localhost: instances 'prefill' and 'decode' all use port 15624; give each instance its own port"
    ]
    assert [i["rpc_port_range"] for i in result["instances"]] == [[20000, 20099], [20100, 20199]]
