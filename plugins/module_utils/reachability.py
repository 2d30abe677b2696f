# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Can this host open a TCP connection to an endpoint? Answered in one word per endpoint.

"refused" is a precise answer: a host answered, nothing listens on that port yet (a service this
run is about to start). "timeout" and "unreachable" mean the address cannot be reached at all.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import socket
import threading
from ansible_collections.mooncake.deploy.plugins.module_utils.values import url_host

OPEN = "open"
REFUSED = "refused"
TIMEOUT = "timeout"
UNREACHABLE = "unreachable"
UNRESOLVED = "unresolved"


def probe(host, port, timeout):
    """(status, detail) of one TCP connection attempt."""
    try:
        infos = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)
    except socket.gaierror as exc:
        return UNRESOLVED, "cannot be resolved: %s" % (exc.strerror or exc)
    family, socktype, proto, _canon, address = infos[0]
    sock = socket.socket(family, socktype, proto)
    sock.settimeout(timeout)
    try:
        sock.connect(address)
    except socket.timeout:
        return TIMEOUT, "did not answer within %g s (no route, a firewall dropping it, or the host is down)" % timeout
    except ConnectionRefusedError:
        return REFUSED, "refused the connection: the host answered, but nothing listens on port %d" % port
    except OSError as exc:
        return UNREACHABLE, "is unreachable: %s" % (exc.strerror or exc)
    finally:
        sock.close()
    return OPEN, "accepts connections"


def probe_all(endpoints, timeout):
    """Probe every endpoint at once (timeouts do not add up); results in input order.

    Each endpoint: {"host", "port", "label" (optional), "refused_ok" (optional bool)}.
    Returns (results, failures).
    """
    results = [None] * len(endpoints)

    def run(index, endpoint):
        status, detail = probe(endpoint["host"], int(endpoint["port"]), timeout)
        allowed = (OPEN, REFUSED) if endpoint.get("refused_ok") else (OPEN,)
        results[index] = dict(endpoint, status=status, detail=detail, ok=status in allowed)

    threads = [threading.Thread(target=run, args=(i, e)) for i, e in enumerate(endpoints)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    failures = []
    for result in results:
        if not result["ok"]:
            failures.append(
                "%s%s:%d %s" % (
                    "%s: " % result["label"] if result.get("label") else "",
                    url_host(result["host"]), int(result["port"]), result["detail"]))
    return results, failures
