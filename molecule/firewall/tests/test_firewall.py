"""The firewall proven from outside: the outsider (a lab host in no deployment group, on the same
network) reaches none of the deployment's ports while the deployment's hosts reach theirs and ssh
stays open; other tables are left alone; a host added to the group mooncake is let in by the next
run and shut out again when removed; check mode is honest; false removes it; firewalld makes the
role refuse naming the ports; the rules survive a restart of the host.

Commands run in the lab containers with `podman exec` (TCP connects with bash's /dev/tcp)."""

import json
import os
import re
import subprocess
import time

import yaml

INVENTORY_DIR = os.path.dirname(os.environ["MOLECULE_INVENTORY_FILE"])
REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
SCENARIO = os.path.join(REPO, "molecule", "firewall")
os.environ.setdefault("CONTAINERS_CONF", os.path.join(REPO, "scripts", "lab", "containers.conf"))
with open(os.path.join(SCENARIO, "inventory", "group_vars", "lab.yml")) as _handle:
    LAB = yaml.safe_load(_handle)["mooncake_lab_name"]
with open(os.path.join(SCENARIO, "inventory", "hosts.yml")) as _handle:
    IPS = {name: spec["ansible_host"] for name, spec in yaml.safe_load(_handle)["all"]["children"]["lab"]["hosts"].items()}
# The instances' ports: node1's given, node2's planned from its port base; each instance's
# RPC/data range planned from 20000 in list order (the third, on P2PHANDSHAKE, has no port).
PORTS = {"node1": [2379, 2380, 15624, 15625], "node2": [15700, 15701]}
RANGES = [(20000, 20299)]
P2P_RANGE = (20200, 20299)
REPORT = os.path.join(INVENTORY_DIR, ".lab", "reports", "verify-report.json")
AGENT = "/opt/mooncake/venv/bin/python /opt/mooncake/bin/mooncake-agent"


def sh(host, command, check=True, timeout=120):
    run = subprocess.run(["podman", "exec", "%s-%s" % (LAB, host), "bash", "-c", command],
                         capture_output=True, text=True, timeout=timeout, check=False)
    if check:
        assert run.returncode == 0, "%s on %s: rc %d\n%s%s" % (command, host, run.returncode, run.stdout, run.stderr)
    return run


def connects(src, dst, port, timeout=3):
    """A TCP connection from src to dst's address opens within timeout seconds."""
    return sh(src, "timeout %d bash -c 'exec 3<>/dev/tcp/%s/%d'" % (timeout, IPS[dst], port), check=False).returncode == 0


def listening(host):
    """The TCP ports the host listens on (any address)."""
    out = sh(host, "ss -ltnH").stdout
    return {int(m) for m in re.findall(r"\S+:(\d+)\s+\S+:\*", out)}


def deployment_ports(host):
    """The host's filtered ports that really listen, with one port of the engines' ranges."""
    held = listening(host)
    ports = [p for p in PORTS[host] if p in held]
    assert ports == PORTS[host], "not listening on %s: %s" % (host, sorted(set(PORTS[host]) - held))
    in_range = sorted(p for p in held if any(low <= p <= high for low, high in RANGES))
    assert in_range, "%s: nothing listens in the instances' ranges %s" % (host, RANGES)
    return ports + in_range


def firewall_play(*extra, timeout=600):
    run = subprocess.run(["ansible-playbook", os.path.join(REPO, "playbooks", "firewall.yml"), "-i", INVENTORY_DIR] + list(extra),
                         cwd=REPO, capture_output=True, text=True, timeout=timeout, check=False,
                         env=dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), ANSIBLE_NOCOLOR="1"))
    return run.returncode, run.stdout + run.stderr


def recap(output):
    found = {}
    for match in re.finditer(r"^(\S+)\s+:\s+((?:\w+=\d+\s*)+)$", output, re.M):
        found[match.group(1)] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", match.group(2))}
    return found


def converged():
    rc, output = firewall_play()
    assert rc == 0, output
    return recap(output)


def wait_for(what, predicate, timeout, interval=1.0):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError("%s: not within %d s (last: %r)" % (what, timeout, last))


