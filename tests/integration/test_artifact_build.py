"""native/build_artifact.py: PyPI's pinned engine build as a Debian package, byte for byte reproducible.

Two builds of the same inputs in different directories give the same sha256; the package
installs the engine under its versioned prefix with a manifest and the Depends derived from
the shared objects. Downloads the pinned wheelhouse once (cached in ~/.cache/mooncake-deploy).
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys

import pytest
import yaml

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILDER = os.path.join(REPO, "native", "build_artifact.py")
DEFAULTS = yaml.safe_load(open(os.path.join(REPO, "roles", "transfer_engine", "defaults", "main.yml")))
VERSION = DEFAULTS["mooncake_transfer_engine_version"]
VARIANT = DEFAULTS["mooncake_transfer_engine_variant"]
PACKAGE = "mooncake-transfer-engine-%s-%s" % (VARIANT, VERSION)
PREFIX = "./opt/mooncake/engines/%s-%s" % (VERSION, VARIANT)


def build(out, *extra, python=sys.executable):
    run = subprocess.run([python, BUILDER, "--version", VERSION, "--variant", VARIANT, "--python", "3.11",
                          "--out", str(out)] + list(extra), capture_output=True, text=True, timeout=900, check=False)
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


def sha256(path):
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    for tool in ("dpkg-deb", "readelf", "dpkg"):
        if shutil.which(tool) is None:
            pytest.skip("%s is not installed: the builder needs a Debian controller (make bootstrap)" % tool)
    # Through two names of the same interpreter: nothing of the build machine may leak in
    # (pip writes its own interpreter into the scripts and their RECORD lines).
    bindir = os.path.dirname(sys.executable)
    pythons = [os.path.join(bindir, name) for name in ("python", "python3") if os.path.exists(os.path.join(bindir, name))]
    if len(pythons) < 2:
        pytest.skip("the test's Python has no second name (python and python3) in %s" % bindir)
    first = build(tmp_path_factory.mktemp("first"), python=pythons[0])
    second = build(tmp_path_factory.mktemp("second"), python=pythons[1])
    return first, second


def test_two_builds_of_the_same_inputs_are_byte_identical(builds):
    first, second = builds
    assert first["built"] and second["built"]
    assert first["deb"] != second["deb"]
    assert sha256(first["deb"]) == sha256(second["deb"]) == first["sha256"] == second["sha256"]


def test_a_second_build_into_the_same_directory_reuses_the_package(builds):
    first = builds[0]
    again = build(os.path.dirname(first["deb"]))
    assert again["built"] is False and again["sha256"] == first["sha256"]


def test_the_package_is_named_and_versioned_for_side_by_side_installs(builds):
    deb = builds[0]["deb"]
    fields = subprocess.run(["dpkg-deb", "--field", deb, "Package", "Version", "Depends"], capture_output=True,
                            text=True, check=True).stdout
    assert "Package: %s\n" % PACKAGE in fields
    assert "Version: %s\n" % VERSION in fields
    depends = fields.split("Depends: ", 1)[1].strip().split(", ")
    # From the NEEDED entries of the engine's shared objects, mapped by the controller's dpkg.
    for package in ("libibverbs1", "libnuma1", "libcurl4", "python3.11"):
        assert package in depends, fields


def test_the_package_holds_a_venv_with_the_programs_and_a_manifest(builds):
    deb = builds[0]["deb"]
    listing = subprocess.run(["dpkg-deb", "--contents", deb], capture_output=True, text=True, check=True).stdout
    for path in ("/venv/pyvenv.cfg", "/venv/bin/mooncake_master", "/venv/bin/transfer_engine_bench",
                 "/venv/bin/mooncake_http_metadata_server", "/manifest.json"):
        assert PREFIX + path in listing, path
    assert "/venv/bin/python3.11 -> /usr/bin/python3.11" in listing
    # Fixed owners, no byte code, nothing outside the prefix.
    assert all(" root/root " in line for line in listing.splitlines()), listing[:500]
    assert "__pycache__" not in listing and ".pyc" not in listing
    names = [line.split()[5] for line in listing.splitlines()]
    assert all(n in ("./", "./opt/", "./opt/mooncake/", "./opt/mooncake/engines/") or n.startswith(PREFIX) for n in names)
    script = subprocess.run("dpkg-deb --fsys-tarfile %s | tar -xO %s/venv/bin/mooncake_master" % (deb, PREFIX), shell=True,
                            capture_output=True, text=True, check=True).stdout
    assert script.splitlines()[0] == "#!" + PREFIX[1:] + "/venv/bin/python"


def test_record_files_match_the_scripts_as_packaged(builds):
    listing = subprocess.run("dpkg-deb --fsys-tarfile %s | tar -xO --wildcards '*.dist-info/RECORD'" % builds[0]["deb"],
                             shell=True, capture_output=True, text=True, check=True).stdout
    scripts = [line for line in listing.splitlines() if "/bin/" in line.split(",")[0]]
    assert scripts and all(line.startswith("../../../bin/") for line in scripts), scripts


def test_the_manifest_names_version_variant_inputs_and_libraries(builds):
    manifest = json.load(open(builds[0]["manifest"]))
    assert (manifest["version"], manifest["variant"], manifest["id"]) == (VERSION, VARIANT, "%s-%s" % (VERSION, VARIANT))
    wheel = [i for i in manifest["inputs"] if i["name"].startswith("mooncake_transfer_engine_non_cuda-%s-" % VERSION)]
    assert len(wheel) == 1 and len(wheel[0]["sha256"]) == 64
    assert "libibverbs.so.1" in manifest["system_packages"]["libibverbs1"]
    assert manifest["unresolved_sonames"] == []
    assert manifest["deb"]["sha256"] == builds[0]["sha256"]
    assert set(manifest["programs"]) >= {"mooncake_master", "transfer_engine_bench", "mooncake_http_metadata_server"}


def test_an_unknown_variant_fails_naming_the_fix(tmp_path):
    run = subprocess.run([sys.executable, BUILDER, "--version", VERSION, "--variant", "cuda11", "--out", str(tmp_path)],
                         capture_output=True, text=True, timeout=60, check=False)
    assert run.returncode == 1
    assert "--variant 'cuda11' has no official build; use one of cuda12, cuda13, non-cuda, or --prefix" in run.stderr
    assert os.listdir(tmp_path) == []
