# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""etcd access for the mooncake.deploy modules: the one place that talks to etcd's API.

Two transports, one module: the ``etcd3`` Python client (gRPC; etcd_info, mooncake_metadata,
which run on the members where Debian's python3-etcd3 is installed) and etcd's v3 JSON gateway
over HTTP with the standard library only (gateway_get; instance_status, which runs on instance
hosts that may lack etcd3). Endpoint parsing and value decoding are plain functions so unit
tests run them without etcd.
The transfer engine keeps two keys per segment (the segment is the ``local_hostname`` of an
instance, ``ip:port``): ``mooncake/rpc_meta/<segment>`` and ``mooncake/ram/<segment>``, both
JSON and both without a lease.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json
import re
import traceback
from urllib.error import URLError

from ansible.module_utils.basic import missing_required_lib
from ansible.module_utils.urls import open_url

try:
    import etcd3
except Exception as _exc:  # pylint: disable=broad-except
    # ImportError, or TypeError from protobuf >= 4 refusing PyPI etcd3's generated code
    # ("Descriptors cannot be created directly").
    etcd3 = None
    ETCD3_IMPORT_ERROR = traceback.format_exc()
    ETCD3_IMPORT_REASON = "%s: %s" % (type(_exc).__name__, (str(_exc).strip().splitlines() or [""])[0])
else:
    ETCD3_IMPORT_ERROR = None
    ETCD3_IMPORT_REASON = None

HAS_ETCD3 = etcd3 is not None

RPC_META_PREFIX = "mooncake/rpc_meta/"
RAM_PREFIX = "mooncake/ram/"
DEFAULT_TIMEOUT = 5

INSTALL_HINT = (
    "Debian and Ubuntu: apt-get install python3-etcd3 (for the system Python /usr/bin/python3; "
    "set ansible_python_interpreter=/usr/bin/python3). RHEL, Fedora and other Pythons: "
    "pip install etcd3; with protobuf 4 or later it only imports with the environment variable "
    "PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION=python (set it with the task's environment keyword)."
)

# The TLS options every etcd module takes (documented in the mooncake.deploy.etcd doc fragment).
TLS_ARGUMENT_SPEC = dict(
    ca_cert=dict(type="path"),
    client_cert=dict(type="path"),
    client_key=dict(type="path", no_log=False),
)

_HOST_PORT = re.compile(r"^(?:\[(?P<ipv6>[0-9A-Fa-f:.]+)\]|(?P<host>[^\s:/\[\]@?#]+)):(?P<port>[0-9]+)$")


class EtcdError(Exception):
    """Something a module reports with fail_json: an endpoint that is malformed or unreachable.

    ``health`` holds the endpoints probed (see probe()) when none answered.
    """

    def __init__(self, message, health=None):
        super(EtcdError, self).__init__(message)
        self.health = health or []


def missing_library_message():
    """The message for a host whose Python cannot import etcd3, with the packages that provide it."""
    reason = " Import error: %s." % ETCD3_IMPORT_REASON.rstrip(".") if ETCD3_IMPORT_REASON else ""
    return "%s.%s %s" % (missing_required_lib("etcd3").rstrip("."), reason, INSTALL_HINT)


def require_etcd3(module):
    """fail_json with missing_library_message() unless etcd3 imported."""
    if not HAS_ETCD3:
        module.fail_json(msg=missing_library_message(), exception=ETCD3_IMPORT_ERROR)


def tls_options(params):
    """The etcd3 client's TLS keyword arguments from the module's ca_cert/client_cert/client_key.

    {} without ca_cert (plain http); EtcdError when a client certificate comes without its key
    (or the other way round), or without the CA that verifies the server.
    """
    ca_cert, cert, key = params.get("ca_cert"), params.get("client_cert"), params.get("client_key")
    if bool(cert) != bool(key):
        raise EtcdError("client_cert and client_key go together; give both (etcd's --client-cert-auth) or neither")
    if cert and not ca_cert:
        raise EtcdError("client_cert needs ca_cert: the CA that signed etcd's server certificate (https endpoints)")
    if not ca_cert:
        return {}
    options = dict(ca_cert=ca_cert)
    if cert:
        options.update(cert_cert=cert, cert_key=key)
    return options


def parse_endpoint(url, tls=False):
    """``http://host:port`` (``https://`` with tls) -> dict(url, host, port); EtcdError naming the endpoint otherwise."""
    if not isinstance(url, str) or not url.strip():
        raise EtcdError("endpoint %r: empty; give a URL like http://10.0.0.1:2379" % (url,))
    text = url.strip()
    scheme, sep, rest = text.partition("://")
    if not sep:
        raise EtcdError("endpoint %r: no scheme; give a URL like http://%s" % (url, text))
    scheme = scheme.lower()
    if scheme == "https" and not tls:
        raise EtcdError("endpoint %r: https (TLS) is not supported without ca_cert; give ca_cert (the CA of etcd's "
                        "certificate, and client_cert/client_key when etcd checks clients) or the plain http:// URL" % url)
    if scheme == "http" and tls:
        raise EtcdError("endpoint %r: plain http with ca_cert; give the https:// client URL (or drop ca_cert)" % url)
    if scheme == "etcd":
        raise EtcdError(
            "endpoint %r: etcd:// is the transfer engine's metadata_server form; give the same endpoint as http://%s"
            % (url, rest.rstrip("/")))
    if scheme not in ("http", "https"):
        raise EtcdError("endpoint %r: scheme %r is not supported; give a URL like http://10.0.0.1:2379" % (url, scheme))
    hostport, slash, path = rest.partition("/")
    if slash and path:
        raise EtcdError(
            "endpoint %r: has a path (/%s); an etcd client URL is only http://host:port "
            "(a /metadata path is the engine's HTTP metadata server, not etcd)" % (url, path))
    if not hostport:
        raise EtcdError("endpoint %r: no host; give a URL like http://10.0.0.1:2379" % url)
    match = _HOST_PORT.match(hostport)
    if not match:
        if ":" not in hostport or hostport.endswith("]"):
            raise EtcdError("endpoint %r: no port; etcd's client port is usually 2379 (http://%s:2379)" % (url, hostport))
        raise EtcdError("endpoint %r: cannot read host:port from %r" % (url, hostport))
    port = int(match.group("port"))
    if not 1 <= port <= 65535:
        raise EtcdError("endpoint %r: port %d is out of range 1-65535" % (url, port))
    host = match.group("ipv6") or match.group("host")
    shown = "[%s]" % host if match.group("ipv6") else host
    return dict(url="%s://%s:%d" % (scheme, shown, port), host=host, port=port)


def parse_endpoints(urls, tls=False):
    """Every endpoint parsed; one EtcdError that lists all the malformed ones."""
    if not urls:
        raise EtcdError("no endpoints given; give at least one URL like http://10.0.0.1:2379")
    parsed, problems = [], []
    for url in urls:
        try:
            parsed.append(parse_endpoint(url, tls))
        except EtcdError as exc:
            problems.append(str(exc))
    if problems:
        raise EtcdError("; ".join(problems))
    return parsed


def parse_segment(segment):
    """A segment name as the engine writes it (``ip:port``); EtcdError otherwise."""
    if not isinstance(segment, str) or not segment.strip():
        raise EtcdError("segment %r: empty; give the instance's local_hostname, e.g. 10.0.0.5:15624" % (segment,))
    match = _HOST_PORT.match(segment)
    if not match or not 1 <= int(match.group("port")) <= 65535:
        raise EtcdError(
            "segment %r: not ip:port; give the instance's local_hostname, e.g. 10.0.0.5:15624" % (segment,))
    return segment


def to_text(raw):
    """etcd values and keys are bytes; text with undecodable bytes replaced."""
    if raw is None:
        return None
    if isinstance(raw, bytes):
        return raw.decode("utf-8", "replace")
    return str(raw)


def decode_value(raw):
    """(value, error): the JSON value of raw, or its text and why it is not JSON."""
    text = to_text(raw)
    if text is None:
        return None, "no value"
    try:
        return json.loads(text), None
    except ValueError as exc:
        return text, "not JSON: %s" % exc


def summarize_rpc_meta(value):
    if not isinstance(value, dict):
        return None
    return dict(ip_or_host_name=value.get("ip_or_host_name"), rpc_port=value.get("rpc_port"))


def summarize_ram(value):
    if not isinstance(value, dict):
        return None
    buffers = value.get("buffers")
    devices = value.get("devices")
    return dict(
        name=value.get("name"),
        protocol=value.get("protocol"),
        tcp_data_host=value.get("tcp_data_host"),
        tcp_data_port=value.get("tcp_data_port"),
        buffers=len(buffers) if isinstance(buffers, list) else 0,
        devices=len(devices) if isinstance(devices, list) else 0,
        timestamp=value.get("timestamp"),
    )


def group_segments(items):
    """{segment: {name, rpc_meta, ram, problems}} from (key, raw value) pairs under mooncake/."""
    segments = {}
    for key, raw in items:
        key = to_text(key)
        for prefix, kind, summarize in ((RPC_META_PREFIX, "rpc_meta", summarize_rpc_meta),
                                        (RAM_PREFIX, "ram", summarize_ram)):
            if key.startswith(prefix):
                break
        else:
            continue
        name = key[len(prefix):]
        entry = segments.setdefault(name, dict(name=name, rpc_meta=None, ram=None, problems=[]))
        value, error = decode_value(raw)
        if error:
            entry["problems"].append("%s: %s" % (key, error))
            continue
        entry[kind] = summarize(value)
        if entry[kind] is None:
            entry["problems"].append("%s: not a JSON object" % key)
    for entry in segments.values():
        for kind, prefix in (("rpc_meta", RPC_META_PREFIX), ("ram", RAM_PREFIX)):
            if entry[kind] is None and not any(p.startswith(prefix) for p in entry["problems"]):
                entry["problems"].append("%s%s is missing" % (prefix, entry["name"]))
    return segments


def describe_error(exc):
    """etcd3 says only 'etcd connection failed'; add the gRPC details it hides in __context__."""
    text = "%s: %s" % (type(exc).__name__, exc)
    cause = exc.__cause__ or exc.__context__
    details = getattr(cause, "details", None)
    if callable(details):
        try:
            extra = details()
        except Exception:  # pylint: disable=broad-except
            extra = None
        if extra:
            text = "%s (%s)" % (text, extra)
    return text


def open_client(endpoint, timeout, tls=None):
    """An etcd3 client; tls: tls_options() (ca_cert, cert_cert, cert_key), only passed when given."""
    return etcd3.client(host=endpoint["host"], port=endpoint["port"], timeout=timeout, **(tls or {}))


def probe(endpoint, timeout, tls=None):
    """(client or None, health): health is dict(endpoint, status ok|error, error, version, leader_id)."""
    health = dict(endpoint=endpoint["url"], status="error", error=None, version=None, leader_id=None)
    client = None
    try:
        client = open_client(endpoint, timeout, tls)
        status = client.status()
    except Exception as exc:  # pylint: disable=broad-except
        health["error"] = describe_error(exc)
        close(client)
        return None, health
    health["status"] = "ok"
    health["version"] = getattr(status, "version", None)
    leader = getattr(status, "leader", None)
    health["leader_id"] = getattr(leader, "id", None)
    return client, health


def close(client):
    closer = getattr(client, "close", None)
    if callable(closer):
        try:
            closer()
        except Exception:  # pylint: disable=broad-except
            pass


def connect(urls, timeout, probe_all=False, tls=None):
    """(client, endpoint url, healths): a client on the first healthy endpoint.

    With probe_all, every endpoint is probed (for reporting); otherwise probing stops at the first
    healthy one. EtcdError names every endpoint and its error when none is healthy.
    """
    endpoints = parse_endpoints(urls, bool(tls))
    chosen, chosen_url, healths = None, None, []
    for endpoint in endpoints:
        client, health = probe(endpoint, timeout, tls)
        healths.append(health)
        if client is not None:
            if chosen is None:
                chosen, chosen_url = client, endpoint["url"]
            else:
                close(client)
            if not probe_all:
                break
    if chosen is None:
        raise EtcdError("no etcd endpoint is reachable: " + "; ".join(
            "%s: %s" % (h["endpoint"], h["error"]) for h in healths), healths)
    return chosen, chosen_url, healths


def members(client):
    return [
        dict(id=member.id, name=member.name, peer_urls=list(member.peer_urls), client_urls=list(member.client_urls))
        for member in client.members
    ]


def read_prefix(client, prefix):
    """[(key text, raw value)] under prefix, sorted by key."""
    return sorted((to_text(meta.key), raw) for raw, meta in client.get_prefix(prefix))


def segment_keys(segment):
    return [RPC_META_PREFIX + segment, RAM_PREFIX + segment]


def _b64(text):
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def gateway_get(endpoints, key, timeout):
    """(value text or None, None) for ``key`` from the first of ``endpoints`` (``host:port``) that
    answers on etcd's v3 JSON gateway (plain http, standard library only), or (None, error)."""
    errors = []
    for endpoint in endpoints:
        try:
            answer = open_url("http://%s/v3/kv/range" % endpoint, data=json.dumps({"key": _b64(key)}), method="POST",
                              headers={"Content-Type": "application/json"}, timeout=timeout)
            reply = json.loads(answer.read().decode("utf-8"))
        except (URLError, OSError, ValueError) as exc:
            errors.append("%s: %s" % (endpoint, getattr(exc, "reason", exc)))
            continue
        kvs = reply.get("kvs") or []
        if not kvs:
            return None, None
        return base64.b64decode(kvs[0].get("value", "")).decode("utf-8", "replace"), None
    return None, "metadata server unreachable (%s)" % "; ".join(errors or ["no endpoint"])
