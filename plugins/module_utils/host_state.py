# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""One read of what a host has: packages, paths, units, users, groups, small files.

The roles ask this once per play and act only on the differences, so a converged host costs
one round trip instead of one per package list, path, unit and account.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import grp
import hashlib
import os
import pwd
import stat

# systemctl show properties, in the order they are asked for.
UNIT_PROPERTIES = ("Id", "LoadState", "ActiveState", "SubState", "UnitFileState", "MainPID")
READ_LIMIT = 65536


def parse_dpkg_query(text):
    """{package: version} of the installed packages in `dpkg-query -W -f='${Package}\\t${db:Status-Status}\\t${Version}\\n'`."""
    installed = {}
    for line in text.splitlines():
        fields = line.split("\t")
        if len(fields) != 3:
            continue
        name, status, version = fields
        # Multi-arch packages may be printed as name:arch.
        name = name.split(":")[0]
        if status == "installed":
            installed[name] = version
    return installed


def parse_rpm_query(text):
    """{package: version} from `rpm -q --qf '%{NAME}\\t%{VERSION}-%{RELEASE}\\n'` (unknown ones print no tab)."""
    installed = {}
    for line in text.splitlines():
        fields = line.split("\t")
        if len(fields) == 2:
            installed[fields[0]] = fields[1]
    return installed


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


def unit_states(shown):
    """{unit: {load, active, sub, enabled, main_pid}} from parse_systemctl_show's UNIT_PROPERTIES."""
    states = {}
    for unit, props in shown.items():
        try:
            main_pid = int(props.get("MainPID", "0") or 0)
        except ValueError:
            main_pid = 0
        states[unit] = {
            "load": props.get("LoadState", ""),
            "active": props.get("ActiveState", ""),
            "sub": props.get("SubState", ""),
            "enabled": props.get("UnitFileState", ""),
            "main_pid": main_pid,
        }
    return states


def sha1_of(path):
    """SHA-1 of a regular file's bytes, read in chunks."""
    digest = hashlib.sha1()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def path_state(path, checksum=False):
    """What is at `path` (without following a final symlink), plus where it resolves to; with
    `checksum`, a regular file's SHA-1 too (what managed_files would compare its content with)."""
    try:
        st = os.lstat(path)
    except OSError:
        return {"exists": False}
    kind = "link" if stat.S_ISLNK(st.st_mode) else "directory" if stat.S_ISDIR(st.st_mode) else \
        "file" if stat.S_ISREG(st.st_mode) else "other"
    state = {
        "exists": True,
        "type": kind,
        "mode": "%04o" % stat.S_IMODE(st.st_mode),
        "uid": st.st_uid,
        "gid": st.st_gid,
        "size": st.st_size,
        "realpath": os.path.realpath(path),
        "resolves": os.path.exists(path),
    }
    if kind == "link":
        state["target"] = os.readlink(path)
    if checksum and kind == "file":
        try:
            state["sha1"] = sha1_of(path)
        except (IOError, OSError):
            state["sha1"] = None
    return state


def glob_paths(pattern):
    return sorted(glob.glob(pattern))


def user_state(name):
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        return None
    try:
        group = grp.getgrgid(entry.pw_gid).gr_name
    except KeyError:
        group = None
    return {"uid": entry.pw_uid, "gid": entry.pw_gid, "group": group, "home": entry.pw_dir, "shell": entry.pw_shell}


def group_state(name):
    try:
        entry = grp.getgrnam(name)
    except KeyError:
        return None
    return {"gid": entry.gr_gid}


def read_small(path):
    """Text of a small file, None when it is missing or unreadable."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(READ_LIMIT + 1)
    except (IOError, OSError):
        return None
    if len(data) > READ_LIMIT:
        raise ValueError("%s is larger than %d bytes; read only small files" % (path, READ_LIMIT))
    return data.decode("utf-8", "replace")


# What a host_state_info call asks for, by option, and the result key that answers it.
ASKED = ("packages", "paths", "globs", "units", "users", "groups", "read")


def view_of(earlier, asked):
    """The answer to the host_state_info call `asked` (its options) taken from the result of an
    `earlier` call on the same host, or None when that one did not read everything asked for
    (or read a file without the checksum asked for)."""
    if not isinstance(earlier, dict) or earlier.get("failed") or earlier.get("skipped"):
        return None
    view = {}
    for key in ASKED:
        have = earlier.get(key)
        names = asked.get(key) or []
        if names and not isinstance(have, dict):
            return None
        if any(name not in have for name in names):
            return None
        view[key] = dict((name, have[name]) for name in names)
    if asked.get("checksum"):
        for seen in view["paths"].values():
            if seen.get("type") == "file" and "sha1" not in seen:
                return None
    else:
        view["paths"] = dict((path, dict((k, v) for k, v in seen.items() if k != "sha1"))
                             for path, seen in view["paths"].items())
    return view
