"""Build the compiled Mooncake transfer engine as a reproducible Debian package.

    python3 native/build_artifact.py --version 0.3.13.post1 --variant non-cuda --out dist/
    python3 native/build_artifact.py --version 0.4.0 --variant source --prefix /path/to/install --out dist/

The package `mooncake-transfer-engine-<variant>-<version>` installs a self-contained
virtual environment of the system Python into /opt/mooncake/engines/<version>-<variant>/venv,
with manifest.json (version, variant, inputs with sha256, system libraries) beside it. The
version is part of the package name, so several versions are installed side by side.

Inputs: the official compiled build from PyPI (the pinned wheel and its dependencies,
downloaded for the target Python and CPU into a cached wheelhouse) or, with --prefix, the
install prefix of a source build (its lib/python3.X/site-packages and bin/). The system
libraries come from the shared objects' NEEDED entries, resolved with ldconfig and dpkg -S on
the controller (which must run the target release).

Same inputs, same bytes: fixed mtimes (SOURCE_DATE_EPOCH), modes, owners
(dpkg-deb --root-owner-group), no byte code, gzip through dpkg-deb.
Prints a JSON summary (deb, manifest, sha256, package, id) on stdout.
"""

import argparse
import base64
import calendar
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile

BUILDER_FORMAT = 1
ENGINES_ROOT = "/opt/mooncake/engines"
# Official compiled builds on PyPI, by variant.
DISTRIBUTIONS = {
    "non-cuda": "mooncake-transfer-engine-non-cuda",
    "cuda12": "mooncake-transfer-engine",
    "cuda13": "mooncake-transfer-engine-cuda13",
}
# Libraries of the CUDA builds that come from the NVIDIA driver/toolkit, not from Debian.
CUDA_PROVIDED = re.compile(r"^lib(cuda|cudart|cublas|cublasLt|nvidia-ml|nvrtc|nccl|nvJitLink|cufile|mlx5)[.-]")
DEB_ARCH_TO_MACHINE = {"amd64": "x86_64", "arm64": "aarch64"}
PROGRAMS = ("mooncake_master", "transfer_engine_bench", "mooncake_http_metadata_server")


def fail(message):
    print("build_artifact: " + message, file=sys.stderr)
    sys.exit(1)


def run(argv, **kwargs):
    return subprocess.run(argv, check=True, text=True, capture_output=True, **kwargs).stdout


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def controller_release():
    with open("/etc/os-release") as handle:
        for line in handle:
            if line.startswith("VERSION_CODENAME="):
                return line.split("=", 1)[1].strip().strip('"')
    return ""


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--version", required=True, help="engine version (PyPI version, or your build's)")
    parser.add_argument("--variant", required=True, help="non-cuda, cuda12, cuda13 (PyPI) or a name of yours with --prefix")
    parser.add_argument("--prefix", help="install prefix of a source build (instead of PyPI)")
    parser.add_argument("--python", default="3.11", help="target Python X.Y (the hosts' /usr/bin/python3)")
    parser.add_argument("--arch", default=None, help="Debian architecture (default: the controller's)")
    parser.add_argument("--release", default=None, help="target distribution release (default: the controller's)")
    parser.add_argument("--depends", default=None,
                        help="comma-separated Depends instead of deriving them (needed when the release is not the controller's)")
    parser.add_argument("--cache", default=os.path.expanduser("~/.cache/mooncake-deploy"), help="download cache")
    parser.add_argument("--out", required=True, help="output directory for the .deb and its manifest")
    args = parser.parse_args(argv)
    args.arch = args.arch or run(["dpkg", "--print-architecture"]).strip()
    args.release = args.release or controller_release()
    if not re.fullmatch(r"[0-9][0-9A-Za-z.+~]*", args.version):
        fail("--version %r: use a version like 0.3.13.post1 (digits first; letters, digits, . + ~)" % args.version)
    if not re.fullmatch(r"[a-z0-9][a-z0-9.+]*(-[a-z0-9.+]+)*", args.variant):
        fail("--variant %r: lowercase letters, digits, . + and single dashes" % args.variant)
    if args.prefix is None and args.variant not in DISTRIBUTIONS:
        fail("--variant %r has no official build; use one of %s, or --prefix for your own build"
             % (args.variant, ", ".join(sorted(DISTRIBUTIONS))))
    if args.arch not in DEB_ARCH_TO_MACHINE:
        fail("--arch %r: supported: %s" % (args.arch, ", ".join(sorted(DEB_ARCH_TO_MACHINE))))
    if not re.fullmatch(r"3\.[0-9]+", args.python):
        fail("--python %r: give X.Y, e.g. 3.11" % args.python)
    if args.depends is None and args.release != controller_release():
        fail("target release %s is not the controller's (%s): system libraries are derived with the "
             "controller's dpkg; build on a %s controller or give --depends" % (args.release, controller_release(), args.release))
    return args


def wheelhouse_path(args):
    platform = "manylinux_2_28_" + DEB_ARCH_TO_MACHINE[args.arch]
    name = "%s-%s-py%s-%s" % (DISTRIBUTIONS[args.variant], args.version, args.python, platform)
    return os.path.join(args.cache, "wheelhouse", name)


def wheelhouse(args):
    """Download the pinned wheel and its dependencies once; the directory is the input."""
    dist = DISTRIBUTIONS[args.variant]
    platform = "manylinux_2_28_" + DEB_ARCH_TO_MACHINE[args.arch]
    path = wheelhouse_path(args)
    requirement = "%s==%s" % (dist, args.version)
    if not os.path.exists(os.path.join(path, ".complete")):
        os.makedirs(path, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
                        "--only-binary=:all:", "--python-version=" + args.python, "--implementation=cp",
                        "--platform=" + platform, "--dest=" + path, requirement], check=True)
        with open(os.path.join(path, ".complete"), "w") as handle:
            handle.write(requirement + "\n")
    return path, requirement, platform


