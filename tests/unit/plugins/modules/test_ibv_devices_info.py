# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""ibv_devices_info: main() with module args, on recorded ibv_devinfo/ibv_devices outputs and on
this machine's real (RDMA-less) kernel, with the rdma-core utilities present and absent, and
through ansible itself under Debian's Python where pyverbs imports."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shutil
import subprocess
import sys

import pytest

from ansible.module_utils import basic
from ansible_collections.mooncake.deploy.plugins.module_utils import ibverbs
from ansible_collections.mooncake.deploy.plugins.modules import ibv_devices_info
from ansible_collections.mooncake.deploy.tests.unit import module_harness
from ansible_collections.mooncake.deploy.tests.unit.ibverbs_fixtures import fixture, recorded
from ansible_collections.mooncake.deploy.tests.unit.module_harness import AnsibleExitJson, AnsibleFailJson, patch_exits
SYSTEM_PYTHON = "/usr/bin/python3"
NO_RDMA_HERE = pytest.mark.skipif(os.path.isdir("/sys/class/infiniband"),
                                  reason="this machine has RDMA; these tests cover a kernel without it")


@pytest.fixture(autouse=True)
def module_exits(monkeypatch, tmp_path):
    patch_exits(monkeypatch)
    # never this machine's sysfs: an empty directory unless a test builds one
    monkeypatch.setattr(ibv_devices_info, "SYSFS_ROOT", str(tmp_path / "sysfs"))


def run_module(args, expect_exception):
    return module_harness.run_module(ibv_devices_info.main, args, expect_exception)


def no_pyverbs():
    raise ImportError("No module named 'pyverbs'")


@pytest.fixture
def replay(monkeypatch):
    """Replays recorded outputs through AnsibleModule.run_command/get_bin_path; pyverbs absent."""
    outputs = {}
    ran = []

    def get_bin_path(self, name, required=False, opt_dirs=None):  # pylint: disable=unused-argument
        return "/usr/bin/" + name if any(key.split("-")[0] == name for key in outputs) else None

    def run_command(self, args, **kwargs):  # pylint: disable=unused-argument
        ran.append(" ".join(args))
        return outputs[os.path.basename(args[0]) + ("-v" if args[1:] == ["-v"] else "")]

    monkeypatch.setattr(basic.AnsibleModule, "get_bin_path", get_bin_path)
    monkeypatch.setattr(basic.AnsibleModule, "run_command", run_command)
    monkeypatch.setattr(ibverbs, "import_pyverbs", no_pyverbs)
    return outputs, ran


@pytest.fixture
def mlx5_host(replay):
    outputs, ran = replay
    outputs["ibv_devinfo-v"] = (0, fixture("mlx5-ofed-ib-and-roce", "ibv_devinfo-v.stdout"), "")
    return ran


@pytest.fixture
def no_rdma_kernel(replay):
    outputs, ran = replay
    outputs["ibv_devices"] = recorded("this-machine-no-rdma", "ibv_devices")
    outputs["ibv_devinfo-v"] = recorded("this-machine-no-rdma", "ibv_devinfo-v")
    return ran


# ---------------------------------------------------------------- recorded outputs


def test_reports_devices_unchanged(mlx5_host):
    result = run_module({}, AnsibleExitJson)
    assert result["changed"] is False and "failed" not in result
    assert result["available"] is True and result["source"] == "ibv_devinfo" and result["reason"] is None
    assert result["pyverbs_error"].startswith("pyverbs did not import: ImportError")
    assert [d["name"] for d in result["devices"]] == ["mlx5_0", "mlx5_2", "mlx5_4"]
    port = result["devices"][1]["ports"][0]
    assert port["state"] == "ACTIVE" and port["rate_gbps"] == 100.0 and port["suggested_gid_index"] is None
    assert result["failures"] == [] and result["notes"] == []
    assert mlx5_host == ["/usr/bin/ibv_devinfo -v"]


