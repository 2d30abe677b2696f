"""Helpers for the 3-host lab's tests: commands run in the lab containers with `podman exec`
(the hosts' own systemctl, ss, etcdctl and the agent), and site.yml run as users run it."""

import base64
import json
import os
import re
import signal
import subprocess
import time

import yaml

INVENTORY_FILE = os.environ["MOLECULE_INVENTORY_FILE"]
INVENTORY_DIR = os.path.dirname(INVENTORY_FILE)
REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
# podman as labctl runs it (netavark, runc): a plain call may pick another network backend,
# which cannot start a restarted lab container and leaves its address allocated.
os.environ.setdefault("CONTAINERS_CONF", os.path.join(REPO, "scripts", "lab", "containers.conf"))
SCENARIO = os.path.join(REPO, "molecule", "lab")
with open(os.path.join(SCENARIO, "inventory", "group_vars", "lab.yml")) as _handle:
    LAB = yaml.safe_load(_handle)["mooncake_lab_name"]
with open(os.path.join(SCENARIO, "inventory", "hosts.yml")) as _handle:
    IPS = {name: spec["ansible_host"] for name, spec in yaml.safe_load(_handle)["all"]["children"]["lab"]["hosts"].items()}
ETCD = "http://%s:2379" % IPS["etcd1"]
AGENT = "/opt/mooncake/venv/bin/python /opt/mooncake/bin/mooncake-agent"
# host -> {instance: (role, port)}: node1's ports are given, node2's planned from its port base.
INSTANCES = {
    "node1": {"prefill": ("prefill", 15624), "decode": ("decode", 15625)},
    "node2": {"prefill": ("prefill", 15700), "decode": ("decode", 15701)},
}


def segment(host, name):
    return "%s:%d" % (IPS[host], INSTANCES[host][name][1])


def sh(host, command, check=True, timeout=120):
    """Run a shell command as root on a lab host; returns the CompletedProcess."""
    run = subprocess.run(["podman", "exec", "%s-%s" % (LAB, host), "bash", "-c", command],
                         capture_output=True, text=True, timeout=timeout, check=False)
    if check:
        assert run.returncode == 0, "%s on %s: rc %d\n%s%s" % (command, host, run.returncode, run.stdout, run.stderr)
    return run


def unit(host, name):
    """systemctl show of an instance's unit: ActiveState, SubState, MainPID, NRestarts, Result."""
    out = sh(host, "systemctl show --property=ActiveState,SubState,MainPID,NRestarts,Result "
                   "mooncake-instance@%s.service" % name).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def port_pids(host, port):
    """PIDs holding TCP listeners on port, from ss."""
    out = sh(host, "ss -ltnpH 'sport = :%d'" % port).stdout
    return {int(pid) for pid in re.findall(r"pid=(\d+)", out)}


def etcdctl(args, check=True):
    return sh("etcd1", "ETCDCTL_API=3 etcdctl --command-timeout=5s --endpoints=%s %s" % (ETCD, args), check=check)


def etcd_keys(prefix):
    """{key: value} under prefix."""
    out = etcdctl("get --prefix %s -w json" % prefix).stdout
    kvs = json.loads(out).get("kvs") or []
    return {base64.b64decode(kv["key"]).decode(): base64.b64decode(kv["value"]).decode() for kv in kvs}


def registration(host, name):
    """The rpc_meta keys of one instance's segment (exactly one when it is registered)."""
    seg = segment(host, name)
    return {key: json.loads(value) for key, value in etcd_keys("mooncake/rpc_meta/").items()
            if key == "mooncake/rpc_meta/" + seg}


def registered_right(host, name):
    keys = registration(host, name)
    return keys == {"mooncake/rpc_meta/" + segment(host, name):
                    {"ip_or_host_name": IPS[host], "rpc_port": INSTANCES[host][name][1]}}


def transfer(src_host, dst_host, size=16 << 20, check=True):
    """node/prefill writes size bytes into dst_host's decode and reads them back."""
    run = sh(src_host, "%s transfer --socket /run/mooncake-prefill/control.sock --peer %s --size %d --rounds 1"
             % (AGENT, segment(dst_host, "decode"), size), check=False)
    result = json.loads(run.stdout) if run.stdout.startswith("{") else {"ok": False, "error": run.stderr}
    if check:
        assert run.returncode == 0 and result.get("ok") is True and result.get("match") is True \
            and result.get("bytes") == size, "%s/prefill -> %s/decode: %s" % (src_host, dst_host, result)
    return result


def wait_for(what, predicate, timeout, interval=1.0):
    """Poll predicate until it returns something true; fail naming what was awaited."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError("%s: not within %d s (last: %r)" % (what, timeout, last))


def playbook_command(*extra):
    return ["ansible-playbook", os.path.join(REPO, "site.yml"), "-i", INVENTORY_DIR] + list(extra)


def playbook_env():
    return dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
                ANSIBLE_FORCE_COLOR="0")


def site(*extra, timeout=900):
    """ansible-playbook site.yml on the lab; returns (rc, output)."""
    run = subprocess.run(playbook_command(*extra), cwd=REPO, capture_output=True, text=True, timeout=timeout,
                         check=False, env=playbook_env())
    return run.returncode, run.stdout + run.stderr


def recap(output):
    """{host: {ok, changed, failed, ...}} from a play recap."""
    found = {}
    for match in re.finditer(r"^(\S+)\s+:\s+((?:\w+=\d+\s*)+)$", output, re.M):
        found[match.group(1)] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", match.group(2))}
    return found


def interrupt_site_at(marker, sig=signal.SIGINT, timeout=900):
    """Start site.yml, send sig to its process group once a line containing marker is printed.

    Returns (rc, output, interrupted) - interrupted is False when the run ended before the marker.
    """
    proc = subprocess.Popen(playbook_command(), cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=playbook_env(), start_new_session=True)
    lines, interrupted = [], False
    deadline = time.time() + timeout
    for line in proc.stdout:
        lines.append(line)
        if not interrupted and marker in line:
            os.killpg(proc.pid, sig)
            interrupted = True
        assert time.time() < deadline, "site.yml still running after %d s" % timeout
    rc = proc.wait(timeout=120)
    return rc, "".join(lines), interrupted


def lab_healthy():
    """Every instance active, owning its port, registered right; one transfer per pair works."""
    for host, instances in INSTANCES.items():
        for name, (_role, port) in instances.items():
            state = unit(host, name)
            assert state["ActiveState"] == "active", (host, name, state)
            assert port_pids(host, port) == {int(state["MainPID"])}, (host, name, port)
            assert registered_right(host, name), (host, name, registration(host, name))
    expected = {"mooncake/rpc_meta/" + segment(h, n) for h in INSTANCES for n in INSTANCES[h]}
    assert set(etcd_keys("mooncake/rpc_meta/")) == expected, "stale or missing rpc_meta keys"
    assert set(etcd_keys("mooncake/ram/")) == {k.replace("rpc_meta", "ram") for k in expected}, \
        "stale or missing ram keys"
    for src in INSTANCES:
        for dst in INSTANCES:
            transfer(src, dst)


def eventually_healthy(what, timeout):
    """lab_healthy() within timeout seconds (peers reconnect to etcd with a backoff); returns the seconds it took."""
    started = time.time()
    errors = []

    def attempt():
        try:
            lab_healthy()
        except AssertionError as exc:
            errors[:] = [str(exc).splitlines()[0]]
            return False
        return True
    try:
        wait_for(what, attempt, timeout, interval=3)
    except AssertionError:
        raise AssertionError("%s: not healthy within %d s; last problem: %s" % (what, timeout, errors))
    return time.time() - started
