#!/usr/bin/env bash
# build-local-index.sh OUT_FILE DEB...
# On the controller: the apt index (Packages) of local .deb files served as a flat repository
# of their own, next to the downloaded one. Same files in, same bytes out.
set -euo pipefail
out=$1
shift
mkdir -p "$(dirname "$out")"
work=$(mktemp -d)
trap 'rm -rf -- "$work"' EXIT
for deb in "$@"; do
  ln -s "$(readlink -f "$deb")" "$work/$(basename "$deb")"
done
# Hosts index the same packages at once (delegated to the controller): each writes its own
# temporary file and renames it into place, so a reader never sees half an index.
partial=$(mktemp "$out.partial.XXXXXX")
(cd "$work" && apt-ftparchive packages . 2>/dev/null) >"$partial"
chmod 0644 "$partial"
mv "$partial" "$out"
