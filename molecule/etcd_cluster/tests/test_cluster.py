"""A 3-member etcd cluster with TLS, checked from outside the play with the hosts' own etcdctl.

Membership, health over https, peer mTLS and client certificates, listen addresses,
replication, a member stopped and back, and a backup restored with playbooks/etcd_backup.yml
and playbooks/etcd_restore.yml (run as users run them).
"""

import json
import os
import re
import shlex
import subprocess
import time

import pytest
from cluster_lab import CA, CERT, HOSTS, INVENTORY_FILE, IPS, KEY, MEMBERS, PKI, REPO, UNIT, endpoint, etcdctl, run_playbook


def get(via, key, serializable=False):
    """The value of key read through member `via` (serializable: from via's own copy)."""
    out = etcdctl(via, "get --print-value-only %s%s" % ("--consistency=s " if serializable else "", key)).stdout
    return out.strip()


def wait_healthy(names, timeout=60):
    deadline = time.time() + timeout
    while True:
        result = etcdctl(names[0], "endpoint health", endpoints=names, check=False)
        if result.rc == 0:
            return result
        assert time.time() < deadline, "not healthy after %ds: %s%s" % (timeout, result.stdout, result.stderr)
        time.sleep(1)


def playbook(name, *extra):
    rc, output = run_playbook(name, *extra)
    assert rc == 0, output
    return output


def listeners(host, port):
    out = host.check_output("ss -ltnH 'sport = :%d'" % port)
    return {line.split()[3].rsplit(":", 1)[0] for line in out.splitlines()}


@pytest.mark.parametrize("name", MEMBERS)
def test_each_member_listens_on_its_lab_ip_and_loopback_only(name):
    host = HOSTS[name]
    ip = IPS[name]
    assert host.service(UNIT).is_running and host.service(UNIT).is_enabled
    if name == "etcd3":
        # mooncake_etcd_listen_all: 0.0.0.0 on request; what it advertises stays its IP (next test).
        # Go binds 0.0.0.0 as the dual-stack wildcard, which ss shows as '*'.
        assert listeners(host, 2379) in ({"0.0.0.0"}, {"*"}) and listeners(host, 2380) in ({"0.0.0.0"}, {"*"})
        return
    assert listeners(host, 2379) == {ip, "127.0.0.1"}
    assert listeners(host, 2380) == {ip}
    for port in (2379, 2380):
        assert not listeners(host, port) & {"0.0.0.0", "*", "[::]"}


def test_three_members_with_their_own_https_urls():
    members = json.loads(etcdctl("etcd1", "member list --write-out=json").stdout)["members"]
    found = {m["name"]: (m["peerURLs"], m["clientURLs"]) for m in members}
    assert found == {n: (["https://%s:2380" % IPS[n]], [endpoint(n)]) for n in MEMBERS}


@pytest.mark.parametrize("name", MEMBERS)
def test_keys_are_private_to_etcd_and_certificates_carry_the_member_ips(name):
    host = HOSTS[name]
    for key in (PKI + "/member.key", KEY):
        f = host.file(key)
        assert f.user == "etcd" and f.group == "etcd" and f.mode == 0o600
    # The hosts have no openssl CLI: Python's ssl decodes the certificate.
    decoded = json.loads(host.check_output(
        "python3 -c 'import json, ssl, sys; print(json.dumps(ssl._ssl._test_decode_cert(sys.argv[1])))' %s/member.crt" % PKI))
    assert sorted(tuple(san) for san in decoded["subjectAltName"]) == sorted([("IP Address", "127.0.0.1"), ("IP Address", IPS[name])])


def test_a_client_without_a_certificate_is_refused():
    # TLS with the right CA but no client certificate: etcd (--client-cert-auth) rejects it.
    cmd = "ETCDCTL_API=3 etcdctl --command-timeout=3s --dial-timeout=3s --cacert=%s --endpoints=%s get x" % (
        CA, endpoint("etcd2"))
    result = HOSTS["etcd1"].run(cmd)
    assert result.rc != 0, result.stdout
    # Plain http on the https port gets no etcd answer either.
    result = HOSTS["etcd1"].run("ETCDCTL_API=3 etcdctl --command-timeout=3s --dial-timeout=3s "
                                "--endpoints=http://%s:2379 get x" % IPS["etcd2"])
    assert result.rc != 0, result.stdout


