# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""make bench: print what scripts/bench.sh measured, one directory per configuration.

A configuration directory holds: config (label, tree, inventory, strategy, load), create.time,
fresh.{time,log,tsv}, noopN.{time,log,tsv}, report.json, throughput.{log,what}, failed (when a
run failed). Configurations of one inventory are printed together, the old code beside the new
one, with the ratios new/old and mitogen/linear.
"""

import collections
import json
import os
import re
import sys


def read(path, default=None):
    try:
        with open(path) as handle:
            return handle.read().strip()
    except OSError:
        return default


def seconds(directory, name):
    value = read(os.path.join(directory, name + ".time"))
    return float(value) if value else None


def recap(log_path):
    """Per host of a play log: tasks run (ok+failed+skipped) and changed."""
    counts = collections.OrderedDict()
    for line in (read(log_path, "") or "").splitlines():
        match = re.match(r"^(\S+)\s+: (ok=.*)$", line)
        if not match:
            continue
        fields = dict(kv.split("=", 1) for kv in match.group(2).split())
        entry = counts.setdefault(match.group(1), [0, 0])
        entry[0] += sum(int(fields.get(k, 0)) for k in ("ok", "failed", "skipped"))
        entry[1] += int(fields.get("changed", 0))
    return counts


def plays(tsv_path):
    result = collections.OrderedDict()
    for line in (read(tsv_path, "") or "").splitlines():
        play, _task, secs, _action = line.split("\t")
        entry = result.setdefault(play, [0.0, 0])
        entry[0] += float(secs)
        entry[1] += 1
    return result


def load(directory):
    conf = dict(line.split("=", 1) for line in (read(os.path.join(directory, "config"), "") or "").splitlines() if "=" in line)
    runs = []
    n = 1
    while os.path.exists(os.path.join(directory, "noop%d.time" % n)):
        runs.append((seconds(directory, "noop%d" % n), n))
        n += 1
    median_run = sorted(runs)[(len(runs) - 1) // 2][1] if runs else None
    tree = conf.get("tree", "")
    inventory = conf.get("inventory", "")
    shown = os.path.relpath(inventory, tree) if tree and inventory.startswith(tree + os.sep) else inventory
    return {
        "dir": directory,
        "label": conf.get("label", "?"),
        "strategy": conf.get("strategy", "?"),
        "inventory": shown,
        "load": (conf.get("load_before", "?"), conf.get("load_after", "?")),
        "failed": os.path.exists(os.path.join(directory, "failed")),
        "create": seconds(directory, "create"),
        "fresh": seconds(directory, "fresh"),
        "noops": [run[0] for run in runs],
        "noop": seconds(directory, "noop%s" % median_run) if median_run else None,
        "median_run": median_run,
        "fresh_recap": recap(os.path.join(directory, "fresh.log")),
        "noop_recap": recap(os.path.join(directory, "noop%s.log" % median_run)) if median_run else {},
        "fresh_plays": plays(os.path.join(directory, "fresh.tsv")),
        "noop_plays": plays(os.path.join(directory, "noop%s.tsv" % median_run)) if median_run else {},
    }


def fmt(value, spec="%.1f"):
    return spec % value if value is not None else "-"


def ratio(a, b):
    return "%.2f" % (a / b) if a is not None and b else "-"


def transfers(directory):
    path = os.path.join(directory, "report.json")
    if not os.path.exists(path):
        return None
    parts = []
    for host in json.load(open(path)):
        for inst in host.get("instances", []):
            for t in inst.get("transfers", []):
                r = t.get("result", {})
                parts.append("%s/%s->%s %.2f/%.2f %s" % (
                    host["host"], inst["instance"], t["peer"], r.get("write_gib_per_s", 0),
                    r.get("read_gib_per_s", 0), "ok" if r.get("match") else "MISMATCH"))
    return ", ".join(parts) or "none"


def throughput(directory):
    log = os.path.join(directory, "throughput.log")
    if not os.path.exists(log):
        return None
    for line in open(log):
        if '"ratio"' in line:
            r = json.loads(line[line.index("{"):].strip().rstrip('"').replace('\\"', '"'))
            return r
    return None


def main(argv):
    show_plays = argv[1] == "1" if len(argv) > 1 and argv[0] == "--plays" else True
    dirs = argv[2:] if argv and argv[0] == "--plays" else argv
    configs = [load(d) for d in dirs]
    by_inventory = collections.OrderedDict()
    for c in configs:
        by_inventory.setdefault(c["inventory"], []).append(c)

    print("%-16s %-14s %7s %7s %7s  %-24s %7s  %s" % (
        "strategy", "code", "create", "fresh", "no-op", "no-op runs", "no-op/", "tasks/changed per host: fresh | median no-op"))
    print("%-16s %-14s %7s %7s %7s  %-24s %7s" % ("", "", "s", "s", "median", "s", "fresh"))
    for inventory, group in by_inventory.items():
        hosts = sorted({h for c in group for h in c["fresh_recap"]})
        print("%s (%d host%s%s)" % (inventory, len(hosts), "" if len(hosts) == 1 else "s",
                                    ": " + " ".join(hosts) if hosts else ""))
        group.sort(key=lambda c: (c["strategy"] != "linear", c["strategy"], c["label"].startswith("old"), c["label"]))
        for c in group:
            counts = ", ".join("%s %d/%d | %s" % (
                h, n, ch, "%d/%d" % tuple(c["noop_recap"][h]) if h in c["noop_recap"] else "-")
                for h, (n, ch) in c["fresh_recap"].items())
            print("%-16s %-14s %7s %7s %7s  %-24s %7s  %s%s" % (
                c["strategy"], c["label"], fmt(c["create"]), fmt(c["fresh"]), fmt(c["noop"]),
                " ".join(fmt(s) for s in c["noops"]) or "-", ratio(c["noop"], c["fresh"]), counts,
                "  FAILED (logs: BENCH_KEEP)" if c["failed"] else ""))
        # Side by side: new against old per strategy, mitogen against linear per code.
        index = {(c["strategy"], c["label"]): c for c in group}
        labels = sorted({c["label"] for c in group}, key=lambda l: l.startswith("old"))
        strategies = sorted({c["strategy"] for c in group}, key=lambda s: s != "linear")
        if len(labels) == 2:
            new, old = labels
            for s in strategies:
                a, b = index.get((s, new)), index.get((s, old))
                if a and b:
                    print("  %s, %s / %s: fresh %s, no-op %s" % (s, new, old, ratio(a["fresh"], b["fresh"]), ratio(a["noop"], b["noop"])))
        if "linear" in strategies and "mitogen_linear" in strategies:
            for label in labels:
                a, b = index.get(("mitogen_linear", label)), index.get(("linear", label))
                if a and b:
                    print("  %s, mitogen_linear / linear: fresh %s, no-op %s" % (label, ratio(a["fresh"], b["fresh"]), ratio(a["noop"], b["noop"])))
        for c in group:
            t = transfers(c["dir"])
            print("  transfers (write/read GiB/s) %s %s: %s; load before/after %s / %s" % (
                c["strategy"], c["label"], t if t is not None else "no report", c["load"][0], c["load"][1]))

    if show_plays:
        for c in configs:
            if not c["fresh_plays"]:
                continue
            print("per play (seconds, tasks), %s, %s, %s: fresh | median no-op" % (c["inventory"], c["strategy"], c["label"]))
            names = list(c["fresh_plays"]) + [p for p in c["noop_plays"] if p not in c["fresh_plays"]]
            for play in names:
                f = c["fresh_plays"].get(play, [0.0, 0])
                n = c["noop_plays"].get(play, [0.0, 0])
                print("  %-62s %6.1f %4d | %6.1f %4d" % (play[:62], f[0], f[1], n[0], n[1]))

    for c in configs:
        r = throughput(c["dir"])
        if r is None:
            continue
        what = (read(os.path.join(c["dir"], "throughput.what"), "") or "").split()
        print("throughput on %s, %s -> %s (%s, %s, %s) vs two engines started by hand "
              "(64 MiB, best of 3 rounds, median of 10, order alternating):" % (
                  what[0] if what else "?", what[1] if len(what) > 1 else "?", what[2] if len(what) > 2 else "?",
                  c["inventory"], c["label"], c["strategy"]))
        for kind in ("write", "read"):
            print("  %-5s deployed %.2f GiB/s, by hand %.2f GiB/s, ratio %.2f" % (
                kind, r["deployed"][kind], r["by_hand"][kind], r["ratio"][kind]))
    return 1 if any(c["failed"] for c in configs) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
