#!/usr/bin/env python
"""Keep one Mooncake transfer engine up under systemd and check its data path.

  serve --config PATH        run the engine, register a buffer, answer a unix
                             control socket until SIGTERM/SIGINT
  transfer --socket PATH --peer IP:PORT [--size N] [--rounds R]
                             ask a running agent to write N random bytes into
                             the peer's registered memory and read them back
  ping --socket PATH         ask a running agent whether it is up
  check-config PATH          validate a config file and exit
  clean-metadata --config PATH
                             remove this instance's keys from etcd (systemd's
                             ExecStopPost: a crashed engine leaves them behind)

Control protocol: one JSON request line in, one JSON response line out.
Standard library only, besides mooncake.engine (imported by `serve` alone).
"""
import argparse
import base64
import json
import logging
import os
import re
import signal
import socket
import socketserver
import stat
import sys
import threading
import time
import urllib.error
import urllib.request

LOG = logging.getLogger("mooncake_agent")

GIB = 1 << 30
REQUIRED_KEYS = ("local_hostname", "metadata_server", "protocol",
                 "device_name", "buffer_size", "control_socket", "name")
PROTOCOLS = ("tcp", "rdma")
HOSTPORT_RE = re.compile(r"^[A-Za-z0-9_.:\[\]-]+:\d{1,5}$")
HOST_RE = re.compile(r"^[A-Za-z0-9_.:\[\]-]+$")
P2P = "P2PHANDSHAKE"
MAX_REQUEST_BYTES = 64 * 1024
MAX_ROUNDS = 100
REQUEST_READ_TIMEOUT = 10      # seconds a client may take to send its line
STOP_WAIT = 60                 # seconds to let a running transfer finish on stop
STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}
# Set: the engine binds exactly the local_hostname port (on 0.0.0.0).
LEGACY_BINDING_ENV = "MC_LEGACY_RPC_PORT_BINDING"
# The keys a segment registers in etcd (the engine deletes them on a clean stop only).
SEGMENT_KEY_PREFIXES = ("mooncake/rpc_meta/", "mooncake/ram/")
METADATA_TIMEOUT = 3           # seconds per request to the metadata server
METADATA_LOG_EVERY = 30        # seconds between two "still waiting" lines


class AgentError(Exception):
    """A failure to report to the caller (or the journal), not a crash."""


# ---------------------------------------------------------------- config

def load_config(path):
    try:
        with open(path, encoding="utf-8") as fh:
            cfg = json.load(fh)
    except (OSError, ValueError) as exc:
        raise AgentError(f"cannot read config {path}: {exc}") from exc
    if not isinstance(cfg, dict):
        raise AgentError(f"config {path}: expected a JSON object")
    missing = [key for key in REQUIRED_KEYS if key not in cfg]
    if missing:
        raise AgentError(f"config {path}: missing keys {', '.join(missing)}")
    # On P2PHANDSHAKE the engine picks its port from MC_MIN/MAX_RPC_PORT: the address alone.
    p2p = cfg["metadata_server"] == P2P
    if not isinstance(cfg["local_hostname"], str) or not (
            HOSTPORT_RE.match(cfg["local_hostname"]) or p2p and HOST_RE.match(cfg["local_hostname"])):
        raise AgentError(f"config {path}: local_hostname must be 'ip:port'"
                         + (" or 'ip'" if p2p else ""))
    if cfg["protocol"] not in PROTOCOLS:
        raise AgentError(f"config {path}: protocol must be one of {PROTOCOLS}")
    size = cfg["buffer_size"]
    if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
        raise AgentError(f"config {path}: buffer_size must be a positive integer")
    cfg["device_name"] = cfg["device_name"] or ""
    return cfg


# ---------------------------------------------------------------- systemd

