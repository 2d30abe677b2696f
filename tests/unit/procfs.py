# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Rebuild a procfs-like tree from the recorded fixtures, for read_listeners(proc=...)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")


def read_fixture(*parts):
    with open(os.path.join(FIXTURES, *parts), "r") as handle:
        return handle.read()


def build_proc(tmp_path, name, with_processes=True):
    """tmp_path/proc with the recorded net/tcp{,6} and, per process, cgroup, comm, cmdline and
    an fd directory whose links point where the recorded ones did (fd.txt)."""
    source = os.path.join(FIXTURES, name, "proc")
    proc = os.path.join(str(tmp_path), "proc")
    shutil.copytree(os.path.join(source, "net"), os.path.join(proc, "net"))
    if not with_processes:
        return proc
    for pid in sorted(os.listdir(source)):
        if not pid.isdigit():
            continue
        os.makedirs(os.path.join(proc, pid, "fd"))
        for item in ("cgroup", "comm", "cmdline"):
            shutil.copy(os.path.join(source, pid, item), os.path.join(proc, pid, item))
        with open(os.path.join(source, pid, "fd.txt"), "r") as handle:
            for line in handle:
                fd, target = line.rstrip("\n").split(" ", 1)
                os.symlink(target, os.path.join(proc, pid, "fd", fd))
    return proc
