# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""make bench only: where a run's wall time goes, per play and per task.

Enabled by scripts/bench.sh (ANSIBLE_CALLBACK_PLUGINS, ANSIBLE_CALLBACKS_ENABLED=bench_timing);
writes tab-separated lines (play, task, seconds, action) to $MOONCAKE_BENCH_TIMING.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: bench_timing
type: aggregate
short_description: Wall time of each task, for make bench
description:
  - Writes one line per task (play, task, seconds, action) to the file named by
    C(MOONCAKE_BENCH_TIMING) when the run ends.
requirements:
  - enabled with C(ANSIBLE_CALLBACKS_ENABLED=bench_timing)
"""

import os
import time

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "bench_timing"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super(CallbackModule, self).__init__()
        self.rows = []
        self.current = None
        self.play = ""

    def _close(self):
        if self.current:
            name, action, started = self.current
            self.rows.append((self.play, name, time.time() - started, action))
            self.current = None

    def v2_playbook_on_play_start(self, play):
        self._close()
        self.play = play.get_name()

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._close()
        self.current = (task.get_name(), task.action, time.time())

    def v2_playbook_on_handler_task_start(self, task):
        self.v2_playbook_on_task_start(task, False)

    def v2_playbook_on_stats(self, stats):
        self._close()
        path = os.environ.get("MOONCAKE_BENCH_TIMING")
        if not path:
            return
        with open(path, "w") as handle:
            for play, name, seconds, action in self.rows:
                handle.write("%s\t%s\t%.3f\t%s\n" % (play.replace("\t", " "), name.replace("\t", " "), seconds, action))