def sd_notify(*assignments):
    """Send state lines to systemd (Type=notify); a no-op outside systemd."""
    target = os.environ.get("NOTIFY_SOCKET")
    if not target:
        return
    if target.startswith("@"):  # abstract namespace socket
        target = "\0" + target[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.connect(target)
            sock.sendall("\n".join(assignments).encode())
    except OSError as exc:
        LOG.warning("sd_notify failed: %s", exc)


# ---------------------------------------------------------------- metadata

def etcd_endpoints(metadata_server):
    """["http://host:port", ...] of an etcd:// metadata server, [] for any other form."""
    if not metadata_server.startswith("etcd://"):
        return []
    return ["http://" + endpoint.strip() for endpoint in metadata_server[len("etcd://"):].split(",")]


def etcd_call(endpoint, path, body):
    """POST a JSON body to etcd's v3 gateway; the decoded reply."""
    request = urllib.request.Request(endpoint + path, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=METADATA_TIMEOUT) as reply:
        return json.loads(reply.read() or b"{}")


def metadata_problem(metadata_server):
    """None when the metadata server answers, else why not (one line).

    etcd: one healthy member is enough (the engine takes the list). HTTP: a TCP
    connection is. P2PHANDSHAKE needs no server."""
    endpoints = etcd_endpoints(metadata_server)
    problems = []
    for endpoint in endpoints:
        try:
            with urllib.request.urlopen(endpoint + "/health", timeout=METADATA_TIMEOUT) as reply:
                health = json.loads(reply.read() or b"{}").get("health")
        except (OSError, ValueError) as exc:
            problems.append(f"{endpoint}: {getattr(exc, 'reason', exc)}")
            continue
        if health == "true":
            return None
        problems.append(f"{endpoint}: not healthy ({health})")
    if endpoints:
        return "; ".join(problems)
    match = re.match(r"^https?://(\[[^]]+\]|[^/:]+)(?::(\d+))?/", metadata_server)
    if match:
        host = match.group(1).strip("[]")
        port = int(match.group(2) or (443 if metadata_server.startswith("https") else 80))
        try:
            socket.create_connection((host, port), timeout=METADATA_TIMEOUT).close()
        except OSError as exc:
            return f"{host}:{port}: {exc.strerror or exc}"
    return None


def wait_for_metadata(cfg):
    """Block until the metadata server answers, saying so in the journal.

    systemd bounds the wait (TimeoutStartSec) and retries later (Restart=): an
    instance started while etcd is down comes up by itself once etcd is back,
    and the slow attempts never trip the start limit."""
    last_log = None
    while True:
        problem = metadata_problem(cfg["metadata_server"])
        if problem is None:
            if last_log is not None:
                LOG.info("metadata server %s answers again", cfg["metadata_server"])
            return
        now = time.monotonic()
        if last_log is None or now - last_log >= METADATA_LOG_EVERY:
            LOG.error("metadata server %s unreachable (%s); waiting for it before starting "
                      "the engine", cfg["metadata_server"], problem)
            sd_notify(f"STATUS=waiting for metadata server {cfg['metadata_server']}: unreachable")
            last_log = now
        time.sleep(1)


def segment_key(prefix, cfg):
    """etcd's JSON gateway takes keys base64-encoded."""
    return base64.b64encode((prefix + cfg["local_hostname"]).encode()).decode()


def on_first_etcd(cfg, what, request):
    """request(endpoint) on the first etcd endpoint that answers; AgentError naming
    every endpoint's error when none does."""
    errors = []
    for endpoint in etcd_endpoints(cfg["metadata_server"]):
        try:
            return request(endpoint)
        except (OSError, ValueError) as exc:
            errors.append(f"{endpoint}: {getattr(exc, 'reason', exc)}")
    raise AgentError(f"cannot {what} of {cfg['local_hostname']}: {'; '.join(errors)}")


def read_registration(cfg):
    """The JSON value of this segment's rpc_meta key, None when it is not there."""
    def read(endpoint):
        body = {"key": segment_key(SEGMENT_KEY_PREFIXES[0], cfg)}
        kvs = etcd_call(endpoint, "/v3/kv/range", body).get("kvs") or []
        return json.loads(base64.b64decode(kvs[0]["value"])) if kvs else None
    return on_first_etcd(cfg, "read the registration", read)


def remove_segment_keys(cfg):
    """Delete this segment's keys from etcd; the number of keys deleted.

    Only ever this instance's own keys, and only while its port is free: a port
    held by someone else means the keys are theirs (the seed's failure mode)."""
    if not etcd_endpoints(cfg["metadata_server"]):
        return 0
    if port_holder_problem(cfg["local_hostname"]):
        raise AgentError(f"port of {cfg['local_hostname']} is held by another process; "
                         "leaving the metadata of that segment alone")

    def delete(endpoint):
        return sum(int(etcd_call(endpoint, "/v3/kv/deleterange",
                                 {"key": segment_key(prefix, cfg)}).get("deleted", 0))
                   for prefix in SEGMENT_KEY_PREFIXES)
    return on_first_etcd(cfg, "remove the keys", delete)


# ---------------------------------------------------------------- engine

def port_holder_problem(local_hostname):
    """None when the local_hostname port can be bound here, else why not."""
    port = int(local_hostname.rsplit(":", 1)[1])
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("0.0.0.0", port))
        except OSError as exc:
            return f"port {port} of {local_hostname} is already in use ({exc.strerror})"
    return None