def wheel_epoch(path):
    """The newest entry date inside the engine's wheel: fixed by the input, not by the build."""
    with zipfile.ZipFile(path) as archive:
        return max(calendar.timegm(info.date_time + (0, 0, -1)) for info in archive.infolist())


def inputs_of(directory, pattern=None):
    found = []
    for root, dirs, files in os.walk(directory):
        dirs.sort()
        for name in sorted(files):
            if name.startswith(".") or (pattern and not name.endswith(pattern)):
                continue
            full = os.path.join(root, name)
            if os.path.islink(full):
                continue
            found.append({"name": os.path.relpath(full, directory), "sha256": sha256_file(full),
                          "size": os.path.getsize(full)})
    return found


def install_wheels(args, stage_site, house, requirement, platform):
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                    "--no-cache-dir", "--no-index", "--find-links=" + house, "--only-binary=:all:",
                    "--python-version=" + args.python, "--implementation=cp", "--platform=" + platform,
                    "--no-compile", "--no-warn-script-location", "--target=" + stage_site, requirement],
                   check=True, env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"))
    # pip --target puts console scripts under the target; a venv has them in bin/.
    return os.path.join(stage_site, "bin")


def copy_prefix(args, stage_site):
    site = os.path.join(args.prefix, "lib", "python" + args.python, "site-packages")
    if not os.path.isdir(site):
        fail("--prefix %s has no lib/python%s/site-packages: install the engine's Python package "
             "into the prefix (pip install --prefix %s ...) for Python %s" % (args.prefix, args.python, args.prefix, args.python))
    shutil.copytree(site, stage_site, symlinks=True, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return os.path.join(args.prefix, "bin")


def place_scripts(scripts_dir, venv_bin, stage_site, python_path):
    """Console scripts into venv/bin with the engine's own Python in their #! line."""
    moved = {}
    if not os.path.isdir(scripts_dir):
        return moved
    for name in sorted(os.listdir(scripts_dir)):
        src = os.path.join(scripts_dir, name)
        if not os.path.isfile(src):
            continue
        with open(src, "rb") as handle:
            data = handle.read()
        if data.startswith(b"#!") and b"python" in data.split(b"\n", 1)[0]:
            data = b"#!" + python_path.encode() + b"\n" + data.split(b"\n", 1)[1]
        dest = os.path.join(venv_bin, name)
        with open(dest, "wb") as handle:
            handle.write(data)
        os.chmod(dest, 0o755)
        moved[name] = dest
    if os.path.realpath(scripts_dir).startswith(os.path.realpath(stage_site)):
        shutil.rmtree(scripts_dir)
    return moved


def fix_records(stage_site, moved):
    """RECORD lists bin/NAME under the target; point it at the script's real place and hash."""
    for dist_info in sorted(os.listdir(stage_site)):
        record = os.path.join(stage_site, dist_info, "RECORD")
        if not dist_info.endswith(".dist-info") or not os.path.isfile(record):
            continue
        with open(record) as handle:
            lines = handle.read().splitlines()
        out = []
        for line in lines:
            path = line.split(",", 1)[0]
            # pip records the scripts as it wrote them (its own interpreter in the #! line),
            # relative to wherever it staged them: "bin/x", "../../bin/x", ...
            match = re.match(r"^(?:\.\./)*bin/([^/]+)$", path)
            if match and match.group(1) in moved:
                with open(moved[match.group(1)], "rb") as script:
                    data = script.read()
                digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
                line = "%s,sha256=%s,%d" % (os.path.relpath(moved[match.group(1)], stage_site), digest, len(data))
            out.append(line)
        with open(record, "w") as handle:
            handle.write("\n".join(out) + "\n")


def make_venv(venv, python):
    """A virtual environment of /usr/bin/pythonX.Y, written directly (no host-specific paths)."""
    os.makedirs(os.path.join(venv, "bin"), exist_ok=True)
    with open(os.path.join(venv, "pyvenv.cfg"), "w") as handle:
        handle.write("home = /usr/bin\ninclude-system-site-packages = false\nversion = %s\n"
                     "executable = /usr/bin/python%s\n" % (python, python))
    os.symlink("/usr/bin/python" + python, os.path.join(venv, "bin", "python" + python))
    os.symlink("python" + python, os.path.join(venv, "bin", "python3"))
    os.symlink("python3", os.path.join(venv, "bin", "python"))
    os.symlink("lib", os.path.join(venv, "lib64"))


def is_elf(path):
    with open(path, "rb") as handle:
        return handle.read(4) == b"\x7fELF"


def needed_libraries(tree):
    """NEEDED sonames of every ELF file in the tree that the tree does not ship itself."""
    shipped, needed = set(), set()
    for root, dirs, files in os.walk(tree):
        dirs.sort()
        for name in sorted(files):
            full = os.path.join(root, name)
            if os.path.islink(full) or not os.path.isfile(full):
                continue
            shipped.add(name)
            if not is_elf(full):
                continue
            for line in run(["readelf", "-d", "-W", full]).splitlines():
                match = re.search(r"\(NEEDED\)\s+Shared library: \[(.+)\]", line)
                if match:
                    needed.add(match.group(1))
    return sorted(needed - shipped)


def ldconfig_paths(arch):
    tag = {"amd64": "x86-64", "arm64": "AArch64"}[arch]
    paths = {}
    for line in run(["/sbin/ldconfig", "-p"]).splitlines():
        match = re.match(r"\s*(\S+) \(([^)]*)\) => (\S+)", line)
        if match and tag in match.group(2):
            paths.setdefault(match.group(1), match.group(3))
    return paths


def owning_package(path):
    candidates = [path, os.path.realpath(path)]
    for cand in list(candidates):
        if cand.startswith("/usr/lib/"):
            candidates.append(cand[4:])
        elif cand.startswith("/lib/"):
            candidates.append("/usr" + cand)
    for cand in candidates:
        result = subprocess.run(["dpkg", "-S", cand], check=False, text=True, capture_output=True)
        if result.returncode == 0:
            return result.stdout.split(":", 1)[0].split(",")[0].strip()
    return None


def system_packages(sonames, args):
    """Map sonames to the Debian packages that ship them (on the controller)."""
    paths = ldconfig_paths(args.arch)
    packages, unresolved = {}, []
    for soname in sonames:
        pkg = owning_package(paths[soname]) if soname in paths else None
        if pkg:
            packages.setdefault(pkg, []).append(soname)
        elif args.variant.startswith("cuda") and CUDA_PROVIDED.match(soname):
            unresolved.append(soname)
        else:
            fail("%s needs %s, which no installed Debian package on the controller provides: install the "
                 "package that ships it on the controller (apt-file search %s), or give --depends"
                 % (args.variant, soname, soname))
    return packages, unresolved


def normalize(tree, epoch):
    for root, dirs, files in os.walk(tree, topdown=False):
        for name in files + dirs:
            full = os.path.join(root, name)
            if not os.path.islink(full):
                mode = os.stat(full).st_mode
                os.chmod(full, 0o755 if (os.path.isdir(full) or mode & 0o111) else 0o644)
            os.utime(full, (epoch, epoch), follow_symlinks=False)
    os.chmod(tree, 0o755)
    os.utime(tree, (epoch, epoch))


def installed_size_kib(tree):
    total = 0
    for root, dirs, files in os.walk(tree):
        for name in files + dirs:
            full = os.path.join(root, name)
            total += (os.lstat(full).st_size + 1023) // 1024 if not os.path.isdir(full) else 1
    return total


def control_text(package, args, depends, size_kib, description):
    return ("Package: %s\nVersion: %s\nArchitecture: %s\nMaintainer: mooncake.deploy <mooncake-deploy@example.invalid>\n"
            "Installed-Size: %d\nDepends: %s\nSection: libs\nPriority: optional\n"
            "Description: Mooncake transfer engine %s (%s) in %s/%s-%s\n %s\n"
            % (package, args.version, args.arch, size_kib, ", ".join(depends), args.version, args.variant,
               ENGINES_ROOT, args.version, args.variant, description))


PRERM = """#!/bin/sh
# Byte code the engine's Python wrote at run time is not in the package: remove it with it.
set -e
if [ "$1" = remove ] || [ "$1" = purge ] || [ "$1" = upgrade ]; then
  find '%s' -depth -type d -name __pycache__ -exec rm -rf {} +
fi
exit 0
"""


def package_name(args):
    return ("mooncake-transfer-engine-%s-%s" % (args.variant, args.version)).lower()


def build(args):
    """A package cached for these inputs is returned at once. Otherwise one process per package
    downloads and builds (Ansible asks for several hosts at once); the others wait on its lock
    and then find the package cached."""
    cached = build_locked(args, probe=True)
    if cached:
        return cached
    os.makedirs(args.cache, exist_ok=True)
    with open(os.path.join(args.cache, ".build-%s.lock" % package_name(args)), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return build_locked(args)


def build_locked(args, probe=False):
    """Build the package; with probe, only return it when cached (None otherwise, nothing written)."""
    engine_id = "%s-%s" % (args.version, args.variant)
    package = package_name(args)
    prefix = "%s/%s" % (ENGINES_ROOT, engine_id)
    if args.prefix:
        house = requirement = platform = None
        inputs = inputs_of(args.prefix)
    else:
        if probe and not os.path.exists(os.path.join(wheelhouse_path(args), ".complete")):
            return None
        house, requirement, platform = wheelhouse(args)
        inputs = inputs_of(house, ".whl")
    deb_name = "%s_%s_%s.deb" % (package, args.version, args.arch)
    deb = os.path.join(args.out, deb_name)
    sidecar = os.path.join(args.out, deb_name[:-len(".deb")] + ".manifest.json")
    key = build_key(args, inputs)
    summary = {"deb": deb, "manifest": sidecar, "package": package, "version": args.version,
               "variant": args.variant, "id": engine_id}
    cached = reusable(deb, sidecar, key)
    if cached:
        return dict(summary, sha256=cached["deb"]["sha256"], depends=cached["depends"], built=False)
    if probe:
        return None
    os.makedirs(args.out, exist_ok=True)
    work = tempfile.mkdtemp(prefix=".build-", dir=args.out)
    try:
        stage = os.path.join(work, "root")
        engine_dir = stage + prefix
        venv = os.path.join(engine_dir, "venv")
        stage_site = os.path.join(venv, "lib", "python" + args.python, "site-packages")
        os.makedirs(stage_site)
        make_venv(venv, args.python)
        if args.prefix:
            source = {"kind": "prefix", "prefix": os.path.abspath(args.prefix)}
            scripts = copy_prefix(args, stage_site)
            epoch = max([int(os.path.getmtime(os.path.join(args.prefix, i["name"]))) for i in inputs] or [0])
        else:
            source = {"kind": "pypi", "requirement": requirement, "platform": platform}
            engine_wheel = [i["name"] for i in inputs if i["name"].replace("_", "-").startswith(
                DISTRIBUTIONS[args.variant] + "-" + args.version + "-")]
            if not engine_wheel:
                fail("the wheelhouse %s has no wheel of %s" % (house, requirement))
            epoch = wheel_epoch(os.path.join(house, engine_wheel[0]))
            scripts = install_wheels(args, stage_site, house, requirement, platform)
        epoch = int(os.environ.get("SOURCE_DATE_EPOCH", epoch))
        moved = place_scripts(scripts, os.path.join(venv, "bin"), stage_site, prefix + "/venv/bin/python")
        fix_records(stage_site, moved)
        missing = [p for p in PROGRAMS if p not in moved]
        if missing:
            fail("the engine's build has no %s: not a complete transfer engine" % ", ".join(missing))
        for root, dirs, files in os.walk(stage, topdown=False):
            for name in dirs:
                if name == "__pycache__":
                    shutil.rmtree(os.path.join(root, name))
        sonames = needed_libraries(stage)
        if args.depends is not None:
            by_package, unresolved = {d.strip(): [] for d in args.depends.split(",") if d.strip()}, []
        else:
            by_package, unresolved = system_packages(sonames, args)
        depends = sorted(by_package) + ["python%s" % args.python]
        manifest = {
            "format": BUILDER_FORMAT, "id": engine_id, "package": package, "version": args.version,
            "variant": args.variant, "python": args.python, "arch": args.arch, "release": args.release,
            "prefix": prefix, "venv": prefix + "/venv", "source": source, "inputs": inputs,
            "needed_sonames": sonames, "system_packages": by_package, "unresolved_sonames": unresolved,
            "programs": sorted(moved), "source_date_epoch": epoch,
        }
        in_package = dict(manifest)
        with open(os.path.join(engine_dir, "manifest.json"), "w") as handle:
            json.dump(in_package, handle, indent=2, sort_keys=True)
            handle.write("\n")
        debian = os.path.join(stage, "DEBIAN")
        os.makedirs(debian)
        with open(os.path.join(debian, "prerm"), "w") as handle:
            handle.write(PRERM % prefix)
        os.chmod(os.path.join(debian, "prerm"), 0o755)
        size = installed_size_kib(stage)
        with open(os.path.join(debian, "control"), "w") as handle:
            handle.write(control_text(package, args, depends, size,
                                      "Built by mooncake.deploy native/build_artifact.py from %s."
                                      % (source.get("requirement") or "a source build's install prefix")))
        normalize(stage, epoch)
        partial = os.path.join(work, deb_name)
        subprocess.run(["dpkg-deb", "--root-owner-group", "-Zgzip", "-z6", "--build", stage, partial],
                       check=True, capture_output=True, env=dict(os.environ, SOURCE_DATE_EPOCH=str(epoch)))
        os.replace(partial, deb)
        manifest["deb"] = {"file": deb_name, "sha256": sha256_file(deb), "size": os.path.getsize(deb)}
        manifest["depends"] = depends
        manifest["build_key"] = key
        with open(sidecar + ".partial", "w") as handle:
            json.dump(manifest, handle, indent=2, sort_keys=True)
            handle.write("\n")
        os.replace(sidecar + ".partial", sidecar)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return dict(summary, sha256=manifest["deb"]["sha256"], depends=depends, built=True)


def build_key(args, inputs):
    """What decides the bytes: this builder, the target and the inputs' hashes."""
    with open(os.path.abspath(__file__), "rb") as handle:
        builder = hashlib.sha256(handle.read()).hexdigest()
    target = [args.version, args.variant, args.python, args.arch, args.release, args.depends,
              os.environ.get("SOURCE_DATE_EPOCH")]
    text = json.dumps([BUILDER_FORMAT, builder, target, inputs], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def reusable(deb, sidecar, key):
    """The manifest of an earlier build with the same key, if its .deb is still intact."""
    try:
        with open(sidecar) as handle:
            manifest = json.load(handle)
    except (OSError, ValueError):
        return None
    if manifest.get("build_key") != key or not os.path.isfile(deb):
        return None
    if os.path.getsize(deb) != manifest["deb"]["size"] or sha256_file(deb) != manifest["deb"]["sha256"]:
        return None
    return manifest


def main(argv=None):
    args = parse_args(argv if argv is not None else sys.argv[1:])
    print(json.dumps(build(args), sort_keys=True))


if __name__ == "__main__":
    main()