def test_a_table_loaded_by_an_enabled_unit_on_the_deployment_hosts_only():
    for host in ("node1", "node2"):
        assert "table inet mooncake" in sh(host, "nft list table inet mooncake").stdout
        assert sh(host, "systemctl is-enabled mooncake-firewall.service; systemctl is-active mooncake-firewall.service"
                  ).stdout.split() == ["enabled", "active"]
    assert sh("outsider", "test -e /etc/systemd/system/mooncake-firewall.service", check=False).returncode != 0


def test_b_outsider_reaches_no_deployment_port_but_ssh():
    for host in ("node1", "node2"):
        for port in deployment_ports(host):
            assert not connects("outsider", host, port), "outsider reached %s:%d" % (host, port)
        assert connects("outsider", host, 22), "ssh closed on %s" % host


def test_c_deployment_hosts_reach_the_ports_they_need_and_only_those():
    for port in deployment_ports("node2"):
        assert connects("node1", "node2", port), "node1 cannot reach node2:%d" % port
    for port in deployment_ports("node1"):
        if port == 2380:
            # etcd's peer port: members only, and node2 is none.
            assert not connects("node2", "node1", port)
        else:
            assert connects("node2", "node1", port), "node2 cannot reach node1:%d" % port
    # The drops are counted.
    assert re.search(r"counter packets [1-9]\d* bytes \d+ drop", sh("node1", "nft list table inet mooncake").stdout)


def test_d_transfers_across_the_hosts_through_the_firewall():
    for src, dst, port in (("node1", "node2", 15701), ("node2", "node1", 15625)):
        run = sh(src, "%s transfer --socket /run/mooncake-prefill/control.sock --peer %s:%d --size %d --rounds 1"
                 % (AGENT, IPS[dst], port, 16 << 20), check=False)
        assert run.returncode == 0 and '"match": true' in run.stdout, run.stdout + run.stderr


def test_d2_agents_on_p2phandshake_transfer_across_the_firewall_at_the_ports_their_engines_picked():
    """The verification (converge's site.yml) asked node2's p2p-decode which port its engine
    picked and wrote into it from node1's p2p-prefill; the etcd prefills did not try it."""
    with open(REPORT) as handle:
        entries = {(h["host"], i["instance"]): i for h in json.load(handle) for i in h["instances"]}
    decode = entries[("node2", "p2p-decode")]
    address, port = decode["segment"].rsplit(":", 1)
    assert address == IPS["node2"] and P2P_RANGE[0] <= int(port) <= P2P_RANGE[1], decode
    assert decode["port"]["ok"] and {h["unit"] for h in decode["port"]["holders"]} == {"mooncake-instance@p2p-decode.service"}
    assert decode["etcd"]["ok"] is None  # no registration on P2PHANDSHAKE
    transfers = entries[("node1", "p2p-prefill")]["transfers"]
    assert [(t["peer"], t["segment"], t["ok"], t["result"].get("match")) for t in transfers] == [
        ("node2/p2p-decode", decode["segment"], True, True)]
    for host in ("node1", "node2"):
        assert "node2/p2p-decode" not in [t["peer"] for t in entries[(host, "prefill")]["transfers"]]
    # The port it listens on now is the one reported, and it is held by its unit (still up).
    assert int(port) in listening("node2")


def test_d3_every_prefill_started_before_any_decode_on_either_host():
    """The instances role restarts the prefills of every host first, then the others (fresh
    deploy: every instance is new). Both hosts share the kernel's monotonic clock."""
    roles = {"prefill": "prefill", "p2p-prefill": "prefill", "decode": "decode", "p2p-decode": "decode"}
    starts = {"prefill": [], "decode": []}
    for host in ("node1", "node2"):
        out = sh(host, "systemctl show -p Id -p ExecMainStartTimestampMonotonic 'mooncake-instance@*.service'").stdout
        for block in out.strip().split("\n\n"):
            fields = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
            name = fields["Id"][len("mooncake-instance@"):-len(".service")]
            starts[roles[name]].append((int(fields["ExecMainStartTimestampMonotonic"]), host, name))
    assert len(starts["prefill"]) == 3 and len(starts["decode"]) == 3, starts
    assert max(starts["prefill"]) < min(starts["decode"]), starts


def test_e_other_tables_are_left_alone():
    sh("node1", "nft 'add table inet othertest; add chain inet othertest c { type filter hook input priority 10; }'")
    try:
        sh("node1", "nft delete table inet mooncake")
        counts = converged()
        assert counts["node1"]["changed"] >= 1, counts
        assert "table inet othertest" in sh("node1", "nft list tables").stdout
        assert "table inet mooncake" in sh("node1", "nft list tables").stdout
    finally:
        sh("node1", "nft delete table inet othertest", check=False)


