#!/usr/bin/env bash
# pytest: the unit tests (tests/unit: plugins on recorded procfs files plus a few live checks
# on 127.0.0.1) and the agent's integration test (tests/integration: two real transfer-engine
# agents against a real etcd, all on 127.0.0.1). Fails when pytest fails; prints pytest's
# summary line last. Extra arguments go to pytest, e.g.: scripts/unit.sh -k sockets
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export PATH="$top/.venv/bin:$PATH"
python="$top/.venv/bin/python"

# The integration test skips (with the reason) when these are missing; say so up front.
export MOONCAKE_TEST_ETCD="${MOONCAKE_TEST_ETCD:-/usr/bin/etcd}"
export MOONCAKE_TEST_PYTHON="${MOONCAKE_TEST_PYTHON:-$python}"
[ -x "$MOONCAKE_TEST_ETCD" ] ||
  echo "unit.sh: $MOONCAKE_TEST_ETCD is missing (Debian package etcd-server): the agent test will skip" >&2
"$MOONCAKE_TEST_PYTHON" -c 'import mooncake.engine' 2>/dev/null ||
  echo "unit.sh: $MOONCAKE_TEST_PYTHON cannot import mooncake.engine: the agent test will skip" >&2

cd "$top"
log=$(mktemp "${TMPDIR:-/tmp}/mooncake-unit.XXXXXX")
trap 'rm -f "$log"' EXIT
rc=0
# -p no:cacheprovider: no .pytest_cache in the tree; -rs: list skipped tests with the reason.
"$python" -m pytest -p no:cacheprovider -rs tests/unit tests/integration "$@" 2>&1 | tee "$log" || rc=$?
# pytest's last line: "==== 150 passed, 2 skipped in 9.1s ====" (without the = under -q)
summary=$(sed -nE '/(passed|failed|errors?|skipped|deselected|xfailed|xpassed|warnings?|no tests ran).* in [0-9.]+s/{s/^=+ //; s/ =+$//; p}' "$log" |
  tail -n 1)
echo "unit.sh: pytest summary: ${summary:-none (pytest exited $rc)}"
exit "$rc"