def test_the_peer_port_wants_a_certificate_of_our_ca():
    # Peer mTLS: a TLS client without a certificate fails the handshake on the peer port.
    code = ("import socket, ssl\n"
            "c = ssl.create_default_context(cafile=%r)\n"
            "s = c.wrap_socket(socket.create_connection((%r, 2380), 5), server_hostname=%r)\n"
            "s.sendall(b'GET /members HTTP/1.0\\r\\n\\r\\n')\n"
            "print(s.recv(100))\n") % (CA, IPS["etcd2"], IPS["etcd2"])
    probe = "python3 -c %s" % shlex.quote(code)
    result = HOSTS["etcd1"].run(probe)
    assert result.rc != 0, result.stdout
    assert "certificate" in result.stderr.lower() or "alert" in result.stderr.lower(), result.stderr


FILES = ["/etc/systemd/system/%s.service" % UNIT, "/etc/mooncake-etcd/initial-cluster.env", PKI + "/ca.crt",
         PKI + "/member.crt", PKI + "/member.key", CERT, KEY]


def written(name):
    """Inode and modification time of every file the role writes on member `name`."""
    return HOSTS[name].check_output("stat -c '%%n %%i %%Y' %s" % " ".join(FILES))


def test_a_converged_run_changes_nothing_writes_nothing_and_restarts_nothing():
    """Ansible's own idempotence (apt, file, copy, template, systemd_service): changed=0, no
    handler, no health wait, every member keeps its process and no file is written again."""
    pids = {n: HOSTS[n].check_output("systemctl show --property=MainPID --value %s" % UNIT) for n in MEMBERS}
    files = {n: written(n) for n in MEMBERS}
    output = playbook("etcd.yml")
    for name in MEMBERS:
        assert re.search(name + r"\s+: ok=\d+\s+changed=0 ", output), output
        assert HOSTS[name].check_output("systemctl show --property=MainPID --value %s" % UNIT) == pids[name]
        assert written(name) == files[name]
    for task in ("RUNNING HANDLER", "Wait until this etcd member reports healthy", "Check mode - ", "host_state",
                 "Forget the run's read"):
        assert task not in output, task


def test_check_mode_shows_the_real_diff_of_a_changed_unit_and_changes_nothing():
    files = {n: written(n) for n in MEMBERS}
    output = playbook("etcd.yml", "--check", "--diff", "--limit", "etcd1", "-e",
                      '{"mooncake_etcd_extra_args": ["--auto-compaction-retention=1"]}')
    assert re.search(r"^\+\s+--auto-compaction-retention=1 \\$", output, re.M), output
    assert re.search(r"etcd1\s+: ok=\d+\s+changed=1 ", output), output
    assert written("etcd1") == files["etcd1"]
    assert "--auto-compaction-retention" not in HOSTS["etcd1"].file(FILES[0]).content_string


def test_check_mode_on_the_converged_cluster_changes_nothing_and_shows_no_key():
    output = playbook("etcd.yml", "--check", "--diff")
    for name in MEMBERS:
        assert re.search(name + r"\s+: ok=\d+\s+changed=0 ", output), output
    assert "PRIVATE KEY" not in output


def test_every_endpoint_is_healthy():
    result = wait_healthy(MEMBERS, timeout=10)
    # etcdctl prints the health lines on stderr.
    assert (result.stdout + result.stderr).count("is healthy") == 3


def test_a_key_written_via_etcd1_is_read_via_etcd3():
    etcdctl("etcd1", "put mooncake-test/replicated from-etcd1")
    assert get("etcd3", "mooncake-test/replicated") == "from-etcd1"


