"""The deployment made from the installed collection, checked from outside the play."""

import json
import os
import re

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
# podman as labctl runs it (netavark, runc), for testinfra's podman:// backend: nothing here
# depends on the connection the deployment used.
os.environ.setdefault("CONTAINERS_CONF", os.path.join(REPO, "scripts", "lab", "containers.conf"))
testinfra_hosts = ["podman://mol-installed-node1"]
NODE, IP = "node1", "10.231.8.11"

PROJECT = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "project")
INSTALLED = os.path.join(PROJECT, "collections", "ansible_collections", "mooncake", "deploy")
INSTANCES = {"prefill": 15624, "decode": 15625}


def test_units_active(host):
    assert host.service("mooncake-etcd").is_running
    for name in INSTANCES:
        assert host.service("mooncake-instance@%s" % name).is_running, name


def test_instances_hold_their_ports(host):
    for name, port in INSTANCES.items():
        pid = host.check_output("systemctl show --property=MainPID --value mooncake-instance@%s" % name)
        listening = host.check_output("ss -ltnpH 'sport = :%d'" % port)
        assert listening and re.findall(r"pid=(\d+),", listening) == [pid], (name, pid, listening)


def test_etcd_registers_the_instances_at_the_hosts_address(host):
    keys = host.check_output("ETCDCTL_API=3 etcdctl --endpoints=http://%s:2379 get --prefix --keys-only mooncake" % IP)
    for port in INSTANCES.values():
        assert "%s:%d" % (IP, port) in keys, (port, keys)


def test_report_written_into_the_users_project(host):
    with open(os.path.join(PROJECT, "reports", "verify-report.json")) as handle:
        report = json.load(handle)
    (entry,) = [h for h in report if h["host"] == NODE]
    assert sorted(i["instance"] for i in entry["instances"]) == sorted(INSTANCES)
    transfers = [t for i in entry["instances"] for t in i["transfers"]]
    assert transfers and all(t["result"]["match"] for t in transfers), transfers


def test_installed_artifact_holds_the_collection_only(host):
    for needed in ("playbooks/site.yml", "native/build_artifact.py", "roles/instances/files/mooncake_agent.py",
                   "meta/runtime.yml", "MANIFEST.json"):
        assert os.path.isfile(os.path.join(INSTALLED, needed)), needed
    for development in ("scripts", "molecule", "tests", "Makefile", "collections", "dist", "reports",
                        "inventories/lab", "playbooks/lab_create.yml", ".ci", "requirements.txt", "ansible.cfg"):
        assert not os.path.lexists(os.path.join(INSTALLED, development)), development
