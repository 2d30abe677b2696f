"""A real etcd on 127.0.0.1 for the integration tests, and its v3 JSON gateway.

The gateway is plain HTTP, so tests read and write keys independently of the code under test.
"""
import base64
import contextlib
import json
import signal
import subprocess
import time
import urllib.request

import pytest

HOST = "127.0.0.1"
START_TIMEOUT = 20
STOP_TIMEOUT = 15


def stop(proc):
    """SIGTERM by PID, SIGKILL if it hangs; returns the exit code."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def wait_until(check, timeout, what, proc=None, log=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"{what}: process exited {proc.returncode}\n{log.read_text()}")
        if check():
            return
        time.sleep(0.1)
    pytest.fail(f"{what}: not ready after {timeout}s" + (f"\n{log.read_text()}" if log else ""))


def etcd_healthy(client_port):
    try:
        with urllib.request.urlopen(f"http://{HOST}:{client_port}/health", timeout=1) as resp:
            return json.load(resp).get("health") == "true"
    except OSError:
        return False


@contextlib.contextmanager
def running_etcd(binary, workdir, client, peer, name):
    """One etcd member on HOST with explicit URLs, healthy on entry, stopped by PID on exit."""
    log = workdir / "etcd.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [binary, "--name", name, "--data-dir", str(workdir / "data"),
             "--listen-client-urls", f"http://{HOST}:{client}",
             "--advertise-client-urls", f"http://{HOST}:{client}",
             "--listen-peer-urls", f"http://{HOST}:{peer}",
             "--initial-advertise-peer-urls", f"http://{HOST}:{peer}",
             "--initial-cluster", f"{name}=http://{HOST}:{peer}"],
            stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: etcd_healthy(client), START_TIMEOUT, "etcd", proc, log)
        yield proc
    finally:
        stop(proc)


def b64(text):
    return base64.b64encode(text.encode()).decode()


def unb64(text):
    return base64.b64decode(text).decode()


def etcd_put(client_port, key, value):
    body = json.dumps({"key": b64(key), "value": b64(value)}).encode()
    with urllib.request.urlopen(f"http://{HOST}:{client_port}/v3/kv/put", body, timeout=5) as resp:
        resp.read()


def etcd_keys(client_port, prefix="mooncake/"):
    """Keys and their JSON values under prefix."""
    end = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    body = json.dumps({"key": b64(prefix), "range_end": b64(end)}).encode()
    with urllib.request.urlopen(f"http://{HOST}:{client_port}/v3/kv/range", body, timeout=5) as resp:
        kvs = json.load(resp).get("kvs", [])
    return {unb64(kv["key"]): json.loads(unb64(kv["value"])) for kv in kvs}


def etcd_delete(client_port, key):
    body = json.dumps({"key": b64(key)}).encode()
    with urllib.request.urlopen(f"http://{HOST}:{client_port}/v3/kv/deleterange", body, timeout=5) as resp:
        resp.read()
