#!/usr/bin/env bash
# build-offline-repo.sh CACHE_DIR [--deb FILE]... PACKAGE...
# On the controller: download PACKAGE and everything it depends on (Depends, Pre-Depends,
# recursively) from the controller's own apt sources, index it as a flat apt repository and
# pack it into one tarball. The result is cached by package list and release, so a second run
# only prints the path. Prints the tarball's path on stdout.
# --deb FILE: a local package (the engine built by native/): its Depends join the package
# list, so the repository holds everything it needs; the .deb itself is served beside it
# (the role pushes it with its own index, see build-local-index.sh).
set -euo pipefail
cache=$1
shift
packages=()
while [ $# -gt 0 ]; do
  if [ "$1" = --deb ]; then
    # "a (>= 1), b | c, d:any" -> a b d (the first of alternatives, no versions or arch).
    mapfile -t -O "${#packages[@]}" packages < <(dpkg-deb -f "$2" Depends | tr ',' '\n' \
      | sed -e 's/|.*//' -e 's/(.*)//' -e 's/:any//' -e 's/[[:space:]]//g' | grep .)
    shift 2
  else
    packages+=("$1")
    shift
  fi
done
set -- "${packages[@]}"
# shellcheck source=/dev/null # the controller's own release
release=$(. /etc/os-release && echo "${VERSION_CODENAME:?}")
arch=$(dpkg --print-architecture)
key=$(printf '%s\n' "$release" "$arch" "$@" | sort -u | sha256sum | cut -c1-16)
out="$cache/$release-$arch-$key"
if [ -s "$out/repo.tar" ]; then
  echo "$out/repo.tar"
  exit 0
fi

# Hosts ask at once (parallel Ansible forks): for one package list, one builds, the others
# wait and find it cached.
mkdir -p "$cache"
exec 9>"$out.lock"
flock 9
if [ -s "$out/repo.tar" ]; then
  echo "$out/repo.tar"
  exit 0
fi

for pkg in "$@"; do
  # (no grep -q on a pipe: with pipefail its early exit fails the pipe)
  if ! grep -q 'Candidate: [0-9]' <<<"$(apt-cache policy "$pkg")"; then
    echo "build-offline-repo: the controller's apt has no candidate for '$pkg' ($release/$arch); run apt-get update on the controller" >&2
    exit 1
  fi
done
work=$(mktemp -d "$cache/.build.XXXXXX")
trap 'rm -rf -- "$work"' EXIT
mkdir -p "$work/repo"
# Names only (no <virtual> entries): providers of virtual packages are listed under them.
apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
  --no-replaces --no-enhances "$@" | grep '^[a-z0-9]' | sort -u >"$work/closure.txt"
mapfile -t closure <"$work/closure.txt"
(cd "$work/repo" && apt-get download -q "${closure[@]}" >"$work/download.log" 2>&1) \
  || { tail -n 20 "$work/download.log" >&2; exit 1; }
(cd "$work/repo" && apt-ftparchive packages . >Packages 2>/dev/null && gzip -9n -k Packages)
printf '%s\n' "$@" >"$work/repo/REQUESTED"
# Deterministic archive: same files in, same bytes out.
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$work/repo" -cf "$work/repo.tar" .
mkdir -p "$out"
mv "$work/repo.tar" "$out/repo.tar"
echo "build-offline-repo: $(wc -l <"$work/closure.txt") packages for $release/$arch in $out" >&2
echo "$out/repo.tar"
