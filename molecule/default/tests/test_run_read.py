"""site.yml's one host read per run: on a converged host every role's read is answered from the
preflight's read on the controller (no round trip) and no role calls managed_files; once a step
of the run changes the host, the roles after it read the host themselves."""

import os
import re

import testinfra.utils.ansible_runner
from playbook_run import ansible_playbook

RUNNER = testinfra.utils.ansible_runner.AnsibleRunner(os.environ["MOLECULE_INVENTORY_FILE"])
testinfra_hosts = RUNNER.get_hosts("mooncake")

ROLES = ("offline_repo", "etcd", "rdma", "transfer_engine", "instances")
WRITES = ("Write the etcd directories", "Write the kernel module list", "Write the agent, the unit template")
ETCD_UNIT = "/etc/systemd/system/mooncake-etcd.service"


def tasks(output):
    """(task name, result text) of each task of a -v run, in order."""
    blocks = output.split("\nTASK [")[1:]
    return [(block.split("]", 1)[0], block) for block in blocks]


def role_reads(output):
    """{role: reused} of each role's host_state_info read."""
    found = {}
    for name, block in tasks(output):
        role = re.match(r"mooncake\.deploy\.(\w+) : Read ", name)
        reused = re.search(r"^\s+reused: (true|false)$", block, re.M)
        if role and reused and role.group(1) in ROLES:
            found[role.group(1)] = reused.group(1) == "true"
    return found


def writes_run(output):
    """The managed_files calls of etcd, rdma and instances that ran (were not skipped)."""
    return [name for name, block in tasks(output)
            if any(write in name for write in WRITES) and not re.search(r"^skipping: ", block, re.M)]


def site():
    rc, output = ansible_playbook("site.yml", verbose=True, timeout=600)
    assert rc == 0, output
    return output


def test_a_converged_host_is_read_once(host):
    site()  # whatever the tests before left, converged again
    output = site()
    assert re.search(r"node1\s+: ok=\d+\s+changed=0\b", output), output
    assert role_reads(output) == dict((role, True) for role in ROLES), role_reads(output)
    assert writes_run(output) == []


def test_roles_after_a_change_read_the_host_again(host):
    unit = host.file(ETCD_UNIT).content_string
    host.run_expect([0], "sed -i 's/^Description=.*/Description=edited by hand/' %s" % ETCD_UNIT)
    output = site()
    # etcd decides on the run's read and rewrites its unit (and restarts etcd); every role after
    # it reads the host itself, and the instances stay converged.
    assert role_reads(output) == {"offline_repo": True, "etcd": True, "rdma": False, "transfer_engine": False,
                                  "instances": False}, role_reads(output)
    assert [name for name in writes_run(output) if "etcd" in name], writes_run(output)
    assert host.file(ETCD_UNIT).content_string == unit
    assert re.search(r"node1\s+: ok=\d+\s+changed=[1-9]", output), output
    # And the next run is converged again, read once.
    again = site()
    assert re.search(r"node1\s+: ok=\d+\s+changed=0\b", again), again
    assert role_reads(again) == dict((role, True) for role in ROLES)