def test_f_check_mode_is_honest():
    converged()
    rc, output = firewall_play("--check", "--diff")
    assert rc == 0, output
    assert all(c["changed"] == 0 for c in recap(output).values()), output
    assert "+++ after" not in output, output
    sh("node2", "nft delete table inet mooncake")
    rc, output = firewall_play("--check", "--diff")
    assert rc == 0, output
    assert recap(output)["node2"]["changed"] >= 1 and recap(output)["node1"]["changed"] == 0, output
    assert sh("node2", "nft list table inet mooncake", check=False).returncode != 0, "check mode loaded the table"
    assert converged()["node2"]["changed"] >= 1
    assert not connects("outsider", "node2", 15700)


def test_g_a_host_added_to_the_group_is_let_in_and_shut_out_when_removed():
    extra = os.path.join(SCENARIO, "tests", "outsider_in_mooncake.yml")
    rc, output = firewall_play("-i", extra, "--limit", "node1,node2")
    assert rc == 0, output
    counts = recap(output)
    assert counts["node1"]["changed"] >= 1 and counts["node2"]["changed"] >= 1, output
    for host, port in (("node1", 15624), ("node1", 2379), ("node2", 15700)):
        assert connects("outsider", host, port), "the added host cannot reach %s:%d" % (host, port)
    assert not connects("outsider", "node1", 2380)
    counts = converged()
    assert counts["node1"]["changed"] >= 1, counts
    for host, port in (("node1", 15624), ("node1", 2379), ("node2", 15700)):
        assert not connects("outsider", host, port), "the removed host still reaches %s:%d" % (host, port)
    assert all(c["changed"] == 0 for c in converged().values())


def test_h_disabled_removes_the_table_and_the_unit_and_enabled_brings_them_back():
    rc, output = firewall_play("--limit", "node2", "-e", "mooncake_firewall_enabled=false")
    assert rc == 0, output
    assert sh("node2", "nft list table inet mooncake", check=False).returncode != 0
    assert sh("node2", "test -e /etc/systemd/system/mooncake-firewall.service", check=False).returncode != 0
    assert connects("outsider", "node2", 15700)
    assert converged()["node2"]["changed"] >= 1
    assert not connects("outsider", "node2", 15700)


def test_i_an_active_firewalld_is_refused_naming_the_ports_to_open():
    sh("node2", "printf '[Service]\\nType=oneshot\\nRemainAfterExit=yes\\nExecStart=/bin/true\\n' "
                ">/etc/systemd/system/firewalld.service && systemctl daemon-reload && systemctl start firewalld")
    try:
        rc, output = firewall_play("--limit", "node2")
        assert rc != 0, output
        assert "host node2: firewalld is active" in output, output
        assert "source address=10.231.2.11 port port=15700 protocol=tcp accept" in output, output
    finally:
        sh("node2", "systemctl stop firewalld; rm -f /etc/systemd/system/firewalld.service; systemctl daemon-reload")
    assert all(c["changed"] == 0 for c in converged().values())


def test_z_rules_survive_a_restart_of_the_host():
    subprocess.run(["podman", "restart", "-t", "10", "%s-node1" % LAB], check=True, capture_output=True, timeout=120)

    def booted():
        state = sh("node1", "systemctl is-system-running --wait", check=False, timeout=90).stdout.strip()
        return state in ("running", "degraded")

    wait_for("node1's systemd running", booted, 120)
    assert "table inet mooncake" in sh("node1", "nft list table inet mooncake").stdout
    wait_for("etcd healthy after the restart", lambda: sh(
        "node1", "ETCDCTL_API=3 etcdctl --command-timeout=5s --endpoints=http://%s:2379 endpoint health" % IPS["node1"],
        check=False).returncode == 0, 90)
    wait_for("node1's instances listening", lambda: set(PORTS["node1"]) <= listening("node1"), 120)
    for port in PORTS["node1"]:
        assert not connects("outsider", "node1", port), "outsider reached node1:%d after the restart" % port
    assert connects("node2", "node1", 2379) and connects("node2", "node1", 15624)
    assert connects("outsider", "node1", 22)