def ensure_port_free(local_hostname):
    """Refuse to start when our port is taken: the engine's failed initialize
    would then delete the metadata of the instance that holds the port."""
    problem = port_holder_problem(local_hostname)
    if problem:
        raise AgentError(f"{problem}; not starting the engine")


def p2p_segment(cfg, rpc_port):
    """The segment peers reach: local_hostname, but on P2PHANDSHAKE the host with the port the
    engine picked (an IPv4 'ip:port' loses its configured port, which the engine ignores)."""
    host = cfg["local_hostname"]
    if cfg["metadata_server"] != P2P:
        return host
    if host.count(":") == 1:
        host = host.split(":")[0]
    return f"[{host}]:{rpc_port}" if ":" in host and not host.startswith("[") else f"{host}:{rpc_port}"


class Agent:
    """One transfer engine with one registered buffer of buffer_size bytes."""

    def __init__(self, cfg):
        self.cfg = cfg
        self.engine = None
        self.buffer = 0
        # Transfers share the local buffer, so they run one at a time.
        self.transfer_lock = threading.Lock()

    def start(self):
        try:
            from mooncake.engine import TransferEngine
        except ImportError as exc:
            raise AgentError(f"cannot import mooncake.engine: {exc}") from exc
        cfg = self.cfg
        # On P2PHANDSHAKE the engine ignores the binding (measured): it picks its own ports.
        if LEGACY_BINDING_ENV in os.environ and cfg["metadata_server"] != P2P:
            ensure_port_free(cfg["local_hostname"])
        wait_for_metadata(cfg)
        # Keys a crash left behind would point peers at this segment before it is up.
        stale = remove_segment_keys(cfg)
        if stale:
            LOG.info("removed %d stale metadata key(s) of %s", stale, cfg["local_hostname"])
        self.engine = TransferEngine()
        LOG.info("initializing segment %s, metadata %s, protocol %s, device %r",
                 cfg["local_hostname"], cfg["metadata_server"], cfg["protocol"],
                 cfg["device_name"])
        rc = self.engine.initialize(cfg["local_hostname"], cfg["metadata_server"],
                                    cfg["protocol"], cfg["device_name"])
        if rc != 0:
            raise AgentError(
                f"engine initialize failed (rc={rc}) for {cfg['local_hostname']}: "
                f"metadata server {cfg['metadata_server']} unreachable or refused, "
                f"or the port is already in use")
        # Up to 64 MiB this is a slab of the 2 GiB pool that initialize()
        # registers; above, a buffer of its own, registered with the engine.
        self.buffer = self.engine.allocate_managed_buffer(cfg["buffer_size"])
        if not self.buffer:
            raise AgentError(f"cannot allocate/register {cfg['buffer_size']} bytes")
        LOG.info("registered %d bytes at 0x%x, rpc port %d", cfg["buffer_size"],
                 self.buffer, self.engine.get_rpc_port())

    def close(self):
        # Waiting for the lock also keeps any later transfer out.
        if not self.transfer_lock.acquire(timeout=STOP_WAIT):
            LOG.warning("a transfer is still running; leaving its buffer alone")
            return
        if self.buffer:
            self.engine.free_managed_buffer(self.buffer, self.cfg["buffer_size"])
            self.buffer = 0
        # Dropping the engine runs its destructor: it closes segments and
        # removes this segment's metadata.
        self.engine = None
        LOG.info("engine closed")

    def handle(self, request):
        op = request.get("op")
        if op == "ping":
            return self.ping()
        if op == "transfer":
            return self.transfer(*transfer_args(request))
        raise AgentError(f"unknown op {op!r}")

    def ping(self):
        cfg = self.cfg
        rpc_port = self.engine.get_rpc_port()
        reply = {"ok": True, "name": cfg["name"], "segment": p2p_segment(cfg, rpc_port), "rpc_port": rpc_port,
                 "buffer_size": cfg["buffer_size"]}
        if etcd_endpoints(cfg["metadata_server"]):
            # Registered = peers can find us: our rpc_meta key names our address and port.
            try:
                value = read_registration(cfg)
            except AgentError as exc:
                value, reply["registration_error"] = None, str(exc)
            host, port = cfg["local_hostname"].rsplit(":", 1)
            reply["registration"] = value
            reply["registered"] = bool(value) and \
                (value.get("ip_or_host_name"), value.get("rpc_port")) == (host, int(port))
        return reply

    def transfer(self, peer, size, rounds):
        if 2 * size > self.cfg["buffer_size"]:
            raise AgentError(f"size {size} needs a buffer of {2 * size} bytes, "
                             f"this agent has {self.cfg['buffer_size']}")
        if not self.transfer_lock.acquire(blocking=False):
            raise AgentError("busy: a transfer is running or the agent is stopping")
        try:
            # The first buffer of the peer's segment is its engine's pool; our
            # bytes land at its start, away from the peer agent's own slab.
            remote = self.engine.get_first_buffer_address(peer)
            if not remote:
                raise AgentError(f"peer {peer}: no segment with a registered "
                                 f"buffer in the metadata")
            results = [self._round(peer, remote, size) for _round_no in range(rounds)]
        finally:
            self.transfer_lock.release()
        reply = summarize(size, results)
        LOG.info("transfer to %s: %d bytes x %d, match %s, write %.3f GiB/s, "
                 "read %.3f GiB/s", peer, size, rounds, reply["match"],
                 reply["write_gib_per_s"], reply["read_gib_per_s"])
        return reply

    def _round(self, peer, remote, size):
        """Write local[0:size] to the peer, read it back into local[size:2*size]."""
        engine, src, dst = self.engine, self.buffer, self.buffer + size
        payload = os.urandom(size)
        engine.write_bytes_to_buffer(src, payload, size)
        engine.write_bytes_to_buffer(dst, bytes(size), size)
        started = time.perf_counter()
        check_rc(engine.transfer_sync_write(peer, src, remote, size), "write", peer)
        written = time.perf_counter()
        check_rc(engine.transfer_sync_read(peer, dst, remote, size), "read", peer)
        read = time.perf_counter()
        match = engine.read_bytes_from_buffer(dst, size) == payload
        return written - started, read - written, match


