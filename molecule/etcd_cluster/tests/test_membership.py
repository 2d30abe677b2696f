"""Lifecycle on the running TLS cluster: etcd3 joined with member add (converge.yml), a removal
the quorum guard refuses, and a removal that goes through.

Runs last (after test_bad_input.py and test_cluster.py): it leaves a 2-member cluster.
"""

import json

from cluster_lab import HOSTS, IPS, MEMBERS, UNIT, etcdctl, one_line, run_playbook


def member_names(via="etcd1"):
    return sorted(m.get("name", "") for m in json.loads(etcdctl(via, "member list --write-out=json").stdout)["members"])


def playbook(name, *extra):
    rc, output = run_playbook(name, *extra, timeout=600)
    return rc, one_line(output)


def test_etcd1_and_etcd2_bootstrapped_new_and_etcd3_joined_the_running_cluster():
    first = HOSTS["etcd1"].file("/etc/mooncake-etcd/initial-cluster.env").content_string
    assert "ETCD_INITIAL_CLUSTER_STATE=new" in first
    assert "ETCD_INITIAL_CLUSTER=etcd1=https://%s:2380,etcd2=https://%s:2380\n" % (IPS["etcd1"], IPS["etcd2"]) in first
    joined = HOSTS["etcd3"].file("/etc/mooncake-etcd/initial-cluster.env").content_string
    assert "ETCD_INITIAL_CLUSTER_STATE=existing" in joined
    assert all("%s=https://%s:2380" % (n, IPS[n]) in joined for n in MEMBERS), joined
    assert member_names() == MEMBERS


def test_a_removal_that_would_take_the_quorum_away_is_refused():
    HOSTS["etcd2"].check_output("systemctl stop %s" % UNIT)
    try:
        # 3 members, etcd2 down: without etcd3 the 2 left need 2 healthy, only etcd1 is.
        rc, output = playbook("etcd_member_remove.yml", "-e", "mooncake_etcd_remove=etcd3")
        assert rc != 0, output
        assert "not removing 'etcd3': the cluster would keep 2 member(s), which need 2 healthy" in output, output
        assert "only 1 (etcd1) are healthy" in output, output
    finally:
        HOSTS["etcd2"].check_output("systemctl start %s" % UNIT)
    assert member_names() == MEMBERS
    assert HOSTS["etcd3"].service(UNIT).is_running


def test_remove_a_member():
    rc, output = playbook("etcd_member_remove.yml", "-e", "mooncake_etcd_remove=etcd3")
    assert rc == 0, output
    assert "removed etcd member etcd3" in output, output
    assert member_names() == ["etcd1", "etcd2"]
    etcdctl("etcd1", "put mooncake-test/membership after-removal")
    assert etcdctl("etcd2", "get --print-value-only mooncake-test/membership").stdout.strip() == "after-removal"
    etcd3 = HOSTS["etcd3"]
    assert not etcd3.service(UNIT).is_running and not etcd3.service(UNIT).is_enabled
    # Its data directory is kept for the operator.
    assert etcd3.file("/var/lib/mooncake-etcd/member").is_directory
