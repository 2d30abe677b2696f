"""Ansible's own idempotence on the converged host: a second site.yml run changes nothing and
restarts nothing; a file edited by hand is put back and restarts exactly its service."""

import os
import re

import testinfra.utils.ansible_runner
from playbook_run import ansible_playbook

RUNNER = testinfra.utils.ansible_runner.AnsibleRunner(os.environ["MOLECULE_INVENTORY_FILE"])
testinfra_hosts = RUNNER.get_hosts("mooncake")

ETCD_UNIT = "/etc/systemd/system/mooncake-etcd.service"
SERVICES = ("mooncake-etcd", "mooncake-instance@prefill", "mooncake-instance@decode")


def main_pids(host):
    return dict(zip(SERVICES, host.check_output("systemctl show --property=MainPID --value %s" % " ".join(SERVICES)).split()))


def site():
    rc, output = ansible_playbook("site.yml", timeout=600)
    assert rc == 0, output
    return output


def test_a_converged_run_changes_nothing_and_restarts_nothing(host):
    site()  # whatever the tests before left, converged again
    before = main_pids(host)
    output = site()
    assert re.search(r"node1\s+: ok=\d+\s+changed=0\b", output), output
    assert main_pids(host) == before


def test_check_mode_on_the_converged_host_changes_nothing_and_shows_no_diff(host):
    before = main_pids(host)
    rc, output = ansible_playbook("site.yml", options=["--check", "--diff"], timeout=600)
    assert rc == 0, output
    assert re.search(r"node1\s+: ok=\d+\s+changed=0\b", output), output
    assert "+++ after" not in output, output
    assert main_pids(host) == before


def test_check_mode_shows_the_real_diff_of_a_file_edited_by_hand_and_changes_nothing(host):
    env = "/etc/mooncake/instances/decode.env"
    host.run_expect([0], "sh -c 'echo \"# edited by hand\" >> %s'" % env)
    try:
        edited = host.file(env).content_string
        rc, output = ansible_playbook("site.yml", options=["--check", "--diff"], timeout=600)
        assert rc == 0, output
        assert "-# edited by hand" in output and "--- before: %s" % env in output, output
        assert host.file(env).content_string == edited
    finally:
        site()


def test_a_hand_edited_etcd_unit_is_put_back_and_restarts_etcd_alone(host):
    unit = host.file(ETCD_UNIT).content_string
    before = main_pids(host)
    host.run_expect([0], "sed -i 's/^Description=.*/Description=edited by hand/' %s" % ETCD_UNIT)
    output = site()
    assert re.search(r"node1\s+: ok=\d+\s+changed=[1-9]", output), output
    assert host.file(ETCD_UNIT).content_string == unit
    after = main_pids(host)
    assert after["mooncake-etcd"] != before["mooncake-etcd"]
    assert [after[s] for s in SERVICES[1:]] == [before[s] for s in SERVICES[1:]], (before, after)
    assert re.search(r"node1\s+: ok=\d+\s+changed=0\b", site())
