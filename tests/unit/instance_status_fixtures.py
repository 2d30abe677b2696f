# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Recorded answers of the 3-host lab (molecule/lab) served for real: an HTTP server that
answers etcd's v3 JSON gateway with the recorded replies, and a unix socket that answers like
an agent. See fixtures/instance_status/README.md."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json
import os
import socketserver
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "instance_status")


def fixture_text(name):
    with open(os.path.join(HERE, name)) as handle:
        return handle.read()


def recorded_report():
    return json.loads(fixture_text("report-mol-lab.json"))


# The keys recorded (etcd on 10.231.4.11, node1 at 10.231.4.12); any other key is missing.
RECORDED_KEYS = {
    "mooncake/rpc_meta/10.231.4.12:15624": "range-rpc_meta_10.231.4.12_15624.json",
    "mooncake/ram/10.231.4.12:15624": "range-ram_10.231.4.12_15624.json",
}


class _Gateway(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 (http.server's name)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        key = base64.b64decode(body["key"]).decode()
        self.server.seen.append((self.path, key))
        reply = fixture_text(RECORDED_KEYS.get(key, "range-rpc_meta_10.231.4.12_19999.json")).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args):  # pylint: disable=arguments-differ
        pass


def start_gateway():
    """An HTTP server on 127.0.0.1 answering /v3/kv/range from the recordings; returns (server, 'host:port')."""
    server = HTTPServer(("127.0.0.1", 0), _Gateway)
    server.seen = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, "127.0.0.1:%d" % server.server_address[1]


class _Agent(socketserver.StreamRequestHandler):
    def handle(self):
        request = json.loads(self.rfile.readline())
        self.server.requests.append(request)
        reply = self.server.replies.get(request.get("peer"), {"ok": False, "error": "peer unknown"})
        self.wfile.write(json.dumps(reply).encode() + b"\n")


def start_agent(path, replies):
    """A unix socket at path that answers each transfer request with replies[peer]."""
    server = socketserver.UnixStreamServer(str(path), _Agent)
    server.requests, server.replies = [], replies
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
