"""Two real mooncake agents on 127.0.0.1 against a real etcd.

Needs MOONCAKE_TEST_ETCD (path of an etcd binary) and a Python that imports
mooncake.engine (MOONCAKE_TEST_PYTHON, default: this interpreter). Skips with
the reason otherwise. Everything started here is stopped by PID.
"""
import json
import os
import random
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from etcd_process import HOST, START_TIMEOUT, etcd_delete, etcd_keys, etcd_put, running_etcd, stop, wait_until

AGENT = Path(__file__).resolve().parents[2] / "roles/instances/files/mooncake_agent.py"
MIB = 1 << 20
TRANSFER_SIZE = 4 * MIB
BUFFER_SIZE = 16 * MIB          # >= 2 x TRANSFER_SIZE: write half + read-back half
RANGE_WIDTH = 50                # random-port range per agent


# ---------------------------------------------------------------- helpers

def port_is_free(port):
    with socket.socket() as sock:
        try:
            sock.bind(("0.0.0.0", port))  # the engine binds 0.0.0.0
        except OSError:
            return False
    return True


def free_block(width, taken):
    """A run of free ports below the ephemeral range, as the engine requires."""
    for _attempt in range(200):
        first = random.randrange(20000, 30000 - width)
        block = range(first, first + width)
        if not taken.intersection(block) and all(map(port_is_free, block)):
            taken.update(block)
            return block
    raise RuntimeError(f"no block of {width} free ports found")


def agent_cli(python, *args):
    result = subprocess.run([python, str(AGENT), *args], capture_output=True,
                            text=True, timeout=60, check=False)
    return result.returncode, json.loads(result.stdout)


def listening_ports(pid):
    """{(address, port)} of the TCP sockets pid listens on, from ss -ltnpH."""
    out = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True,
                         check=True).stdout
    found = set()
    for line in out.splitlines():
        fields = line.split()
        if f"pid={pid}," in line:
            address, _sep, port = fields[3].rpartition(":")
            found.add((address, int(port)))
    return found