def check_rc(rc, what, peer):
    if rc != 0:
        raise AgentError(f"{what} to peer {peer} failed (rc={rc})")


def transfer_args(request):
    peer, size, rounds = request.get("peer"), request.get("size"), request.get("rounds", 1)
    if not isinstance(peer, str) or not HOSTPORT_RE.match(peer):
        raise AgentError("peer must be a string 'host:port'")
    if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
        raise AgentError("size must be a positive integer")
    if isinstance(rounds, bool) or not isinstance(rounds, int) \
            or not 1 <= rounds <= MAX_ROUNDS:
        raise AgentError(f"rounds must be an integer from 1 to {MAX_ROUNDS}")
    return peer, size, rounds


def summarize(size, results):
    writes = [result[0] for result in results]
    reads = [result[1] for result in results]
    mean_w, mean_r = sum(writes) / len(writes), sum(reads) / len(reads)
    return {"ok": True, "match": all(result[2] for result in results), "bytes": size,
            "rounds": len(results),
            "write_seconds": round(min(writes), 6),
            "read_seconds": round(min(reads), 6),
            "write_gib_per_s": gib_per_s(size, min(writes)),
            "read_gib_per_s": gib_per_s(size, min(reads)),
            "write_seconds_mean": round(mean_w, 6),
            "read_seconds_mean": round(mean_r, 6),
            "write_gib_per_s_mean": gib_per_s(size, mean_w),
            "read_gib_per_s_mean": gib_per_s(size, mean_r)}


def gib_per_s(size, seconds):
    return round(size / GIB / seconds, 3) if seconds > 0 else None


# ---------------------------------------------------------------- control socket

class ControlHandler(socketserver.StreamRequestHandler):
    timeout = REQUEST_READ_TIMEOUT

    def handle(self):
        try:
            reply = self.server.agent.handle(parse_request(
                self.rfile.readline(MAX_REQUEST_BYTES + 1)))
        except AgentError as exc:
            reply = {"ok": False, "error": str(exc)}
        except Exception as exc:  # one bad request must not take the server down
            LOG.exception("request failed")
            reply = {"ok": False, "error": f"internal error: {exc}"}
        if not reply["ok"]:
            LOG.warning("request refused: %s", reply["error"])
        try:
            self.wfile.write(json.dumps(reply).encode() + b"\n")
        except OSError as exc:
            LOG.warning("cannot answer the client: %s", exc)


class ControlServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True  # a stuck client must not block shutdown

    def __init__(self, path, agent):
        self.agent = agent
        old_umask = os.umask(0o177)  # the socket is born 0600, no window
        try:
            super().__init__(path, ControlHandler)
        finally:
            os.umask(old_umask)


def parse_request(line):
    if len(line) > MAX_REQUEST_BYTES:
        raise AgentError("request too long")
    try:
        request = json.loads(line)
    except ValueError as exc:
        raise AgentError(f"bad JSON request: {exc}") from exc
    if not isinstance(request, dict):
        raise AgentError("request must be a JSON object")
    return request