def test_cluster_serves_with_one_member_stopped_and_the_member_rejoins():
    etcd2 = HOSTS["etcd2"]
    etcd2.check_output("systemctl stop %s" % UNIT)
    try:
        assert not etcd2.service(UNIT).is_running
        # Two of three keep the quorum: writes and reads still work.
        wait_healthy(["etcd1", "etcd3"], timeout=15)
        etcdctl("etcd3", "put mooncake-test/while-down written-without-etcd2")
        assert get("etcd1", "mooncake-test/while-down") == "written-without-etcd2"
    finally:
        etcd2.check_output("systemctl start %s" % UNIT)
    wait_healthy(MEMBERS, timeout=60)
    # Read from etcd2's own copy: it caught up with what was written while it was down.
    deadline = time.time() + 30
    while get("etcd2", "mooncake-test/while-down", serializable=True) != "written-without-etcd2":
        assert time.time() < deadline, "etcd2 did not catch up"
        time.sleep(1)
    assert len(json.loads(etcdctl("etcd2", "member list --write-out=json").stdout)["members"]) == 3


def test_backup_then_restore_gives_back_the_same_keys():
    etcdctl("etcd1", "put mooncake-test/backup/a 1")
    etcdctl("etcd1", "put mooncake-test/backup/b 2")
    before = etcdctl("etcd1", "get --prefix mooncake-test/").stdout
    output = playbook("etcd_backup.yml")
    match = re.search(r"(etcd\d):(/var/backups/mooncake-etcd/snapshot-\d{8}T\d{6}Z\.db) revision", output)
    assert match, output
    source, snapshot = match.groups()
    assert HOSTS[source].file(snapshot).is_file
    assert HOSTS[source].file("/var/backups/mooncake-etcd").mode == 0o700

    # Changes after the backup: the restore must undo them.
    etcdctl("etcd1", "put mooncake-test/backup/after 3")
    etcdctl("etcd1", "del mooncake-test/backup/a")
    pids = {n: HOSTS[n].check_output("systemctl show --property=MainPID --value %s" % UNIT) for n in MEMBERS}

    playbook("etcd_restore.yml")
    wait_healthy(MEMBERS, timeout=30)
    for name in MEMBERS:
        assert etcdctl(name, "get --prefix mooncake-test/").stdout == before
        assert get(name, "mooncake-test/backup/after", serializable=True) == ""
        # The old data directory was moved aside, not deleted; the member restarted.
        moved = HOSTS[name].check_output("ls -d /var/lib/mooncake-etcd.before-restore-*").split()
        assert len(moved) == 1 and HOSTS[name].file(moved[0] + "/member").is_directory
        assert HOSTS[name].file(snapshot).is_file
        assert HOSTS[name].check_output("systemctl show --property=MainPID --value %s" % UNIT) != pids[name]
    members = json.loads(etcdctl("etcd3", "member list --write-out=json").stdout)["members"]
    assert sorted(m["name"] for m in members) == MEMBERS


def test_backup_keeps_the_last_n_snapshots():
    for _attempt in range(2):
        time.sleep(1)  # snapshot names carry the second
        output = playbook("etcd_backup.yml", "-e", "mooncake_etcd_backup_keep=2")
    source = re.search(r"(etcd\d):/var/backups/mooncake-etcd/snapshot-", output).group(1)
    files = HOSTS[source].check_output("ls /var/backups/mooncake-etcd").split()
    assert len(files) == 2 and all(re.match(r"snapshot-\d{8}T\d{6}Z\.db$", f) for f in files), files


def test_etcd_info_module_sees_the_cluster_from_a_member():
    """mooncake.deploy.etcd_info on etcd1 over https with the client certificate, through Debian's etcd3 client."""
    run = subprocess.run(
        ["ansible", "-i", os.path.dirname(INVENTORY_FILE), "etcd1", "-o", "-m", "mooncake.deploy.etcd_info",
         "-a", json.dumps({"endpoints": [endpoint(n) for n in MEMBERS], "ca_cert": CA,
                           "client_cert": CERT, "client_key": KEY})],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
        env=dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), ANSIBLE_NOCOLOR="1"),
    )
    assert run.returncode == 0, run.stdout + run.stderr
    result = json.loads(run.stdout.split("=>", 1)[1])
    assert result["changed"] is False
    assert sorted(m["name"] for m in result["members"]) == MEMBERS
    assert [e["status"] for e in result["health"]] == ["ok", "ok", "ok"], result["health"]
