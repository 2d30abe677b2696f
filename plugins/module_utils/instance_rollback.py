# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""What to put back when an instance fails on its new inputs.

The instances role writes each file with ``backup: true`` (template and copy keep the old file
as ``PATH.<pid>.<date>~`` and return it as ``backup_file``) and moves a command drop-in it
retires to ``PATH.removed`` instead of deleting it. From those task results this module says,
for one instance, which files changed, which old file goes back where, and which new file has
no predecessor and goes away; and, after a good run, which of the kept copies to delete.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DROPIN_PATH = "/etc/systemd/system/mooncake-instance@%s.service.d/10-command.conf"
REMOVED_SUFFIX = ".removed"


def _changed(results):
    return [r for r in results or [] if isinstance(r, dict) and r.get("changed")]


def _item_name(result):
    item = result.get("item")
    return item.get("name") if isinstance(item, dict) else None


def rollback_plan(name, own, retired, shared):
    """For instance ``name``: ``{changed: [paths], restore: [{path, backup}], remove: [paths],
    reload: bool}``.

    ``own``: results of the tasks that write one file per instance (looped over the plan);
    ``retired``: results of moving stale command drop-ins aside (looped over the plan);
    ``shared``: results of the files every instance uses (the unit, the agent).
    ``reload`` says systemd must re-read units (a unit file or drop-in is among them).
    """
    changed, restore, remove = [], [], []
    for result in [r for r in _changed(own) if _item_name(r) == name] + _changed(shared):
        path = result.get("dest") or result.get("path")
        if not path:
            continue
        changed.append(path)
        if result.get("backup_file"):
            restore.append({"path": path, "backup": result["backup_file"]})
        else:
            remove.append(path)
    for result in _changed(retired):
        if _item_name(result) == name:
            path = DROPIN_PATH % name
            changed.append(path)
            restore.append({"path": path, "backup": path + REMOVED_SUFFIX})
    reload = any(p.startswith("/etc/systemd/") for p in changed)
    return {"changed": changed, "restore": restore, "remove": remove, "reload": reload}


def kept_copies(own, retired, shared):
    """Every old copy a run kept for a rollback (to delete once all instances are healthy)."""
    copies = [r["backup_file"] for r in _changed(own) + _changed(shared) if r.get("backup_file")]
    copies += [DROPIN_PATH % _item_name(r) + REMOVED_SUFFIX for r in _changed(retired) if _item_name(r)]
    return sorted(set(copies))


def failure_message(host, plan, reason, rollback, healthy_again, journal):
    """The one message the play fails with when an instance failed on its new inputs."""
    name = plan.get("name")
    unit = "mooncake-instance@%s.service" % name
    lines = ["host %s, instance '%s' (%s): %s." % (host, name, unit, reason)]
    lines.append("Changed by this run: %s." % (", ".join(rollback.get("changed") or []) or "nothing (a restart only)"))
    restored = [r["path"] for r in rollback.get("restore") or []]
    if restored:
        lines.append("Put back: %s%s; the instance %s." % (
            ", ".join(restored),
            " (and removed the new %s)" % ", ".join(rollback["remove"]) if rollback.get("remove") else "",
            "runs on them again and is healthy" if healthy_again else "was started on them again but is NOT healthy: look at it now",
        ))
    elif rollback.get("remove"):
        lines.append("It had no files before: it is stopped and disabled, and %s removed." % ", ".join(rollback["remove"]))
    else:
        lines.append("Nothing to put back (no file of it changed in this run); it is %s." % (
            "healthy again" if healthy_again else "NOT healthy"))
    lines.append("Last lines of its journal:")
    lines.extend("  " + line for line in (journal or ["(empty)"]))
    return "\n".join(lines)
