#!/usr/bin/env bash
# make artifact: build the lab's engine package (the transfer_engine role's defaults: version,
# variant, the controller's release, CPU and Python 3.11 of Debian 12) into dist/.
# Extra arguments go to native/build_artifact.py, e.g. --variant cuda12 or --prefix DIR.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
python=$top/.venv/bin/python
read -r version variant < <("$python" -c '
import sys, yaml
d = yaml.safe_load(open(sys.argv[1]))
print(d["mooncake_transfer_engine_version"], d["mooncake_transfer_engine_variant"])' \
  "$top/roles/transfer_engine/defaults/main.yml")
exec "$python" "$top/native/build_artifact.py" --version "$version" --variant "$variant" \
  --python 3.11 --out "$top/dist" "$@"
