# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""transfer_engine_plan: the role's settings checked, the engine's paths and packages spelled out."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.mooncake.deploy.plugins.filter.transfer_engine_plan import FilterModule
from ansible_collections.mooncake.deploy.plugins.module_utils.transfer_engine_plan import engine_plan

PLAN = FilterModule().filters()["transfer_engine_plan"]
DEFAULTS = {"version": "0.3.13.post1", "variant": "non-cuda", "method": "artifact", "artifact_prefix": "",
            "package": "", "pip_index_url": "", "pip_find_links": "", "remove": [], "venv": "/opt/mooncake/venv"}


def plan(**changes):
    return engine_plan(dict(DEFAULTS, **changes), "gpu1", "3.11", "x86_64")


def test_the_defaults_install_the_official_non_cuda_build():
    result = PLAN(DEFAULTS, "gpu1", 3.11, "x86_64")
    assert result["errors"] == []
    assert result["id"] == "0.3.13.post1-non-cuda"
    assert result["venv"] == "/opt/mooncake/engines/0.3.13.post1-non-cuda/venv"
    assert result["package"] == "mooncake-transfer-engine-non-cuda-0.3.13.post1"
    assert result["legacy_venv"] == "/opt/mooncake/venv.pre-engines"
    assert result["builder_args"] == ["--version", "0.3.13.post1", "--variant", "non-cuda", "--python", "3.11", "--arch", "amd64"]
    assert result["active"] == {
        "id": "0.3.13.post1-non-cuda", "version": "0.3.13.post1", "variant": "non-cuda", "method": "artifact",
        "path": "/opt/mooncake/engines/0.3.13.post1-non-cuda", "venv": "/opt/mooncake/engines/0.3.13.post1-non-cuda/venv",
        "link": "/opt/mooncake/venv", "python": "/opt/mooncake/engines/0.3.13.post1-non-cuda/venv/bin/python",
        "master": "/opt/mooncake/engines/0.3.13.post1-non-cuda/venv/bin/mooncake_master"}


def test_a_bad_variant_or_version_is_refused_with_host_and_fix():
    for changes in ({"variant": "CUDA"}, {"version": "v1"}, {"variant": "mine"}, {"variant": "cuda12", "package": "other"},
                    {"method": "rpm"}):
        errors = plan(**changes)["errors"]
        assert len(errors) == 1, changes
        assert errors[0].startswith("host gpu1: engine "), errors
    assert "variant CUDA" in plan(variant="CUDA")["errors"][0]
    assert "set mooncake_transfer_engine_variant (cuda12, cuda13)" in plan(variant="cuda12", package="other")["errors"][0]


def test_own_builds_need_a_prefix_or_a_package():
    assert plan(variant="source", artifact_prefix="/srv/build")["errors"] == []
    assert plan(variant="source", artifact_prefix="/srv/build")["builder_args"][-2:] == ["--prefix", "/srv/build"]
    assert plan(variant="mine", method="pip", package="my-engine")["errors"] == []
    assert plan(variant="mine", method="pip", package="my-engine")["pip_requirement"] == "my-engine==0.3.13.post1"
    assert plan(variant="cuda12", method="pip")["pip_requirement"] == "mooncake-transfer-engine==0.3.13.post1"


def test_pip_options_become_environment():
    assert plan(method="pip")["pip_env"] == {}
    assert plan(method="pip", pip_find_links="/srv/wheels")["pip_env"] == {"PIP_FIND_LINKS": "/srv/wheels", "PIP_NO_INDEX": "1"}
    assert plan(method="pip", pip_find_links="/w", pip_index_url="http://i")["pip_env"] == {"PIP_FIND_LINKS": "/w", "PIP_INDEX_URL": "http://i"}


def test_engines_to_remove_become_packages_paths_and_pushed_files():
    result = plan(remove=["0.3.12-cuda12", "0.3.13.post1-source"])
    assert result["errors"] == []
    assert result["remove"] == [
        {"id": "0.3.12-cuda12", "package": "mooncake-transfer-engine-cuda12-0.3.12", "path": "/opt/mooncake/engines/0.3.12-cuda12",
         "pushed": "/var/cache/mooncake/engines/mooncake-transfer-engine-cuda12-0.3.12_0.3.12_amd64.deb"},
        {"id": "0.3.13.post1-source", "package": "mooncake-transfer-engine-source-0.3.13.post1",
         "path": "/opt/mooncake/engines/0.3.13.post1-source",
         "pushed": "/var/cache/mooncake/engines/mooncake-transfer-engine-source-0.3.13.post1_0.3.13.post1_amd64.deb"},
    ]


def test_the_active_engine_or_a_bad_id_is_refused():
    errors = plan(remove=["0.3.13.post1-non-cuda"])["errors"]
    assert errors and "not the active engine 0.3.13.post1-non-cuda" in errors[0]
    assert plan(remove=["cuda12"])["errors"]
    assert plan(remove=["0.3.13.post1-non-cuda"])["remove"] == []


def test_arm_hosts_get_arm64_packages():
    result = engine_plan(DEFAULTS, "arm1", "3.12", "aarch64")
    assert result["deb_arch"] == "arm64"
    assert result["builder_args"][-4:] == ["--python", "3.12", "--arch", "arm64"]