# ---------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def python():
    exe = os.environ.get("MOONCAKE_TEST_PYTHON", sys.executable)
    probe = subprocess.run([exe, "-c", "import mooncake.engine"],
                           capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        pytest.skip(f"mooncake.engine does not import in {exe} "
                    f"(set MOONCAKE_TEST_PYTHON): {probe.stderr.strip()[-300:]}")
    if shutil.which("ss") is None:
        pytest.skip("ss (iproute2) is not installed")
    return exe


@pytest.fixture(scope="module")
def ports():
    return set()


@pytest.fixture(scope="module")
def etcd(python, ports, tmp_path_factory):
    binary = os.environ.get("MOONCAKE_TEST_ETCD")
    if not binary:
        pytest.skip("MOONCAKE_TEST_ETCD (path of an etcd binary) is not set")
    client, peer = free_block(2, ports)
    tmp = tmp_path_factory.mktemp("etcd")
    with running_etcd(binary, tmp, client, peer, "test"):
        yield client


class Agent:
    """One `serve` subprocess with its own config, socket and port range."""

    def __init__(self, python, etcd_port, ports, workdir, name, wait=True, metadata_server=None, address_only=False):
        self.python = python
        self.port = free_block(1, ports)[0]
        self.segment = f"{HOST}:{self.port}"
        self.rpc_range = free_block(RANGE_WIDTH, ports)
        self.socket = str(workdir / f"{name}.sock")
        self.log = workdir / f"{name}.log"
        config = self.config = workdir / f"{name}.json"
        config.write_text(json.dumps({
            # address_only: as the instances role writes an agent on P2PHANDSHAKE (no port of its own).
            "local_hostname": HOST if address_only else self.segment,
            "metadata_server": metadata_server or f"etcd://{HOST}:{etcd_port}",
            "protocol": "tcp", "device_name": "", "buffer_size": BUFFER_SIZE,
            "control_socket": self.socket, "name": name}))
        env = dict(os.environ, MC_LEGACY_RPC_PORT_BINDING="1",
                   MC_TCP_BIND_ADDRESS=HOST, MC_FORCE_TCP="1",
                   MC_MIN_RPC_PORT=str(self.rpc_range[0]),
                   MC_MAX_RPC_PORT=str(self.rpc_range[-1]))
        env.pop("NOTIFY_SOCKET", None)
        with self.log.open("w") as out:
            self.proc = subprocess.Popen(
                [python, str(AGENT), "serve", "--config", str(config)],
                stdout=out, stderr=subprocess.STDOUT, env=env)
        if wait:
            self.wait_ready()

    def wait_ready(self):
        wait_until(lambda: os.path.exists(self.socket), START_TIMEOUT,
                   f"agent {self.config.stem}", self.proc, self.log)

    def cli(self, *args):
        return agent_cli(self.python, *args, "--socket", self.socket)


@pytest.fixture(scope="module")
def agents(python, etcd, ports, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("agents")
    started = []
    try:
        for name in ("prefill", "decode"):
            started.append(Agent(python, etcd, ports, workdir, name))
        yield started
    finally:
        for agent in started:
            stop(agent.proc)


# ---------------------------------------------------------------- tests

def test_ping_reports_segment(agents):
    for agent in agents:
        rc, reply = agent.cli("ping")
        assert rc == 0, reply
        assert reply["ok"] is True
        assert reply["segment"] == agent.segment
        assert reply["rpc_port"] == agent.port  # legacy binding: the configured port
        assert reply["buffer_size"] == BUFFER_SIZE
        assert reply["registered"] is True
        assert reply["registration"] == {"ip_or_host_name": HOST, "rpc_port": agent.port}


def test_ping_registered_fails_once_the_key_is_gone(agents, etcd):
    agent = agents[1]
    saved = etcd_keys(etcd)[f"mooncake/rpc_meta/{agent.segment}"]
    etcd_delete(etcd, f"mooncake/rpc_meta/{agent.segment}")
    try:
        rc, reply = agent.cli("ping", "--registered")
        assert rc == 1 and reply["ok"] is True and reply["registered"] is False and reply["registration"] is None
        assert agent.cli("ping")[0] == 0  # up, just not findable
    finally:
        etcd_put(etcd, f"mooncake/rpc_meta/{agent.segment}", json.dumps(saved))
    assert agent.cli("ping", "--registered")[0] == 0


@pytest.mark.parametrize("direction", [(0, 1), (1, 0)], ids=["prefill->decode", "decode->prefill"])
def test_transfer_matches(agents, direction):
    source, target = (agents[i] for i in direction)
    rc, reply = source.cli("transfer", "--peer", target.segment,
                           "--size", str(TRANSFER_SIZE), "--rounds", "2")
    assert rc == 0, reply
    assert reply["ok"] is True and reply["match"] is True
    assert reply["bytes"] == TRANSFER_SIZE
    assert reply["write_gib_per_s"] > 0 and reply["read_gib_per_s"] > 0


def test_bad_requests_are_answered_not_fatal(agents):
    agent = agents[0]
    rc, reply = agent.cli("transfer", "--peer", f"{HOST}:1", "--size", "1024")
    assert rc == 1 and reply["ok"] is False and f"{HOST}:1" in reply["error"]
    rc, reply = agent.cli("transfer", "--peer", agents[1].segment,
                          "--size", str(BUFFER_SIZE))
    assert rc == 1 and reply["ok"] is False and "buffer" in reply["error"]
    assert agent.cli("ping")[0] == 0


def test_each_agent_listens_on_its_port_and_range_only(agents):
    for agent in agents:
        listening = listening_ports(agent.proc.pid)
        outside_range = {p for _addr, p in listening if p not in agent.rpc_range}
        assert outside_range == {agent.port}, listening
        assert ("0.0.0.0", agent.port) in listening


def test_metadata_advertises_segment(agents, etcd):
    keys = etcd_keys(etcd)
    for agent in agents:
        rpc = keys[f"mooncake/rpc_meta/{agent.segment}"]
        assert (rpc["ip_or_host_name"], rpc["rpc_port"]) == (HOST, agent.port)
        ram = keys[f"mooncake/ram/{agent.segment}"]
        assert ram["tcp_data_host"] == HOST
        assert ram["tcp_data_port"] in agent.rpc_range


def test_clean_stop_removes_socket_and_metadata(python, etcd, ports, tmp_path):
    agent = Agent(python, etcd, ports, tmp_path, "shortlived")
    try:
        assert f"mooncake/ram/{agent.segment}" in etcd_keys(etcd)
    finally:
        assert stop(agent.proc) == 0, agent.log.read_text()
    assert not os.path.exists(agent.socket)
    assert not [k for k in etcd_keys(etcd) if k.endswith(agent.segment)]


def segment_keys(etcd, segment):
    return sorted(k for k in etcd_keys(etcd) if k.endswith("/" + segment))


def test_crash_leaves_keys_and_clean_metadata_removes_them(python, etcd, ports, tmp_path):
    agent = Agent(python, etcd, ports, tmp_path, "crashy")
    agent.proc.kill()  # SIGKILL: no destructor, the engine's keys stay behind
    agent.proc.wait()
    stale = segment_keys(etcd, agent.segment)
    assert stale == [f"mooncake/ram/{agent.segment}", f"mooncake/rpc_meta/{agent.segment}"]
    result = subprocess.run([python, str(AGENT), "clean-metadata", "--config", str(agent.config)],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert f"removed 2 metadata key(s) of {agent.segment}" in result.stderr
    assert segment_keys(etcd, agent.segment) == []


def test_clean_metadata_leaves_a_live_segment_alone(python, agents, etcd):
    # Same segment, port held: the keys belong to the process holding the port.
    live = agents[0]
    result = subprocess.run([python, str(AGENT), "clean-metadata", "--config", str(live.config)],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0
    assert "is held by another process; leaving the metadata of that segment alone" in result.stderr
    assert len(segment_keys(etcd, live.segment)) == 2
    assert live.cli("ping")[0] == 0


def test_start_removes_stale_keys_first(python, etcd, ports, tmp_path):
    agent = Agent(python, etcd, ports, tmp_path, "restarted")
    agent.proc.kill()
    agent.proc.wait()
    os.unlink(agent.socket)  # so that wait_ready waits for the new agent's socket
    env = dict(os.environ, MC_LEGACY_RPC_PORT_BINDING="1", MC_TCP_BIND_ADDRESS=HOST,
               MC_FORCE_TCP="1", MC_MIN_RPC_PORT=str(agent.rpc_range[0]),
               MC_MAX_RPC_PORT=str(agent.rpc_range[-1]))
    with agent.log.open("w") as out:
        agent.proc = subprocess.Popen([python, str(AGENT), "serve", "--config", str(agent.config)],
                                      stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        agent.wait_ready()
        assert f"removed 2 stale metadata key(s) of {agent.segment}" in agent.log.read_text()
        rpc = etcd_keys(etcd)[f"mooncake/rpc_meta/{agent.segment}"]
        assert (rpc["ip_or_host_name"], rpc["rpc_port"]) == (HOST, agent.port)
    finally:
        assert stop(agent.proc) == 0, agent.log.read_text()
    assert segment_keys(etcd, agent.segment) == []


def test_waits_for_etcd_then_starts(python, ports, tmp_path):
    binary = os.environ.get("MOONCAKE_TEST_ETCD")
    if not binary:
        pytest.skip("MOONCAKE_TEST_ETCD (path of an etcd binary) is not set")
    client, peer = free_block(2, ports)
    agent = Agent(python, client, ports, tmp_path, "patient", wait=False)
    try:
        wait_until(lambda: "unreachable" in agent.log.read_text(), START_TIMEOUT,
                   "the agent's unreachable message", agent.proc, agent.log)
        assert f"metadata server etcd://{HOST}:{client} unreachable" in agent.log.read_text()
        assert not os.path.exists(agent.socket)
        with running_etcd(binary, tmp_path, client, peer, "late"):
            agent.wait_ready()
            assert f"mooncake/rpc_meta/{agent.segment}" in etcd_keys(client)
            assert stop(agent.proc) == 0, agent.log.read_text()
    finally:
        stop(agent.proc)


def test_agents_on_p2phandshake_transfer_without_any_etcd_at_the_engines_own_rpc_port(python, ports, tmp_path):
    """metadata_server P2PHANDSHAKE (what vLLM and SGLang use): no etcd at all. Measured with the
    0.3.13.post1 engine: MC_LEGACY_RPC_PORT_BINDING is not applied then, the engine's handshake
    listens on a random port of its MC_MIN/MAX_RPC_PORT range (ping's rpc_port), and a peer is
    reached as IP:rpc_port - its configured port refuses. The instances role writes such an agent's
    local_hostname as its address alone; the verification reads the segment from the ping."""
    started = []
    try:
        for name in ("p2p-prefill", "p2p-decode"):
            started.append(Agent(python, None, ports, tmp_path, name, metadata_server="P2PHANDSHAKE", address_only=name == "p2p-decode"))
        pings = []
        for agent in started:
            rc, reply = agent.cli("ping", "--registered")
            assert rc == 0 and reply["ok"] is True and "registered" not in reply, reply
            assert reply["rpc_port"] != agent.port and agent.rpc_range[0] <= reply["rpc_port"] <= agent.rpc_range[-1], reply
            # The segment peers reach, as the verification reads it from the ping.
            assert reply["segment"] == "%s:%d" % (HOST, reply["rpc_port"]), reply
            pings.append(reply)
        for (a, b), b_ping in (((started[0], started[1]), pings[1]), ((started[1], started[0]), pings[0])):
            rc, reply = a.cli("transfer", "--peer", b_ping["segment"], "--size", str(TRANSFER_SIZE), "--rounds", "2")
            assert rc == 0, reply
            assert reply["ok"] is True and reply["match"] is True and reply["bytes"] == TRANSFER_SIZE
            rc, reply = a.cli("transfer", "--peer", b.segment, "--size", str(TRANSFER_SIZE), "--rounds", "1")
            assert rc != 0 and "no segment" in reply["error"], reply
    finally:
        for agent in started:
            stop(agent.proc)
