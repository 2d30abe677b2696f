# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""A fake vLLM / SGLang server for the router scenario (no GPU, no model), run by the
instances role's units as the program of kind vllm (``mooncake_instances_vllm_program``) and
kind sglang (``mooncake_instances_sglang_program``). prepare.yml installs it with a shebang as
/usr/local/bin/fake-vllm and /usr/local/bin/fake-sglang.

It accepts exactly the argument lists the instances role writes, and nothing else (an unknown
or missing flag exits 2, so the unit fails):

- vLLM: ``serve MODEL --host IP --port N --tensor-parallel-size N [--pipeline-parallel-size N]
  [--data-parallel-size N] --kv-transfer-config JSON``; a prefill (kv_role kv_producer) also
  serves the Mooncake bootstrap server's ``/query`` on ``$VLLM_HOST_IP:$VLLM_MOONCAKE_BOOTSTRAP_PORT``;
- SGLang: ``-m sglang.launch_server --model-path MODEL --host IP --port N --tp-size N
  --disaggregation-mode prefill|decode --disaggregation-transfer-backend mooncake
  [--disaggregation-ib-device DEV] [--disaggregation-bootstrap-port N]``; a prefill also listens
  on its bootstrap port (same host).

The API answers /health, /v1/models, /v1/completions, /v1/chat/completions (a canned answer
naming the instance). At start it writes its argv, uid and environment (VLLM_*, SGLANG_*,
CUDA_VISIBLE_DEVICES, MC_*) as JSON to ``$RUNTIME_DIRECTORY/invocation.json`` and to stdout (the
journal); every request is appended as one JSON line to ``$RUNTIME_DIRECTORY/requests.jsonl``.
The instance's name is that of its runtime directory (mooncake-NAME).
"""

import argparse
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
ENV_PREFIXES = ("VLLM_", "SGLANG_", "MC_", "CUDA_VISIBLE_DEVICES", "MOONCAKE_")
QUERY = {"0": {"engine_id": "fake-prefill-engine", "worker_addr": {"0": {"0": "127.0.0.1:0"}}}}


class Refused(Exception):
    pass


class StrictParser(argparse.ArgumentParser):
    def error(self, message):
        raise Refused(message)


def parse_vllm(words):
    if not words or words[0] != "serve":
        raise Refused("vllm: the first argument must be serve, got %r" % (words[:1],))
    parser = StrictParser(prog="vllm serve", allow_abbrev=False, add_help=False)
    parser.add_argument("model")
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--tensor-parallel-size", type=int, required=True)
    parser.add_argument("--pipeline-parallel-size", type=int)
    parser.add_argument("--data-parallel-size", type=int)
    parser.add_argument("--kv-transfer-config", required=True)
    args = parser.parse_args(words[1:])
    config = json.loads(args.kv_transfer_config)
    if config.get("kv_connector") != "MooncakeConnector" or config.get("kv_role") not in ("kv_producer", "kv_consumer"):
        raise Refused("--kv-transfer-config %s is not MooncakeConnector with kv_producer/kv_consumer" % args.kv_transfer_config)
    bootstrap = None
    if config["kv_role"] == "kv_producer":
        host, port = os.environ.get("VLLM_HOST_IP"), os.environ.get("VLLM_MOONCAKE_BOOTSTRAP_PORT")
        if not host or not port:
            raise Refused("a kv_producer needs VLLM_HOST_IP and VLLM_MOONCAKE_BOOTSTRAP_PORT for its bootstrap server")
        bootstrap = (host, int(port))
    return {"kind": "vllm", "model": args.model, "host": args.host, "port": args.port,
            "role": "prefill" if config["kv_role"] == "kv_producer" else "decode", "bootstrap": bootstrap}


def parse_sglang(words):
    if words[:2] != ["-m", "sglang.launch_server"]:
        raise Refused("sglang: the arguments must start with -m sglang.launch_server, got %r" % (words[:2],))
    parser = StrictParser(prog="sglang.launch_server", allow_abbrev=False, add_help=False)
    parser.add_argument("--model-path", required=True)
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--tp-size", type=int, required=True)
    parser.add_argument("--pp-size", type=int)
    parser.add_argument("--dp-size", type=int)
    parser.add_argument("--disaggregation-mode", choices=("prefill", "decode"), required=True)
    parser.add_argument("--disaggregation-transfer-backend", choices=("mooncake",), required=True)
    parser.add_argument("--disaggregation-ib-device")
    parser.add_argument("--disaggregation-bootstrap-port", type=int)
    args = parser.parse_args(words[2:])
    bootstrap = None
    if args.disaggregation_mode == "prefill":
        bootstrap = (args.host, args.disaggregation_bootstrap_port or 8998)
    return {"kind": "sglang", "model": args.model_path, "host": args.host, "port": args.port,
            "role": args.disaggregation_mode, "bootstrap": bootstrap}


def make_handler(name, model, log_path):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):  # the JSON log replaces the access log
            pass

        def _body(self):
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                return json.loads(raw.decode("utf-8")) if raw else None
            except ValueError:
                return raw.decode("utf-8", "replace")

        def _record(self, body):
            entry = {
                "time": time.time(),
                "listener": name,
                "method": self.command,
                "path": self.path,
                "headers": dict((k.lower(), v) for k, v in self.headers.items()
                                if k.lower() in ("x-request-id", "content-type", "user-agent")),
                "body": body,
            }
            with LOCK:
                with open(log_path, "a") as handle:
                    handle.write(json.dumps(entry, sort_keys=True) + "\n")

        def _send(self, status, payload):
            data = json.dumps(payload).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            self._record(None)
            path = self.path.split("?")[0]
            if path in ("/health", "/ping", "/health_generate"):
                self._send(200, {"status": "ok", "listener": name})
            elif path == "/v1/models":
                self._send(200, {"object": "list", "data": [{"id": model, "object": "model", "owned_by": name}]})
            elif path == "/query":
                self._send(200, QUERY)
            else:
                self._send(200, {"listener": name, "path": path})

        def do_POST(self):
            body = self._body()
            self._record(body)
            path = self.path.split("?")[0]
            if path.endswith("/chat/completions"):
                self._send(200, {
                    "id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()), "model": model,
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": "from " + name},
                                 "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                })
            elif path.endswith("/completions") or path == "/generate":
                self._send(200, {
                    "id": "cmpl-fake", "object": "text_completion", "created": int(time.time()), "model": model,
                    "choices": [{"index": 0, "text": "from " + name, "finish_reason": "stop", "logprobs": None}],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                    "kv_transfer_params": {"transfer_id": "fake"},
                })
            else:
                self._send(200, {"listener": name, "path": path})

    return Handler


def main():
    words = sys.argv[1:]
    try:
        served = parse_sglang(words) if words[:1] == ["-m"] else parse_vllm(words)
    except (Refused, ValueError) as problem:
        sys.stderr.write("fake serving program: refused %r: %s\n" % (words, problem))
        return 2
    state = os.environ.get("RUNTIME_DIRECTORY") or "/tmp"
    name = os.path.basename(state)
    name = name[len("mooncake-"):] if name.startswith("mooncake-") else served["kind"] + "-" + served["role"]
    invocation = {
        "argv": sys.argv,
        "uid": os.getuid(),
        "env": dict((k, v) for k, v in os.environ.items() if k.startswith(ENV_PREFIXES)),
        "served": dict(served, bootstrap=list(served["bootstrap"]) if served["bootstrap"] else None),
    }
    with open(os.path.join(state, "invocation.json"), "w") as handle:
        json.dump(invocation, handle, sort_keys=True)
    sys.stdout.write("fake serving program: %s\n" % json.dumps(invocation, sort_keys=True))
    sys.stdout.flush()
    log_path = os.path.join(state, "requests.jsonl")
    listeners = [((served["host"], served["port"]), name)]
    if served["bootstrap"]:
        listeners.append((served["bootstrap"], name + "-bootstrap"))
    servers = []
    for address, label in listeners:
        server = ThreadingHTTPServer(address, make_handler(label, served["model"], log_path))
        server.daemon_threads = True
        servers.append(server)
    for server in servers[1:]:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    servers[0].serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
