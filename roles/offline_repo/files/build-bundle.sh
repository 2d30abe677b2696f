#!/usr/bin/env bash
# build-bundle.sh OUT_DIR REPO_TARBALL DEB...
# On the controller: one flat apt repository with everything: the packages of REPO_TARBALL
# (build-offline-repo.sh) and the local DEBs (the engine), one index, and the same as one
# tarball OUT_DIR.tar. Same files in, same bytes out. Prints the directory and the tarball.
set -euo pipefail
out=$1
tarball=$2
shift 2
work=$(mktemp -d "$(dirname "$out")/.bundle.XXXXXX")
trap 'rm -rf -- "$work"' EXIT
mkdir -p "$work/repo"
tar -C "$work/repo" -xf "$tarball"
rm -f "$work/repo/Packages" "$work/repo/Packages.gz"
for deb in "$@"; do
  cp "$deb" "$work/repo/"
done
(cd "$work/repo" && apt-ftparchive packages . >Packages 2>/dev/null && gzip -9n -k Packages)
find "$work/repo" -exec touch -h -d @0 {} +
chmod -R u=rwX,go=rX "$work/repo"
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$work/repo" -cf "$work/repo.tar" .
rm -rf -- "$out" "$out.tar"
mv "$work/repo.tar" "$out.tar"
mv "$work/repo" "$out"
echo "$out"
echo "$out.tar"
