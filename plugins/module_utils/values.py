# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""How the collection reads inventory values: booleans, IP addresses, hosts before ``:port``."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress


def truthy(value):
    """Ansible's boolean reading of a variable (true/yes/on/1), without the bool filter."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on", "y", "t")
    return bool(value)


def whole_number(value):
    """value as int, or None when it is not a whole number (bools excluded). Values templated by
    Ansible may arrive as strings ("32768"): those are read as numbers too."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def is_ip(value):
    """An IPv4 or IPv6 address (no name, URL, port or zone)."""
    try:
        ipaddress.ip_address(str(value))
    except ValueError:
        return False
    return True


def url_host(address):
    """An address as it stands before ``:port`` (IPv6 in brackets)."""
    return "[%s]" % address if ":" in address else address
