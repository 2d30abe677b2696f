# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Units' properties from one ``systemctl show`` call."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


def parse_systemctl_show(text):
    """{unit Id: {property: value}} from ``systemctl show -p Id,... unit...`` (blank-line blocks)."""
    units = {}
    current = {}
    for line in text.splitlines() + [""]:
        if not line.strip():
            if current.get("Id"):
                units[current["Id"]] = current
            current = {}
            continue
        key, sep, value = line.partition("=")
        if sep:
            current[key] = value
    return units


def systemctl_show(module, units, properties, systemctl="systemctl"):
    """{unit Id: {property: value}} of `units`, one ``systemctl show`` for all; fails the module when it fails."""
    rc, out, err = module.run_command([systemctl, "show", "--property=" + ",".join(properties)] + list(units))
    if rc != 0:
        module.fail_json(msg="systemctl show failed (rc=%d): %s" % (rc, err.strip()))
    return parse_systemctl_show(out)
