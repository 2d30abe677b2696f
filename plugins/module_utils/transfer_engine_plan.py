# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""What the transfer_engine role installs, checked and spelled out once.

The role's settings (version, variant, method, ...) and two host facts (Python X.Y, CPU)
become: the errors (all of them, each naming the host and the fix), the engine's id, paths and
Debian package, the packages and directories of the engines to remove, the arguments of
``native/build_artifact.py`` and the public fact ``mooncake_transfer_engine_active``.
``native/build_artifact.py`` names its packages and lays them out the same way.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

# The official compiled builds on PyPI, by variant (native/build_artifact.py has the same map;
# tests/unit/test_engine_artifact_specs.py keeps them equal).
DISTRIBUTIONS = {
    "non-cuda": "mooncake-transfer-engine-non-cuda",
    "cuda12": "mooncake-transfer-engine",
    "cuda13": "mooncake-transfer-engine-cuda13",
}
ENGINES_ROOT = "/opt/mooncake/engines"
# Where a pushed package waits on the host (when no repository serves it).
PUSH_DIR = "/var/cache/mooncake/engines"
VERSION_PATTERN = re.compile(r"^[0-9][0-9A-Za-z.+~]*$")
VARIANT_PATTERN = re.compile(r"^[a-z0-9][a-z0-9.+]*(-[a-z0-9.+]+)*$")
ENGINE_ID_PATTERN = re.compile(r"^([0-9][0-9A-Za-z.+~]*)-([a-z0-9][a-z0-9.+-]*)$")
DEB_ARCHES = {"x86_64": "amd64", "aarch64": "arm64"}
METHODS = ("artifact", "pip")


def package_name(version, variant):
    """The Debian package of an engine (native/build_artifact.py's package_name)."""
    return ("mooncake-transfer-engine-%s-%s" % (variant, version)).lower()


def deb_arch(architecture):
    """Debian's name of a CPU (``ansible_facts['architecture']``)."""
    return DEB_ARCHES.get(architecture, architecture)


def deb_file(version, variant, architecture):
    """The file name native/build_artifact.py gives the engine's package."""
    return "%s_%s_%s.deb" % (package_name(version, variant), version, deb_arch(architecture))


def _settings_errors(host, version, variant, method, prefix, package):
    official = variant in DISTRIBUTIONS
    ok = (VERSION_PATTERN.match(version or "") and VARIANT_PATTERN.match(variant or "") and method in METHODS
          and (official or (method == "artifact" and prefix) or (method == "pip" and package))
          and (method != "artifact" or not official or prefix or not package or package == DISTRIBUTIONS[variant]))
    if ok:
        return []
    return [
        "host %s: engine %s variant %s (method %s): the version must look like 0.3.13.post1 and the variant be one "
        "of %s (official builds), or a lowercase name of yours with mooncake_transfer_engine_artifact_prefix "
        "(artifact) or mooncake_transfer_engine_package (pip). To choose the CUDA build set "
        "mooncake_transfer_engine_variant (cuda12, cuda13), not mooncake_transfer_engine_package (now %s)."
        % (host, version, variant, method, ", ".join(DISTRIBUTIONS), package or "empty: the variant's official build")
    ]


def engine_plan(settings, host="this host", python_version="3", architecture="x86_64"):
    """Return the plan of the engine ``settings`` asks for on a host.

    ``settings``: version, variant, method, artifact_prefix, package, remove, venv (the role's
    variables without their ``mooncake_transfer_engine_`` prefix). ``python_version``: the
    host's Python ``X.Y``; ``architecture``: ``ansible_facts['architecture']``.
    """
    version = str(settings.get("version") or "")
    variant = str(settings.get("variant") or "")
    method = str(settings.get("method") or "artifact")
    prefix = str(settings.get("artifact_prefix") or "")
    package = str(settings.get("package") or "")
    remove = [str(item) for item in settings.get("remove") or []]
    link = str(settings.get("venv") or "/opt/mooncake/venv")

    errors = _settings_errors(host, version, variant, method, prefix, package)
    engine_id = "%s-%s" % (version, variant)
    bad_ids = [item for item in remove if not ENGINE_ID_PATTERN.match(item)]
    if bad_ids or engine_id in remove:
        errors.append(
            "host %s: mooncake_transfer_engine_remove lists %s; each must be an engine id <version>-<variant> "
            "(e.g. 0.3.13.post1-cuda12) and not the active engine %s." % (host, ", ".join(remove), engine_id))

    path = "%s/%s" % (ENGINES_ROOT, engine_id)
    venv = path + "/venv"
    removed = []
    for item in remove:
        match = ENGINE_ID_PATTERN.match(item)
        if match and item != engine_id:
            # The version has no dash: the id splits at its first one.
            old_version, old_variant = match.group(1), match.group(2)
            removed.append({"id": item, "package": package_name(old_version, old_variant),
                            "path": "%s/%s" % (ENGINES_ROOT, item),
                            "pushed": "%s/%s" % (PUSH_DIR, deb_file(old_version, old_variant, architecture))})

    builder = ["--version", version, "--variant", variant, "--python", python_version, "--arch", deb_arch(architecture)]
    if prefix:
        builder += ["--prefix", prefix]
    pip_package = package or DISTRIBUTIONS.get(variant, "")
    index_url = str(settings.get("pip_index_url") or "")
    find_links = str(settings.get("pip_find_links") or "")
    pip_env = {}
    if index_url:
        pip_env["PIP_INDEX_URL"] = index_url
    if find_links:
        pip_env["PIP_FIND_LINKS"] = find_links
        if not index_url:
            # A wheelhouse alone: no index at all.
            pip_env["PIP_NO_INDEX"] = "1"
    return {
        "errors": errors,
        "id": engine_id,
        "path": path,
        "venv": venv,
        "package": package_name(version, variant),
        "pip_requirement": "%s==%s" % (pip_package, version),
        "pip_env": pip_env,
        "deb_arch": deb_arch(architecture),
        "pushed": "%s/%s" % (PUSH_DIR, deb_file(version, variant, architecture)),
        "push_dir": PUSH_DIR,
        "legacy_venv": link + ".pre-engines",
        "remove": removed,
        "builder_args": builder,
        "active": {
            "id": engine_id, "version": version, "variant": variant, "method": method, "path": path,
            "venv": venv, "link": link, "python": venv + "/bin/python", "master": venv + "/bin/mooncake_master",
        },
    }