def test_sysfs_completion_through_the_module(mlx5_host, tmp_path, monkeypatch):
    base = tmp_path / "sysfs2" / "mlx5_2" / "ports" / "1"
    for sub in ("gid_attrs/types", "gid_attrs/ndevs"):
        (base / sub).mkdir(parents=True)
    for index, kind in enumerate(["IB/RoCE v1", "RoCE v2", "IB/RoCE v1", "RoCE v2"]):
        (base / "gid_attrs" / "types" / str(index)).write_text(kind + "\n")
        (base / "gid_attrs" / "ndevs" / str(index)).write_text("ens6\n")
    monkeypatch.setattr(ibv_devices_info, "SYSFS_ROOT", str(tmp_path / "sysfs2"))
    result = run_module({"require_devices": ["mlx5_2:1"], "require_active": True}, AnsibleExitJson)
    port = result["devices"][1]["ports"][0]
    assert result["sysfs_used"] is True
    assert port["suggested_gid_index"] == 3 and port["gids"][3]["netdev"] == "ens6"


def test_missing_device_fails_naming_what_was_found(mlx5_host):
    result = run_module({"require_devices": ["mlx5_5", "mlx5_2"]}, AnsibleFailJson)
    assert result["msg"] == "device mlx5_5 not found; found: mlx5_0, mlx5_2, mlx5_4"
    assert result["failures"] == [result["msg"]] and result["changed"] is False
    assert len(result["devices"]) == 3  # the facts still come back with the failure


def test_port_not_active_fails(mlx5_host):
    result = run_module({"require_devices": ["mlx5_0", "mlx5_2"], "require_active": True}, AnsibleFailJson)
    assert result["msg"] == "mlx5_0 port 1 is DOWN (physical state DISABLED), not ACTIVE"


def test_wrong_link_layer_fails(mlx5_host):
    result = run_module({"require_devices": ["mlx5_2:1"], "require_link_layer": "InfiniBand"}, AnsibleFailJson)
    assert result["msg"] == "mlx5_2 port 1 link layer is Ethernet, not InfiniBand"


def test_requirements_met_exit(mlx5_host):
    result = run_module({"require_devices": ["mlx5_2:1"], "require_active": True, "require_link_layer": "Ethernet"},
                        AnsibleExitJson)
    assert result["failures"] == [] and "failed" not in result


def test_check_mode_runs_the_same_queries(mlx5_host):
    result = run_module({"require_active": True, "_ansible_check_mode": True}, AnsibleFailJson)
    assert result["failures"] == ["mlx5_0 port 1 is DOWN (physical state DISABLED), not ACTIVE",
                                  "mlx5_4 port 1 is DOWN (physical state DISABLED), not ACTIVE"]
    assert mlx5_host == ["/usr/bin/ibv_devinfo -v"]


def test_no_rdma_kernel_is_not_a_failure_without_requirements(no_rdma_kernel):
    result = run_module({}, AnsibleExitJson)
    assert result["available"] is False and result["source"] == "none" and result["devices"] == []
    assert result["reason"] == ("no RDMA support in this kernel: ibv_devices exited 1: "
                                "Failed to get IB devices list: Function not implemented")
    assert "failed" not in result and result["failures"] == []


def test_no_rdma_kernel_fails_a_requirement_with_the_reason(no_rdma_kernel):
    result = run_module({"require_devices": ["mlx5_0"]}, AnsibleFailJson)
    assert result["msg"] == ("RDMA is unavailable: no RDMA support in this kernel: ibv_devices exited 1: "
                             "Failed to get IB devices list: Function not implemented; device mlx5_0 not found; found: none")


def test_kernel_with_rdma_and_no_device(replay):
    outputs, ran = replay
    outputs["ibv_devices"] = (0, fixture("rxe-no-provider-issue75", "ibv_devices.stdout"), "")
    outputs["ibv_devinfo-v"] = recorded("kernel-rdma-no-device-synthetic", "ibv_devinfo-v")
    result = run_module({}, AnsibleExitJson)
    assert result["available"] is True and result["devices"] == [] and result["notes"] == []
    result = run_module({"require_active": True}, AnsibleFailJson)
    assert result["msg"] == "no RDMA port found to check; found devices: none"
    assert ran == ["/usr/bin/ibv_devices", "/usr/bin/ibv_devinfo -v"] * 2


def test_use_pyverbs_false_does_not_import_it(mlx5_host, monkeypatch):
    def must_not_import():
        raise AssertionError("pyverbs must not be imported with use_pyverbs: false")
    monkeypatch.setattr(ibverbs, "import_pyverbs", must_not_import)
    result = run_module({"use_pyverbs": False}, AnsibleExitJson)
    assert result["pyverbs_error"] == "not tried (use_pyverbs is false)" and result["source"] == "ibv_devinfo"


