# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # The connection options every etcd module of this collection takes.
    DOCUMENTATION = r"""
options:
  endpoints:
    description:
      - etcd client URLs, C(http://host:port), or C(https://host:port) with O(ca_cert) (the engine's
        C(etcd://host:port) becomes C(http://host:port)).
    type: list
    elements: str
    required: true
  timeout:
    description: Seconds each etcd request may take.
    type: int
    default: 5
  ca_cert:
    description:
      - CA certificate (PEM) that signed etcd's server certificate. With it, every endpoint must be
        C(https://host:port); without it, every endpoint must be C(http://host:port).
      - On a member set up by the C(mooncake.deploy.etcd) role with client TLS, C(/etc/mooncake-etcd/pki/ca.crt).
    type: path
  client_cert:
    description:
      - Client certificate (PEM) for an etcd that requires one (C(--client-cert-auth)); needs O(ca_cert) and
        O(client_key). The role puts one on its members as C(/etc/mooncake-etcd/pki/client.crt).
    type: path
  client_key:
    description: Private key (PEM) of O(client_cert) (the role's C(/etc/mooncake-etcd/pki/client.key)).
    type: path
"""
