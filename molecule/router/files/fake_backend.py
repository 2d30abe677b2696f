# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""A fake OpenAI-like serving instance for the router scenario (no GPU, no model).

Listens on every ``--listen NAME=IP:PORT`` given and answers 200 on /health, /v1/models,
/v1/completions, /v1/chat/completions (a canned completion), and a vLLM Mooncake bootstrap
server's /query. Every request is appended as one JSON line (listener name, method, path,
selected headers, body) to ``--log`` so a test can see what the router sent where.
"""

import argparse
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()


def make_handler(name, log_path):
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
            line = json.dumps(entry, sort_keys=True)
            with LOCK:
                with open(log_path, "a") as handle:
                    handle.write(line + "\n")
            sys.stdout.write(line + "\n")
            sys.stdout.flush()

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
                self._send(200, {"object": "list", "data": [{"id": "fake-model", "object": "model", "owned_by": name}]})
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
                    "id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()), "model": "fake-model",
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": "from " + name},
                                 "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                })
            elif path.endswith("/completions") or path == "/generate":
                self._send(200, {
                    "id": "cmpl-fake", "object": "text_completion", "created": int(time.time()), "model": "fake-model",
                    "choices": [{"index": 0, "text": "from " + name, "finish_reason": "stop", "logprobs": None}],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                    "kv_transfer_params": {"transfer_id": "fake"},
                })
            else:
                self._send(200, {"listener": name, "path": path})

    return Handler


QUERY = {"0": {"engine_id": "fake-prefill-engine", "worker_addr": {"0": {"0": "127.0.0.1:0"}}}}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--listen", action="append", required=True, help="NAME=IP:PORT, repeatable")
    parser.add_argument("--log", required=True)
    args = parser.parse_args()
    servers = []
    for spec in args.listen:
        name, address = spec.split("=", 1)
        host, port = address.rsplit(":", 1)
        server = ThreadingHTTPServer((host, int(port)), make_handler(name, args.log))
        server.daemon_threads = True
        servers.append(server)
    for server in servers[1:]:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    servers[0].serve_forever()


if __name__ == "__main__":
    main()
