# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""tcp_reachable against real sockets on 127.0.0.1: open, refused and a real timeout."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import socket
import time

import pytest

from ansible_collections.mooncake.deploy.plugins.modules import tcp_reachable
from ansible_collections.mooncake.deploy.plugins.module_utils.reachability import probe_all

from ansible_collections.mooncake.deploy.tests.unit.module_harness import AnsibleExitJson, AnsibleFailJson, patch_exits, run_module as harness_run


@pytest.fixture(autouse=True)
def exits(monkeypatch):
    patch_exits(monkeypatch)


def run_module(args, expect):
    return harness_run(tcp_reachable.main, args, expect)


@pytest.fixture
def closed_port():
    """A port nothing listens on: bound (so nobody else takes it) but never listening."""
    holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    holder.bind(("127.0.0.1", 0))
    try:
        yield holder.getsockname()[1]
    finally:
        holder.close()


@pytest.fixture
def silent_port():
    """A listener whose accept queue is full: Linux drops further SYNs, so connect() times out."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    fillers = []
    try:
        for _attempt in range(4):
            filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            filler.settimeout(0.3)
            try:
                filler.connect(("127.0.0.1", port))
            except socket.timeout:
                filler.close()
                break
            fillers.append(filler)
        else:
            pytest.skip("the accept queue never filled, so no connection can be made to time out here")
        yield port
    finally:
        for filler in fillers:
            filler.close()
        server.close()


def test_open_refused_and_timeout_are_told_apart(listening_socket, closed_port, silent_port):
    started = time.monotonic()
    results, failures = probe_all(
        [
            {"host": "127.0.0.1", "port": listening_socket},
            {"host": "127.0.0.1", "port": closed_port, "label": "etcd to be started", "refused_ok": True},
            {"host": "127.0.0.1", "port": closed_port, "label": "external etcd"},
            {"host": "127.0.0.1", "port": silent_port, "label": "silent", "refused_ok": True},
        ],
        timeout=1.0,
    )
    # The probes run at once: one timeout's worth, not the sum.
    assert time.monotonic() - started < 2.5
    assert [r["status"] for r in results] == ["open", "refused", "refused", "timeout"]
    assert [r["ok"] for r in results] == [True, True, False, False]
    assert failures == [
        "external etcd: 127.0.0.1:%d refused the connection: the host answered, but nothing listens on port %d" % (closed_port, closed_port),
        "silent: 127.0.0.1:%d did not answer within 1 s (no route, a firewall dropping it, or the host is down)" % silent_port,
    ]


def test_module_fails_naming_the_endpoint(listening_socket, closed_port):
    result = run_module({"endpoints": [{"host": "127.0.0.1", "port": listening_socket},
                                       {"host": "127.0.0.1", "port": closed_port, "label": "host node1, instance 'a'"}]},
                        AnsibleFailJson)
    assert result["msg"] == ("host node1, instance 'a': 127.0.0.1:%d refused the connection: the host answered, "
                             "but nothing listens on port %d" % (closed_port, closed_port))
    assert result["changed"] is False and result["results"][0]["status"] == "open"


def test_module_reports_only_in_check_mode(listening_socket, closed_port):
    result = run_module({"endpoints": [{"host": "127.0.0.1", "port": closed_port}], "fail_on_unreachable": False,
                         "_ansible_check_mode": True}, AnsibleExitJson)
    assert result["changed"] is False and result["failures"] and result["results"][0]["status"] == "refused"
    result = run_module({"endpoints": [{"host": "127.0.0.1", "port": listening_socket}]}, AnsibleExitJson)
    assert result["failures"] == []