@pytest.mark.parametrize("args, message", [
    ({"require_link_layer": "RoCE"}, "value of require_link_layer must be one of: InfiniBand, Ethernet, got: RoCE"),
    ({"require_active": "maybe"}, "is not a valid boolean"),
    ({"devices": ["mlx5_0"]}, "Unsupported parameters"),
])
def test_bad_arguments_fail_before_querying(replay, args, message):
    outputs, ran = replay
    result = run_module(args, AnsibleFailJson)
    assert message in result["msg"] and ran == []


# ---------------------------------------------------------------- this machine, for real


@NO_RDMA_HERE
def test_this_machine_real_tools():
    """No mocks but sysfs: the real ibv_devinfo/ibv_devices when installed, the venv's Python (no pyverbs)."""
    result = run_module({}, AnsibleExitJson)
    assert result["available"] is False and result["source"] == "none" and result["devices"] == []
    assert result["pyverbs_error"].startswith("pyverbs did not import: ModuleNotFoundError")
    if shutil.which("ibv_devices"):
        assert result["reason"] == ("no RDMA support in this kernel: ibv_devices exited 1: "
                                    "Failed to get IB devices list: Function not implemented")
    else:
        assert result["reason"].startswith("ibv_devinfo and ibv_devices not found: install the rdma-core utilities")


@NO_RDMA_HERE
def test_this_machine_without_the_tools(monkeypatch, tmp_path):
    """The real lookup on a PATH without rdma-core's utilities (get_bin_path also searches the sbin dirs)."""
    for sbin in ("/sbin", "/usr/sbin", "/usr/local/sbin"):
        if os.path.exists(os.path.join(sbin, "ibv_devinfo")) or os.path.exists(os.path.join(sbin, "ibv_devices")):
            pytest.skip("ibv_devinfo is installed in %s" % sbin)
    monkeypatch.setenv("PATH", str(tmp_path))
    result = run_module({}, AnsibleExitJson)
    assert result["available"] is False and result["source"] == "none"
    assert result["reason"] == ("ibv_devinfo and ibv_devices not found: install the rdma-core utilities: "
                                "ibverbs-utils on Debian/Ubuntu, libibverbs-utils on RHEL/Fedora")


def system_pyverbs():
    if not os.path.exists(SYSTEM_PYTHON):
        return "%s does not exist" % SYSTEM_PYTHON
    probe = subprocess.run([SYSTEM_PYTHON, "-c", "import pyverbs.device"], capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        return "%s cannot import pyverbs (apt-get install python3-pyverbs): %s" % (SYSTEM_PYTHON, probe.stderr.strip()[-200:])
    return None


@NO_RDMA_HERE
def test_module_through_ansible_under_debians_python(tmp_path):
    """The module as a play runs it (AnsiballZ), under /usr/bin/python3 where pyverbs imports and raises."""
    why = system_pyverbs()
    if why:
        pytest.skip(why)
    collections = ibv_devices_info.__file__.split(os.sep + "ansible_collections" + os.sep, maxsplit=1)[0]
    config = tmp_path / "ansible.cfg"
    config.write_text("[defaults]\n")
    env = dict(os.environ, ANSIBLE_CONFIG=str(config), ANSIBLE_COLLECTIONS_PATH=collections, ANSIBLE_NOCOLOR="1")
    ansible = os.path.join(os.path.dirname(sys.executable), "ansible")
    run = subprocess.run(
        [ansible, "localhost", "-i", "localhost,", "-c", "local", "-e", "ansible_python_interpreter=" + SYSTEM_PYTHON,
         "-m", "mooncake.deploy.ibv_devices_info"],
        capture_output=True, text=True, timeout=120, env=env, cwd=str(tmp_path), check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    marker = "localhost | SUCCESS => "
    assert marker in run.stdout, run.stdout + run.stderr
    result = json.loads(run.stdout.split(marker, 1)[1])
    assert result["changed"] is False and result["available"] is False and result["source"] == "none"
    assert result["pyverbs_error"] == "PyverbsRDMAError: Failed to get devices list"
    if shutil.which("ibv_devices"):
        assert result["reason"].endswith("Failed to get IB devices list: Function not implemented")
