#!/usr/bin/env bash
# ansible-test sanity for mooncake.deploy, on a copy of the tracked files laid out as
# .../ansible_collections/mooncake/deploy (ansible-test insists on that path).
#
# Runs locally (--local; there is no container engine for --docker). ansible-test creates one
# virtualenv per sanity test under ~/.ansible/test/venv and installs that test's pinned
# requirements into it from PyPI (--requirements), so the project's .venv is not modified.
# Extra arguments go to ansible-test, e.g.: scripts/sanity.sh --test validate-modules
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export PATH="$top/.venv/bin:$PATH"
python_version=3.11

# ansible-test bootstraps pip into each empty virtualenv with a get-pip script it downloads
# from a host outside the package registries, which these machines must not contact (PyPI they
# may). So the cache always gets a stand-in that does the same job: it runs pip from the
# official pip wheel (fetched from PyPI with pip itself) to install the requested packages.
pip_version=$(cd / && python -c '
import types
from ansible_test._internal.python_requirements import get_venv_packages
print(get_venv_packages(types.SimpleNamespace(version="'"$python_version"'"))["pip"])')
cache="$HOME/.ansible/test/cache"
get_pip="$cache/get_pip_${pip_version//./_}.py"
if [ ! -s "$get_pip" ]; then
  mkdir -p "$cache"
  wheel="$cache/pip-$pip_version-py3-none-any.whl"
  [ -s "$wheel" ] || pip download -q --disable-pip-version-check --no-deps --only-binary :all: \
    -d "$cache" "pip==$pip_version"
  cat >"$get_pip.tmp" <<PY
# Stand-in for get-pip.py $pip_version written by mooncake.deploy's scripts/sanity.sh:
# installs the packages named on the command line with pip run from the pip wheel.
import os
import sys

sys.path.insert(0, "$wheel")
from pip._internal.cli.main import main  # noqa: E402

args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
if "--no-setuptools" not in sys.argv[1:]:
    args.append("setuptools")
if "--no-wheel" not in sys.argv[1:]:
    args.append("wheel")
sys.exit(main(["install", "--upgrade", "--force-reinstall"] + args))
PY
  mv "$get_pip.tmp" "$get_pip"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/mooncake-sanity.XXXXXX")
trap 'rm -rf "$work"' EXIT
dest="$work/ansible_collections/mooncake/deploy"
mkdir -p "$dest"

# Tracked files (git ls-files: no .venv, .cache, reports), as they are in the working tree.
# collections/ is skipped: it only holds the symlink back to the repository root.
cd "$top"
git ls-files -z --cached |
  while IFS= read -r -d '' path; do
    case "$path" in collections/*) continue ;; esac
    if [ -e "$path" ] || [ -L "$path" ]; then printf '%s\0' "$path"; fi
  done |
  tar --null --no-recursion -T - -cf - | tar -xf - -C "$dest"

cd "$dest"
ansible-test sanity --python "$python_version" --local --requirements --color no "$@"
