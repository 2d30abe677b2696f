"""Bad input fails the play before anything changes on any host.

Runs the real site.yml against the converged lab host with a broken instance list and checks
the message names host, both instances and the port, and that nothing on the host changed.
"""

import os
import re
import subprocess

import pytest
import testinfra.utils.ansible_runner

RUNNER = testinfra.utils.ansible_runner.AnsibleRunner(os.environ["MOLECULE_INVENTORY_FILE"])
testinfra_hosts = RUNNER.get_hosts("mooncake")
REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))

CASES = {
    "same port": (
        '[{"name": "prefill", "port": 15624}, {"name": "decode", "port": 15624}]',
        [r"host node1", r"'prefill' and 'decode'", r"port 15624"],
    ),
    "same name": (
        '[{"name": "prefill", "port": 15624}, {"name": "prefill", "port": 15626}]',
        [r"host node1", r"2 instances are named 'prefill'", r"15624, 15626"],
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
    run = subprocess.run(
        [
            "ansible-playbook", os.path.join(REPO, "site.yml"),
            "-i", os.path.dirname(os.environ["MOLECULE_INVENTORY_FILE"]),
            "-e", '{"mooncake_instances": %s}' % instances,
        ],
        cwd=REPO, capture_output=True, text=True, timeout=300, check=False,
        env=dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), ANSIBLE_NOCOLOR="1"),
    )
    output = run.stdout + run.stderr
    assert run.returncode != 0, output
    for pattern in expected:
        assert re.search(pattern, output), "%r not in output:\n%s" % (pattern, output)
    recap = re.search(r"node1\s+: ok=\d+\s+changed=(\d+)", output)
    assert recap and recap.group(1) == "0", output
    # The play stopped in the preflight: no task of a changing role ran.
    assert "mooncake.deploy.offline_repo" not in output and "Install the etcd packages" not in output
    assert fingerprint(host) == before
