# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""etcd_client with TLS: the options a module passes, https endpoints, and what reaches etcd3.client()."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible_collections.mooncake.deploy.plugins.module_utils import etcd_client

CA, CERT, KEY = "/etc/mooncake-etcd/pki/ca.crt", "/etc/mooncake-etcd/pki/client.crt", "/etc/mooncake-etcd/pki/client.key"


def test_no_ca_means_plain_http():
    assert etcd_client.tls_options(dict(ca_cert=None, client_cert=None, client_key=None)) == {}
    assert etcd_client.tls_options({}) == {}


def test_ca_alone_and_with_a_client_certificate():
    assert etcd_client.tls_options(dict(ca_cert=CA)) == dict(ca_cert=CA)
    assert etcd_client.tls_options(dict(ca_cert=CA, client_cert=CERT, client_key=KEY)) == dict(
        ca_cert=CA, cert_cert=CERT, cert_key=KEY)


@pytest.mark.parametrize("params, words", [
    (dict(ca_cert=CA, client_cert=CERT), ["client_cert and client_key go together"]),
    (dict(ca_cert=CA, client_key=KEY), ["client_cert and client_key go together"]),
    (dict(client_cert=CERT, client_key=KEY), ["client_cert needs ca_cert"]),
])
def test_incomplete_tls_options_fail(params, words):
    with pytest.raises(etcd_client.EtcdError) as caught:
        etcd_client.tls_options(params)
    for word in words:
        assert word in str(caught.value)


def test_https_endpoint_with_tls():
    assert etcd_client.parse_endpoint("HTTPS://10.0.0.1:2379/", tls=True) == dict(
        url="https://10.0.0.1:2379", host="10.0.0.1", port=2379)
    assert etcd_client.parse_endpoint("https://[fd00::1]:2379", tls=True)["url"] == "https://[fd00::1]:2379"


def test_https_without_ca_names_the_fix():
    with pytest.raises(etcd_client.EtcdError, match="without ca_cert; give ca_cert"):
        etcd_client.parse_endpoint("https://10.0.0.1:2379")


def test_plain_http_with_ca_is_refused():
    with pytest.raises(etcd_client.EtcdError, match="plain http with ca_cert; give the https://"):
        etcd_client.parse_endpoint("http://10.0.0.1:2379", tls=True)
    with pytest.raises(etcd_client.EtcdError, match="10.0.0.2"):
        etcd_client.parse_endpoints(["https://10.0.0.1:2379", "http://10.0.0.2:2379"], tls=True)


class Status:
    version = "3.4.23"
    leader = None


class RecordingEtcd3:
    """etcd3 stand-in that records the keyword arguments of client()."""

    def __init__(self):
        self.calls = []

    def client(self, **kwargs):
        self.calls.append(kwargs)
        return self

    @staticmethod
    def status():
        return Status()


def test_connect_passes_the_tls_files_to_etcd3(monkeypatch):
    fake = RecordingEtcd3()
    monkeypatch.setattr(etcd_client, "etcd3", fake)
    tls = etcd_client.tls_options(dict(ca_cert=CA, client_cert=CERT, client_key=KEY))
    client, url, healths = etcd_client.connect(["https://10.0.0.1:2379"], 5, tls=tls)
    assert client is fake and url == "https://10.0.0.1:2379"
    assert healths[0]["status"] == "ok" and healths[0]["endpoint"] == "https://10.0.0.1:2379"
    assert fake.calls == [dict(host="10.0.0.1", port=2379, timeout=5, ca_cert=CA, cert_cert=CERT, cert_key=KEY)]


def test_connect_without_tls_passes_no_tls_arguments(monkeypatch):
    fake = RecordingEtcd3()
    monkeypatch.setattr(etcd_client, "etcd3", fake)
    etcd_client.connect(["http://10.0.0.1:2379"], 5)
    assert fake.calls == [dict(host="10.0.0.1", port=2379, timeout=5)]


def test_the_json_gateway_client_is_the_one_instance_status_uses():
    """One etcd client module: instance_status reads the engine's keys through etcd_client.gateway_get."""
    from ansible_collections.mooncake.deploy.plugins.module_utils import instance_status
    from ansible_collections.mooncake.deploy.tests.unit.instance_status_fixtures import start_gateway

    assert instance_status.etcd_get is etcd_client.gateway_get
    assert instance_status.RPC_META_PREFIX == etcd_client.RPC_META_PREFIX
    server, endpoint = start_gateway()
    try:
        value, error = etcd_client.gateway_get(["127.0.0.1:9", endpoint], "mooncake/rpc_meta/10.231.4.12:15624", 5)
        assert error is None and json.loads(value)["rpc_port"] == 15624
    finally:
        server.shutdown()
