"""The rdma role on a lab host whose kernel has no RDMA: installed, configured, and honest.

The module's real answer on the host is asserted, against the host's own ibv_devices.
"""

import json
import os
import re
import subprocess

import testinfra.utils.ansible_runner

RUNNER = testinfra.utils.ansible_runner.AnsibleRunner(os.environ["MOLECULE_INVENTORY_FILE"])
testinfra_hosts = RUNNER.get_hosts("mooncake")
REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
INVENTORY = os.path.dirname(os.environ["MOLECULE_INVENTORY_FILE"])


def ansible(*args):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    return subprocess.run(list(args), cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)


def test_rdma_userspace_is_installed(host):
    for package in ("rdma-core", "ibverbs-utils", "rdmacm-utils", "perftest", "infiniband-diags", "python3-pyverbs"):
        assert host.package(package).is_installed, package


CAP_SYS_RESOURCE = 24


def memlock(host, pid):
    """(soft, hard) 'Max locked memory' of a process."""
    line = next(l for l in host.file("/proc/%s/limits" % pid).content_string.splitlines() if l.startswith("Max locked memory"))
    return tuple(line.split()[3:5])


def expected_memlock(host):
    """Unlimited where systemd may raise limits (CAP_SYS_RESOURCE); otherwise the most it can
    give, PID 1's own hard limit (a machine that withholds the capability caps every unit)."""
    caps = int(next(l for l in host.file("/proc/1/status").content_string.splitlines() if l.startswith("CapEff:")).split()[1], 16)
    if caps & (1 << CAP_SYS_RESOURCE):
        return ("unlimited", "unlimited")
    hard = memlock(host, 1)[1]
    return (hard, hard)


def test_instances_get_unlimited_memlock(host):
    assert host.file("/etc/systemd/system/mooncake-instance@.service.d/50-mooncake-memlock.conf").contains("LimitMEMLOCK=infinity")
    for name in ("prefill", "decode"):
        limit = host.check_output("systemctl show --property=LimitMEMLOCK --value mooncake-instance@%s" % name)
        assert limit == "infinity"
        pid = host.check_output("systemctl show --property=MainPID --value mooncake-instance@%s" % name)
        assert memlock(host, pid) == expected_memlock(host)
    limits_d = host.file("/etc/security/limits.d/90-mooncake-rdma.conf").content_string
    assert re.search(r"^\*\s+hard\s+memlock\s+unlimited$", limits_d, re.M), limits_d


def test_module_says_this_kernel_has_no_rdma(host):
    # The host's own tool first: this kernel has no InfiniBand support.
    own = host.run("ibv_devices")
    assert own.rc == 1 and "Function not implemented" in own.stderr
    run = ansible("ansible", "-i", INVENTORY, host.backend.host, "-m", "mooncake.deploy.ibv_devices_info", "-o")
    assert run.returncode == 0, run.stdout + run.stderr
    result = json.loads(run.stdout.split("=>", 1)[1])
    assert result["changed"] is False
    assert result["available"] is False and result["devices"] == []
    assert result["source"] == "none"
    assert result["reason"].startswith("no RDMA support in this kernel")
    # python3-pyverbs imports on the host's system Python, then the kernel refuses.
    assert "PyverbsRDMAError" in result["pyverbs_error"]


def test_strict_check_stops_before_persisting_an_unloadable_module(host):
    run = ansible(
        "ansible-playbook", "-i", INVENTORY, "playbooks/rdma.yml",
        "-e", '{"mooncake_rdma_check": "strict", "mooncake_rdma_kernel_modules": ["rdma_rxe"]}',
    )
    output = run.stdout + run.stderr
    assert run.returncode != 0, output
    assert re.search(r"host node1: the running kernel \S+ cannot load\s+rdma_rxe", output), output
    assert "no RDMA support" in output
    assert not host.file("/etc/modules-load.d/mooncake-rdma.conf").exists
