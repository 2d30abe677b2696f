"""The seed's case, checked from outside the play: units, ports, etcd, a real transfer.

Runs through testinfra on the lab host with the host's own tools (systemctl, ss, etcdctl),
not through the collection's verify role or its modules.
"""

import json
import os
import re

import testinfra.utils.ansible_runner

RUNNER = testinfra.utils.ansible_runner.AnsibleRunner(os.environ["MOLECULE_INVENTORY_FILE"])
testinfra_hosts = RUNNER.get_hosts("mooncake")

INSTANCES = {"prefill": 15624, "decode": 15625}
CONFIG_DIR = "/etc/mooncake/instances"
AGENT = "/opt/mooncake/venv/bin/python /opt/mooncake/bin/mooncake-agent"


def lab_ip(host):
    return RUNNER.get_variables(host.backend.host)["ansible_host"]


def listeners(host, port):
    """(address, pids) of every TCP listener on port, from ss."""
    out = host.check_output("ss -ltnpH 'sport = :%d'" % port)
    found = []
    for line in out.splitlines():
        fields = line.split()
        address = fields[3].rsplit(":", 1)[0]
        pids = {int(p) for p in re.findall(r"pid=(\d+)", line)}
        found.append((address, pids))
    return found


def main_pid(host, unit):
    return int(host.check_output("systemctl show --property=MainPID --value %s" % unit))


def etcdctl(host, *args):
    return host.check_output(
        "ETCDCTL_API=3 etcdctl --endpoints=http://%s:2379 %s" % (lab_ip(host), " ".join(args))
    )


def env_file(host, name):
    content = host.file("%s/%s.env" % (CONFIG_DIR, name)).content_string
    return dict(line.split("=", 1) for line in content.splitlines() if line and not line.startswith("#"))


def test_etcd_listens_only_on_explicit_addresses(host):
    assert host.service("mooncake-etcd").is_running
    addresses = {address for address, _pids in listeners(host, 2379)}
    assert addresses == {lab_ip(host), "127.0.0.1"}
    assert {address for address, _pids in listeners(host, 2380)} == {lab_ip(host)}
    # etcdctl prints the health line on stderr.
    health = host.run("ETCDCTL_API=3 etcdctl --endpoints=http://%s:2379 endpoint health" % lab_ip(host))
    assert health.rc == 0 and "is healthy" in health.stdout + health.stderr


def test_distribution_etcd_unit_is_masked(host):
    # is-enabled exits non-zero for a masked unit: read its answer, not its exit code.
    assert host.run("systemctl is-enabled etcd.service").stdout.strip() == "masked"


def test_each_instance_unit_is_active_and_owns_its_port(host):
    for name, port in INSTANCES.items():
        unit = "mooncake-instance@%s.service" % name
        assert host.check_output("systemctl is-active %s" % unit) == "active"
        pid = main_pid(host, unit)
        held = listeners(host, port)
        assert held, "nothing listens on %d" % port
        for _address, pids in held:
            assert pids == {pid}, "port %d held by %s, not %s (pid %d)" % (port, pids, unit, pid)


def test_random_ports_stay_in_each_instances_own_range(host):
    ranges = {}
    for name in INSTANCES:
        env = env_file(host, name)
        assert env["MC_LEGACY_RPC_PORT_BINDING"] == "1"
        assert env["MC_TCP_BIND_ADDRESS"] == lab_ip(host)
        ranges[name] = (int(env["MC_MIN_RPC_PORT"]), int(env["MC_MAX_RPC_PORT"]))
    (a_lo, a_hi), (b_lo, b_hi) = ranges["prefill"], ranges["decode"]
    assert a_hi < b_lo or b_hi < a_lo, "ranges overlap: %s" % ranges
    for name, port in INSTANCES.items():
        pid = main_pid(host, "mooncake-instance@%s.service" % name)
        out = host.check_output("ss -ltnpH")
        ports = {int(m.group(1)) for line in out.splitlines() if "pid=%d," % pid in line
                 for m in [re.search(r":(\d+)\s", line)] if m}
        others = ports - {port}
        assert others, "instance %s has no data port besides %d" % (name, port)
        lo, hi = ranges[name]
        assert all(lo <= p <= hi for p in others), "%s listens on %s outside %d-%d" % (name, others, lo, hi)


def test_instances_are_registered_in_etcd_with_the_host_ip(host):
    for name, port in INSTANCES.items():
        segment = "%s:%d" % (lab_ip(host), port)
        meta = json.loads(etcdctl(host, "get", "mooncake/rpc_meta/" + segment, "--print-value-only"))
        assert meta == {"ip_or_host_name": lab_ip(host), "rpc_port": port}
        ram = json.loads(etcdctl(host, "get", "mooncake/ram/" + segment, "--print-value-only"))
        assert ram["name"] == segment and ram["tcp_data_host"] == lab_ip(host)


def test_configs_name_their_own_port_and_etcd(host):
    for name, port in INSTANCES.items():
        config = json.loads(host.file("%s/%s.json" % (CONFIG_DIR, name)).content_string)
        assert config["local_hostname"] == "%s:%d" % (lab_ip(host), port)
        assert config["metadata_server"] == "etcd://%s:2379" % lab_ip(host)
        assert config["protocol"] == "tcp"


def test_prefill_writes_into_decode_and_reads_it_back(host):
    size = 64 << 20
    out = host.check_output(
        "%s transfer --socket /run/mooncake-prefill/control.sock --peer %s:%d --size %d --rounds 2"
        % (AGENT, lab_ip(host), INSTANCES["decode"], size)
    )
    result = json.loads(out)
    assert result["ok"] is True and result["match"] is True
    assert result["bytes"] == size
    assert result["write_gib_per_s"] > 0 and result["read_gib_per_s"] > 0
    print("prefill -> decode, 64 MiB: write %.2f GiB/s, read %.2f GiB/s"
          % (result["write_gib_per_s"], result["read_gib_per_s"]))


def test_etcd_data_dir_is_kept(host):
    data = host.file("/var/lib/mooncake-etcd/member")
    assert data.is_directory and data.user == "etcd"
