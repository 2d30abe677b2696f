#!/usr/bin/env bash
# prepare-offline-repo.sh CACHE_DIR [--deb FILE]... PACKAGE...
# On the controller, in one command, everything a host's offline repository is made of:
# the downloaded repository (build-offline-repo.sh, cached by package list) and the index of
# the local .deb files (build-local-index.sh, cached by the files' names, sizes and mtimes),
# each with its sha256. Prints one JSON object: tarball, sha256, local_index, local_sha256.
# The role keys the host's stamp on the two hashes, so a host whose repository already has
# this content costs no transfer (the local index lists each .deb's SHA256, so it stands for
# the packages too).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=$1
debs=()
args=("$@")
shift
while [ $# -gt 0 ]; do
  if [ "$1" = --deb ]; then
    debs+=("$2")
    shift 2
  else
    shift
  fi
done

tarball=$("$here/build-offline-repo.sh" "${args[@]}" | tail -n 1)
# A cached tarball never changes (a new package list gets a new directory): hash it once.
if [ ! -s "$tarball.sha256" ]; then
  partial=$(mktemp "$tarball.sha256.XXXXXX")
  sha256sum "$tarball" | cut -d' ' -f1 >"$partial"
  chmod 0644 "$partial"
  mv "$partial" "$tarball.sha256"
fi
sha=$(cat "$tarball.sha256")

index=""
index_sha=""
if [ "${#debs[@]}" -gt 0 ]; then
  # Served name (the given file's base name) and what it is: a rebuilt .deb has a new mtime.
  stamp=$(for deb in "${debs[@]}"; do
            printf '%s %s\n' "$(basename "$deb")" "$(stat -L -c '%s %Y %i' "$(readlink -f "$deb")")"
          done | sort | sha256sum | cut -c1-32)
  index=$cache/local-index/$stamp.Packages
  if [ ! -s "$index" ]; then
    "$here/build-local-index.sh" "$index" "${debs[@]}"
  fi
  index_sha=$(sha256sum "$index" | cut -d' ' -f1)
fi
printf '{"tarball": "%s", "sha256": "%s", "local_index": "%s", "local_sha256": "%s"}\n' \
  "$tarball" "$sha" "$index" "$index_sha"
