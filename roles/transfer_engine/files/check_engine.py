"""Run with an engine's Python: check_engine.py VENV. Exit 0 when the engine works.

It initialises a TransferEngine (P2PHANDSHAKE on 127.0.0.1: no etcd needed) and runs the
programs shipped with it. Prints one JSON line.
"""

import json
import os
import subprocess
import sys

# The check must not depend on an RDMA device or its memlock limit.
os.environ["MC_FORCE_TCP"] = "1"
PROGRAMS = [("mooncake_master", "--version"), ("transfer_engine_bench", "--version"),
            ("mooncake_http_metadata_server", "--help")]


def main():
    venv = sys.argv[1]
    report = {"python": sys.executable, "programs": {}}
    from mooncake.engine import TransferEngine  # pylint: disable=import-outside-toplevel,import-error
    engine = TransferEngine()
    status = engine.initialize("127.0.0.1", "P2PHANDSHAKE", "tcp", "")
    report["initialize"] = status
    if status != 0:
        print(json.dumps(report))
        sys.exit("TransferEngine.initialize('127.0.0.1', 'P2PHANDSHAKE', 'tcp', '') returned %s" % status)
    report["rpc_port"] = engine.get_rpc_port()
    for name, flag in PROGRAMS:
        result = subprocess.run([os.path.join(venv, "bin", name), flag], capture_output=True, text=True,
                                timeout=120, check=False)
        first = (result.stdout or result.stderr).strip().splitlines()
        report["programs"][name] = {"rc": result.returncode, "first_line": first[0] if first else ""}
        if result.returncode != 0:
            print(json.dumps(report))
            sys.exit("%s %s exited %s: %s" % (name, flag, result.returncode, result.stderr.strip()[-500:]))
    print(json.dumps(report))


if __name__ == "__main__":
    main()
