"""Bad input fails the play before anything changes on any host.

Runs the real site.yml against the converged lab host with a broken instance list and checks
the message names host, both instances and the port, and that nothing on the host changed.
"""

import json
import os
import re
import time

import pytest
import testinfra.utils.ansible_runner
from playbook_run import ansible_playbook

RUNNER = testinfra.utils.ansible_runner.AnsibleRunner(os.environ["MOLECULE_INVENTORY_FILE"])
testinfra_hosts = RUNNER.get_hosts("mooncake")

CASES = {
    "same port": (
        '[{"name": "prefill", "port": 15624}, {"name": "decode", "port": 15624}]',
        [r"host node1", r"'prefill' and 'decode'", r"port 15624"],
    ),
    "same name": (
        '[{"name": "prefill", "port": 15624}, {"name": "prefill", "port": 15626}]',
        [r"host node1", r"2 instances are named 'prefill'", r"15624, 15626"],
    ),
    "command on several lines": (
        '[{"name": "prefill", "port": 15624, "command": "/usr/bin/python3 -m http.server\\n--bind 0.0.0.0 15624"}]',
        [r"host node1, instance 'prefill': command is a string containing a line break", r"write command as a list"],
    ),
    "env replaces a port guarantee": (
        '[{"name": "prefill", "port": 15624, "env": {"MC_LEGACY_RPC_PORT_BINDING": "0"}}]',
        [r"host node1, instance 'prefill': env MC_LEGACY_RPC_PORT_BINDING would replace the collection's own",
         r"listens on exactly the instance's planned port"],
    ),
    "missing rdma device": (
        '[{"name": "prefill", "port": 15624, "protocol": "rdma", "device_name": "mlx5_0"}]',
        [r"host node1, instance 'prefill': RDMA device mlx5_0 cannot be used", r"no RDMA support in this kernel"],
    ),
}


def fingerprint(host):
    """What a run would change: configs, units, and the running processes."""
    return host.check_output(
        "sha256sum /etc/mooncake/instances/* /etc/systemd/system/mooncake-*.service;"
        " systemctl show --property=MainPID --value mooncake-instance@prefill mooncake-instance@decode mooncake-etcd"
    )


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_instances_fail_before_any_change(host, case):
    instances, expected = CASES[case]
    before = fingerprint(host)
    rc, output = ansible_playbook("site.yml", instances=json.loads(instances))
    assert rc != 0, output
    for pattern in expected:
        assert re.search(pattern, output), "%r not in output:\n%s" % (pattern, output)
    recap = re.search(r"node1\s+: ok=\d+\s+changed=(\d+)", output)
    assert recap and recap.group(1) == "0", output
    # The play stopped in the preflight: no task of a changing role ran.
    assert "mooncake.deploy.offline_repo" not in output and "Install the etcd packages" not in output
    assert fingerprint(host) == before


@pytest.fixture
def foreign_listener(host):
    """A process that is not ours listening on 15626 (a transient unit: no session keeps the
    test waiting), stopped afterwards. Yields its pid."""
    host.check_output("systemd-run --unit=foreign-15626 --property=Type=exec python3 -m http.server 15626")
    try:
        for _attempt in range(50):
            if host.socket("tcp://0.0.0.0:15626").is_listening:
                break
            time.sleep(0.2)
        yield int(host.check_output("systemctl show --property=MainPID --value foreign-15626"))
    finally:
        host.run("systemctl stop foreign-15626")


def test_foreign_port_holder_and_unreachable_etcd_are_reported_together(host, foreign_listener):
    before = fingerprint(host)
    rc, output = ansible_playbook("site.yml", instances=[
        {"name": "prefill", "port": 15624}, {"name": "decode", "port": 15625},
        {"name": "extra", "port": 15626, "metadata_server": "etcd://10.231.1.99:2379"}])
    output = re.sub(r"\s+", " ", output)
    assert rc != 0, output
    # One failure names both problems: who holds the port (pid, command) and what cannot be reached.
    assert re.search(r"host node1, instance 'extra': port 15626 should be free or held by "
                     r"mooncake-instance@extra.service but is held by 0.0.0.0:15626 pid %d "
                     r"\(\S*python3 -m http.server 15626, unit foreign-15626.service\)" % foreign_listener, output), output
    assert re.search(r"host node1, metadata_server of instance 'extra' \(etcd://10.231.1.99:2379\): "
                     r"10.231.1.99:2379 (did not answer|is unreachable)", output), output
    # The running instances hold their own ports: no complaint about them.
    assert "instance 'prefill': port" not in output and "instance 'decode': port" not in output
    recap = re.search(r"node1 : ok=\d+ changed=(\d+)", output)
    assert recap and recap.group(1) == "0", output
    assert fingerprint(host) == before