def claim_socket_path(path):
    """Remove a socket left by a crash, but never steal a live agent's."""
    if not os.path.lexists(path):
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        return
    if not stat.S_ISSOCK(os.lstat(path).st_mode):
        raise AgentError(f"{path} exists and is not a socket")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(path)
        except OSError:
            os.unlink(path)
            LOG.info("removed stale control socket %s", path)
            return
    raise AgentError(f"another agent is serving {path}")


def remove_socket(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


# ---------------------------------------------------------------- commands

def cmd_serve(args):
    # Block stop signals before the engine starts its threads, so every thread
    # inherits the mask and the main thread alone takes them with sigwait().
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        cfg = load_config(args.config)
        claim_socket_path(cfg["control_socket"])
        agent = Agent(cfg)
        agent.start()
        server = ControlServer(cfg["control_socket"], agent)
    except (AgentError, OSError) as exc:
        LOG.error("%s", exc)
        return 1
    threading.Thread(target=server.serve_forever, name="control", daemon=True).start()
    status = (f"serving {cfg['name']} as {cfg['local_hostname']}, rpc port "
              f"{agent.engine.get_rpc_port()}, control {cfg['control_socket']}")
    sd_notify("READY=1", f"STATUS={status}")
    LOG.info("ready: %s", status)
    received = signal.sigwait(STOP_SIGNALS)
    LOG.info("received %s, stopping", signal.Signals(received).name)
    sd_notify("STOPPING=1", "STATUS=stopping")
    server.shutdown()
    server.server_close()
    remove_socket(cfg["control_socket"])
    agent.close()
    LOG.info("stopped")
    return 0


def cmd_check_config(args):
    """Validate a config file without starting anything (Ansible's template validate)."""
    try:
        load_config(args.config)
    except AgentError as exc:
        LOG.error("%s", exc)
        return 1
    return 0


def cmd_clean_metadata(args):
    """After the engine stopped, however it stopped: remove what it left in etcd."""
    try:
        cfg = load_config(args.config)
        deleted = remove_segment_keys(cfg)
    except AgentError as exc:
        # Not fatal for the unit: the next start removes them before registering.
        LOG.warning("%s", exc)
        return 0
    LOG.info("removed %d metadata key(s) of %s", deleted, cfg["local_hostname"])
    return 0


def ask(path, request, timeout):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(path)
        sock.sendall(json.dumps(request).encode() + b"\n")
        with sock.makefile("rb") as reader:
            line = reader.readline()
    if not line:
        raise AgentError("the agent closed the connection without a reply")
    return json.loads(line)


def run_client(args, request, succeeded):
    try:
        reply = ask(args.socket, request, args.timeout)
    except (OSError, ValueError, AgentError) as exc:
        reply = {"ok": False, "error": f"control socket {args.socket}: {exc}"}
    print(json.dumps(reply), flush=True)
    return 0 if succeeded(reply) else 1


def cmd_ping(args):
    return run_client(args, {"op": "ping"},
                      lambda r: r.get("ok") is True
                      and (not args.registered or r.get("registered") is not False))


def cmd_transfer(args):
    request = {"op": "transfer", "peer": args.peer, "size": args.size,
               "rounds": args.rounds}
    return run_client(args, request,
                      lambda r: r.get("ok") is True and r.get("match") is True)


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="mooncake_agent", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the engine and the control socket")
    serve.add_argument("--config", required=True)
    serve.set_defaults(func=cmd_serve)

    check = sub.add_parser("check-config", help="validate a config file and exit")
    check.add_argument("config")
    check.set_defaults(func=cmd_check_config)

    clean = sub.add_parser("clean-metadata", help="remove this instance's keys from etcd")
    clean.add_argument("--config", required=True)
    clean.set_defaults(func=cmd_clean_metadata)

    ping = sub.add_parser("ping", help="check that an agent answers")
    ping.add_argument("--socket", required=True)
    ping.add_argument("--timeout", type=float, default=10.0)
    ping.add_argument("--registered", action="store_true",
                      help="fail unless etcd holds this instance's address and port")
    ping.set_defaults(func=cmd_ping)

    transfer = sub.add_parser("transfer", help="write and read back bytes on a peer")
    transfer.add_argument("--socket", required=True)
    transfer.add_argument("--peer", required=True, help="peer segment, IP:PORT")
    transfer.add_argument("--size", type=int, default=4 << 20, help="bytes (default 4 MiB)")
    transfer.add_argument("--rounds", type=int, default=1)
    transfer.add_argument("--timeout", type=float, default=300.0)
    transfer.set_defaults(func=cmd_transfer)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    logging.basicConfig(stream=sys.stderr, level=logging.INFO,
                        format="%(levelname)s %(message)s")
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
