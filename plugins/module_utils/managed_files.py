# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Bring many paths (files with content, directories, symlinks, absent paths) to their state in
one module run: a converged host answers in one round trip instead of one per path.

A file's new content is written to a private temporary directory under its own base name (so a
validator such as `systemd-analyze verify` sees a proper unit name), validated there, then moved
over the old file atomically. Nothing is written in check mode.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os
import shlex
import shutil
import tempfile

from ansible.module_utils.common.text.converters import to_bytes, to_native, to_text


def current_kind(path):
    if os.path.islink(path):
        return "link"
    if os.path.isdir(path):
        return "directory"
    if os.path.exists(path):
        return "file"
    return "absent"


def read_bytes(path):
    with open(path, "rb") as handle:
        return handle.read()


class Applier(object):
    """Applies the entries of one call in order; `module` is the AnsibleModule."""

    def __init__(self, module):
        self.module = module
        self.check_mode = module.check_mode
        # Check mode: directories an earlier entry of this call would create.
        self.predicted_dirs = set()
        self.diffs = []

    def fail(self, entry, msg):
        self.module.fail_json(msg="%s: %s" % (entry.get("label") or entry["path"], msg))

    def attributes(self, entry, changed, kind):
        """Owner, group and mode; in check mode on a path that does not exist yet, nothing to compare."""
        if self.check_mode and kind == "absent":
            return changed
        args = {"path": entry["path"], "owner": entry.get("owner"), "group": entry.get("group"),
                "mode": entry.get("mode") if entry["state"] != "link" else None,
                "secontext": None, "attributes": None}
        diff = {"before": {"path": entry["path"]}, "after": {"path": entry["path"]}}
        result = self.module.set_fs_attributes_if_different(args, changed, diff, expand=False)
        if result and not changed and entry.get("diff", True) and len(diff["before"]) > 1:
            self.diffs.append(diff)
        return result

    def parent_missing(self, path):
        parent = os.path.dirname(path)
        return not os.path.isdir(parent) and parent not in self.predicted_dirs

    def apply(self, entry):
        handler = getattr(self, "apply_" + entry["state"])
        return handler(entry)

    def apply_directory(self, entry):
        path = entry["path"]
        kind = current_kind(path)
        if kind not in ("absent", "directory"):
            self.fail(entry, "is a %s; refusing to replace it with a directory" % kind)
        changed = kind == "absent"
        if changed:
            self.predicted_dirs.add(path)
            self.state_diff(entry, "absent", "directory")
            if not self.check_mode:
                # Missing parents as mkdir -p makes them (0755 under the usual umask).
                parent = os.path.dirname(path)
                if not os.path.isdir(parent):
                    os.makedirs(parent)
                os.mkdir(path, 0o700)
        return self.attributes(entry, changed, "absent" if changed and self.check_mode else "directory")

    def apply_link(self, entry):
        path, target = entry["path"], entry["src"]
        kind = current_kind(path)
        if kind == "directory":
            self.fail(entry, "is a directory; refusing to replace it with a symlink")
        changed = not (kind == "link" and os.readlink(path) == target)
        if changed:
            before = "-> " + os.readlink(path) if kind == "link" else kind
            self.state_diff(entry, before, "-> " + target)
            if not self.check_mode:
                # A new link renamed over the old path: readers see the old target or the new one.
                tmp = os.path.join(os.path.dirname(path), ".%s.mooncake-tmp" % os.path.basename(path))
                if os.path.lexists(tmp):
                    os.unlink(tmp)
                os.symlink(target, tmp)
                os.rename(tmp, path)
        return self.attributes(entry, changed, "link")

    def apply_absent(self, entry):
        path = entry["path"]
        kind = current_kind(path)
        if kind == "absent":
            return False
        self.state_diff(entry, kind, "absent")
        if not self.check_mode:
            if kind == "directory":
                shutil.rmtree(path)
            else:
                os.unlink(path)
        return True

    def apply_file(self, entry):
        path = entry["path"]
        content = to_bytes(entry.get("content") or "", errors="surrogate_or_strict")
        kind = current_kind(path)
        if kind not in ("absent", "file"):
            self.fail(entry, "is a %s; refusing to replace it with a file" % kind)
        old = read_bytes(path) if kind == "file" else None
        changed = old != content
        if changed:
            if self.parent_missing(path):
                self.fail(entry, "its directory %s does not exist; list it first" % os.path.dirname(path))
            if entry.get("diff", True):
                self.diffs.append({"before_header": path, "after_header": path,
                                   "before": to_text(old or b"", errors="surrogate_or_replace"),
                                   "after": to_text(content, errors="surrogate_or_replace")})
            if not self.check_mode:
                self.write(entry, content)
        return self.attributes(entry, changed, "absent" if kind == "absent" else "file")

    def write(self, entry, content):
        path = entry["path"]
        workdir = tempfile.mkdtemp(prefix="mooncake-files-")
        try:
            candidate = os.path.join(workdir, os.path.basename(path))
            with open(candidate, "wb") as handle:
                handle.write(content)
            if entry.get("mode"):
                # The final mode before the move: a secret is never readable by others.
                self.module.set_mode_if_different(candidate, entry["mode"], False)
            if entry.get("validate"):
                self.validate(entry, candidate)
            self.module.atomic_move(candidate, path, unsafe_writes=False)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

    def validate(self, entry, candidate):
        command = entry["validate"]
        if "%s" not in command:
            self.fail(entry, "validate must contain %%s (the file to check): %s" % command)
        rc, out, err = self.module.run_command(command % shlex.quote(candidate), use_unsafe_shell=True)
        if rc != 0:
            self.fail(entry, "the new content failed validation (%s, rc %d), so it was not written: %s" % (
                command, rc, to_native((err or out).strip())))

    def state_diff(self, entry, before, after):
        if entry.get("diff", True):
            self.diffs.append({"before": {"path": entry["path"], "state": before},
                               "after": {"path": entry["path"], "state": after}})


