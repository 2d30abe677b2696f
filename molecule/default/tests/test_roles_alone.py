"""Each role applied alone from a user's own playbook (no site.yml, no preflight): a correct
result, and bad input refused before any change."""

import os
import re

import testinfra.utils.ansible_runner
from playbook_run import ansible_playbook

RUNNER = testinfra.utils.ansible_runner.AnsibleRunner(os.environ["MOLECULE_INVENTORY_FILE"])
testinfra_hosts = RUNNER.get_hosts("mooncake")

HERE = os.path.relpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "playbooks"),
                       os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..")))
INSTANCES = os.path.join(HERE, "instances_alone.yml")
ETCD = os.path.join(HERE, "etcd_alone.yml")
SEED = [{"name": "prefill", "role": "prefill", "port": 15624}, {"name": "decode", "role": "decode", "port": 15625}]


def fingerprint(host):
    """What a run would change: configs, units, and the running processes."""
    return host.check_output(
        "sha256sum /etc/mooncake/instances/* /etc/systemd/system/mooncake-*.service;"
        " systemctl show --property=MainPID --value mooncake-instance@prefill mooncake-instance@decode mooncake-etcd"
    )


def recap_changed(output):
    found = re.search(r"node1\s+: ok=\d+\s+changed=(\d+)", output)
    assert found, output
    return int(found.group(1))


def test_the_instances_role_alone_adds_an_instance_and_leaves_the_others_running(host):
    pids = host.check_output("systemctl show --property=MainPID --value mooncake-instance@prefill mooncake-instance@decode")
    rc, output = ansible_playbook(INSTANCES, instances=SEED + [{"name": "alone", "role": "decode"}])
    assert rc == 0, output
    assert host.service("mooncake-instance@alone").is_running
    assert host.check_output("systemctl show --property=MainPID --value mooncake-instance@prefill mooncake-instance@decode") == pids
    ip = RUNNER.get_variables(host.backend.host)["ansible_host"]
    assert "MC_TCP_BIND_ADDRESS=%s" % ip in host.file("/etc/mooncake/instances/alone.env").content_string
    # Its default metadata_server comes from the inventory's etcd members, without the etcd role.
    assert '"metadata_server": "etcd://%s:2379"' % ip in host.file("/etc/mooncake/instances/alone.json").content_string
    rc, output = ansible_playbook(INSTANCES, instances=SEED + [{"name": "alone", "role": "decode"}])
    assert rc == 0 and recap_changed(output) == 0, output
    rc, output = ansible_playbook(INSTANCES, instances=SEED)
    assert rc == 0, output
    assert not host.file("/etc/mooncake/instances/alone.json").exists
    assert not host.service("mooncake-instance@alone").is_running


def test_the_instances_role_alone_refuses_bad_input_before_any_change(host):
    before = fingerprint(host)
    rc, output = ansible_playbook(INSTANCES, instances=[{"name": "prefill", "port": 15624}, {"name": "decode", "port": 15624}])
    assert rc != 0, output
    assert re.search(r"host node1.*'prefill' and 'decode'.*port 15624", re.sub(r"\s+", " ", output)), output
    assert recap_changed(output) == 0
    assert fingerprint(host) == before


def test_the_etcd_role_alone_is_converged_and_refuses_bad_input_before_any_change(host):
    before = fingerprint(host)
    rc, output = ansible_playbook(ETCD)
    assert rc == 0 and recap_changed(output) == 0, output
    rc, output = ansible_playbook(ETCD, extra={"mooncake_etcd_address": "10.231.1.99"})
    assert rc != 0, output
    assert re.search(r"host node1.*10\.231\.1\.99", re.sub(r"\s+", " ", output)), output
    assert recap_changed(output) == 0
    assert fingerprint(host) == before
