"""Every unit the collection writes on node1 stays as hardened as its role README says, and
still works under its sandbox.

Converge ran site.yml: etcd (peer TLS on, so the sandboxed etcd reads its certificates), a
Store master, a Store client (pool) and two transfer-engine instances (prefill 15624, decode
15625) on node1 (10.231.10.11). Here: `systemd-analyze security` of each unit against the
figure in its role README, and the services doing their work under it (etcd writes its data
directory and keeps it over a restart, the instances register in it, the verification's
transfers and the Store's put/get pass). The router's unit is held by molecule/router's test.
"""

import json
import os
import re
import sys
import time

import pytest
import testinfra

# The one copy of the playbook runner is molecule/default's.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "default", "tests"))
from playbook_run import REPO, ansible_playbook  # noqa: E402 pylint: disable=wrong-import-position

os.environ.setdefault("CONTAINERS_CONF", os.path.join(REPO, "scripts", "lab", "containers.conf"))
NODE = testinfra.get_host("podman://mol-hardening-node1")
IP = "10.231.10.11"
ETCDCTL = "ETCDCTL_API=3 etcdctl --endpoints=http://%s:2379 " % IP

# Unit -> (role README, the figure it states: systemd-analyze security on this lab).
FIGURES = {
    "mooncake-etcd.service": ("roles/etcd/README.md", 1.1),
    "mooncake-master.service": ("roles/master/README.md", 1.1),
    "mooncake-store-client@pool.service": ("roles/store_client/README.md", 1.6),
    "mooncake-instance@prefill.service": ("roles/instances/README.md", 1.6),
    "mooncake-instance@decode.service": ("roles/instances/README.md", 1.6),
    # site.yml puts the firewall up: a oneshot that loads the table and stays active (exited).
    "mooncake-firewall.service": ("roles/firewall/README.md", 2.0),
}


def score(unit):
    out = NODE.check_output("systemd-analyze security %s", unit)
    found = re.search(r"Overall exposure level for %s: ([0-9.]+)" % re.escape(unit), out)
    assert found, out
    return float(found.group(1)), out


def main_pid(unit):
    return NODE.check_output("systemctl show --property=MainPID --value %s", unit)


@pytest.mark.parametrize("unit", sorted(FIGURES))
def test_the_unit_scores_at_most_its_readme_figure(unit):
    figure = FIGURES[unit][1]
    measured, out = score(unit)
    assert measured <= figure, "%s scores %.1f, its README says %.1f:\n%s" % (unit, measured, figure, out)


@pytest.mark.parametrize("unit", sorted(FIGURES))
def test_the_readme_states_the_figure_in_its_hardening_section(unit):
    readme, figure = FIGURES[unit]
    with open(os.path.join(REPO, readme), encoding="utf-8") as handle:
        text = handle.read()
    section = re.search(r"^## Hardening\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    assert section, "%s has no Hardening section" % readme
    assert "**%.1f OK**" % figure in section.group(1), section.group(1)


@pytest.mark.parametrize("unit", sorted(FIGURES))
def test_the_unit_runs_and_has_not_restarted(unit):
    shown = NODE.check_output("systemctl show --property=ActiveState,SubState,NRestarts %s", unit)
    running = "SubState=exited" if unit == "mooncake-firewall.service" else "SubState=running"
    assert "ActiveState=active" in shown and running in shown and "NRestarts=0" in shown, shown


def test_etcd_writes_its_data_directory_and_keeps_it_over_a_restart():
    value = "hardened-%d" % time.time()
    NODE.check_output(ETCDCTL + "put mooncake-test/hardening %s", value)
    before = main_pid("mooncake-etcd.service")
    NODE.check_output("systemctl restart mooncake-etcd.service")
    assert main_pid("mooncake-etcd.service") != before
    assert NODE.check_output(ETCDCTL + "get --print-value-only mooncake-test/hardening") == value
    NODE.check_output(ETCDCTL + "del mooncake-test/hardening")
    # Nothing in etcd's journal about a denied file, socket or system call.
    journal = NODE.check_output("journalctl -u mooncake-etcd.service -b --no-pager")
    assert not re.search(r"permission denied|operation not permitted|read-only file system", journal, re.I), journal


def test_etcd_reads_its_certificates_under_the_sandbox():
    unit = NODE.file("/etc/systemd/system/mooncake-etcd.service").content_string
    assert "--peer-key-file=/etc/mooncake-etcd/pki/member.key" in unit
    assert "--initial-advertise-peer-urls=https://%s:2380" % IP in unit
    assert NODE.socket("tcp://%s:2380" % IP).is_listening


def test_an_instance_registers_again_after_a_restart():
    for port in (15624, 15625):
        assert NODE.check_output(ETCDCTL + "get --keys-only mooncake/rpc_meta/%s", "%s:%d" % (IP, port))
    NODE.check_output("systemctl restart mooncake-instance@decode.service")
    meta = json.loads(NODE.check_output(ETCDCTL + "get --print-value-only mooncake/rpc_meta/%s:15625", IP))
    assert meta["ip_or_host_name"] == IP and meta["rpc_port"] == 15625, meta


def test_the_verification_passes_under_the_sandboxes():
    """Transfers between the instances and the Store's put/get, through every sandboxed unit."""
    rc, output = ansible_playbook("playbooks/verify.yml", timeout=600)
    assert rc == 0, output
    assert "node1/decode" in output and "3 of 3" in output, output