# What the Applier would change, judged on the controller from one host_state_info read (paths
# read with checksum, plus the owners and groups named): a role whose entries are all in place
# skips the managed_files call. Anything the read cannot tell counts as pending, so a doubt
# costs one call, never a missed change.
OCTAL_DIGITS = "01234567"


def wanted_mode(mode):
    """The mode bits of an entry's mode, or None when it is not plain octal (e.g. u=rw)."""
    if isinstance(mode, int) and not isinstance(mode, bool):
        return mode
    text = str(mode)
    if 3 <= len(text) <= 5 and all(c in OCTAL_DIGITS for c in text):
        return int(text, 8)
    return None


def account_id(name, accounts, key):
    """uid/gid of an owner or group given as a name or a number; None when the read lacks it."""
    text = str(name)
    if text.isdigit():
        return int(text)
    found = (accounts or {}).get(text)
    return found.get(key) if found else None


def attributes_in_place(entry, seen, state):
    if entry.get("owner") is not None and account_id(entry["owner"], state.get("users"), "uid") != seen.get("uid"):
        return False
    if entry.get("group") is not None and account_id(entry["group"], state.get("groups"), "gid") != seen.get("gid"):
        return False
    if entry.get("mode") is not None and entry.get("state", "file") != "link":
        mode = wanted_mode(entry["mode"])
        if mode is None or "%04o" % mode != seen.get("mode"):
            return False
    return True


def entry_in_place(entry, state):
    seen = (state.get("paths") or {}).get(entry["path"])
    if seen is None:
        return False
    kind = entry.get("state") or "file"
    if kind == "absent":
        return not seen.get("exists")
    if not seen.get("exists"):
        return False
    if kind == "directory":
        in_kind = seen.get("type") == "directory"
    elif kind == "link":
        in_kind = seen.get("type") == "link" and seen.get("target") == entry.get("src")
    else:
        content = to_bytes(entry.get("content") or "", errors="surrogate_or_strict")
        in_kind = seen.get("type") == "file" and seen.get("sha1") == hashlib.sha1(content).hexdigest()
    return in_kind and attributes_in_place(entry, seen, state)


def pending_entries(entries, state):
    """The entries a managed_files call would change, given the host_state_info result `state`."""
    return [entry for entry in entries if not entry_in_place(entry, state or {})]
