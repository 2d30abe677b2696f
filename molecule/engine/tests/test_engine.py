"""The engine as a pinned package on a host without a route out, checked from outside the play.

Converge installed 0.3.13.post1 (non-cuda, PyPI's build) through the offline repository over a
host that had the old role's real /opt/mooncake/venv. Here: the migration kept that directory,
the package is apt's, the engine works, the master is healthy on its explicit addresses; then
a switch to another variant (`source`: packaged from a source build's install prefix) and a
rollback, each run twice (the second changes nothing), the master restarted exactly when the
engine changed, and check mode on the converged host.

(Older non-cuda wheels, 0.3.13 and 0.3.12.post1, link libcudart.so.12: the builder refuses
them on a host without CUDA, so the other engine here is a variant, not a version.)
"""

import json
import os
import re
import subprocess

import testinfra

INVENTORY_FILE = os.environ["MOLECULE_INVENTORY_FILE"]
REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
# podman as labctl runs it (netavark, runc), for testinfra's podman:// backend too.
os.environ.setdefault("CONTAINERS_CONF", os.path.join(REPO, "scripts", "lab", "containers.conf"))
CONVERGE = os.path.join(REPO, "molecule", "engine", "converge.yml")
SWITCH = os.path.join(REPO, "molecule", "engine", "switch.yml")
# Through podman, not ssh: nothing here depends on the connection the plays use.
HOST = testinfra.get_host("podman://mol-engine-engine1")
IP = "10.231.6.11"
VERSION = "0.3.13.post1"
OLD, NEW = "non-cuda", "source"
WHEELHOUSE = os.path.expanduser("~/.cache/mooncake-deploy/wheelhouse/mooncake-transfer-engine-non-cuda-%s-py3.11-manylinux_2_28_x86_64" % VERSION)
PREFIX = os.path.join(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", "/tmp"), "engine-source-prefix")


def engine_venv(variant):
    return "/opt/mooncake/engines/%s-%s/venv" % (VERSION, variant)


def source_prefix():
    """A source build's install prefix (here: the engine pip-installed into a prefix)."""
    if not os.path.isdir(os.path.join(PREFIX, "lib")):
        subprocess.run([os.path.join(REPO, ".venv", "bin", "python"), "-m", "pip", "install", "--quiet", "--ignore-installed", "--no-index",
                        "--find-links", WHEELHOUSE, "--no-compile", "--prefix", PREFIX,
                        "mooncake-transfer-engine-non-cuda==" + VERSION], check=True, timeout=600)
    # Not in the repository: the role pushes the package and apt installs the file.
    return ["-e", "mooncake_transfer_engine_variant=" + NEW, "-e", "mooncake_transfer_engine_artifact_prefix=" + PREFIX,
            "-e", "mooncake_transfer_engine_artifact_in_repo=false"]


def converge(*extra, playbook=CONVERGE):
    """Run a playbook of the scenario as users run it; return (rc, output, changed count of engine1)."""
    args = ["ansible-playbook", playbook, "-i", os.path.dirname(INVENTORY_FILE)] + list(extra)
    run = subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=600, check=False,
                         env=dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
                                  ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, "collections")))
    output = run.stdout + run.stderr
    recap = re.search(r"engine1\s*: ok=\d+\s+changed=(\d+)", output)
    return run.returncode, " ".join(output.split()).replace("''", "'"), int(recap.group(1)) if recap else None


def master_pid():
    return HOST.run("systemctl show --property=MainPID --value mooncake-master").stdout.strip()


def health():
    result = HOST.run("python3 -c 'import urllib.request; print(urllib.request.urlopen(\"http://%s:9003/health\", timeout=5).read().decode())'" % IP)
    assert result.rc == 0, result.stderr
    return json.loads(result.stdout)


def check_active(variant):
    link = HOST.file("/opt/mooncake/venv")
    assert link.is_symlink
    assert link.linked_to == engine_venv(variant)
    out = HOST.run("/opt/mooncake/venv/bin/mooncake_master --version")
    assert out.rc == 0 and ("version " + VERSION + " ") in out.stdout, out.stdout + out.stderr
    unit = HOST.file("/etc/systemd/system/mooncake-master.service").content_string
    assert "ExecStart=%s/bin/mooncake_master" % engine_venv(variant) in unit
    assert HOST.service("mooncake-master").is_running
    report = health()
    assert report["status"] == "ok" and report["service_ready"] is True, report


def test_the_old_virtual_environment_was_moved_aside_not_lost():
    assert HOST.file("/opt/mooncake/venv.pre-engines/KEEP-ME").content_string == "the old role's venv\n"


def test_the_engine_is_an_apt_package_from_the_offline_repository():
    status = HOST.run("dpkg-query --show --showformat='${db:Status-Status} ${Version}' mooncake-transfer-engine-non-cuda-%s" % VERSION)
    assert status.stdout == "installed " + VERSION, status.stdout + status.stderr
    policy = HOST.run("apt-cache policy mooncake-transfer-engine-non-cuda-%s" % VERSION).stdout
    assert "file:/var/lib/mooncake/offline-repo/local ./" in policy, policy
    manifest = json.loads(HOST.file("/opt/mooncake/engines/%s-non-cuda/manifest.json" % VERSION).content_string)
    assert manifest["version"] == VERSION and manifest["variant"] == "non-cuda"
    assert "libibverbs1" in manifest["system_packages"]
    assert any(i["name"].startswith("mooncake_transfer_engine_non_cuda-%s-" % VERSION) and len(i["sha256"]) == 64
               for i in manifest["inputs"])


def test_the_active_engine_initialises_through_the_stable_path():
    code = ("from mooncake.engine import TransferEngine; e = TransferEngine(); "
            "print(e.initialize('127.0.0.1', 'P2PHANDSHAKE', 'tcp', ''))")
    out = HOST.run("MC_FORCE_TCP=1 /opt/mooncake/venv/bin/python -c %s" % repr(code))
    assert out.rc == 0 and out.stdout.strip().splitlines()[-1] == "0", out.stdout + out.stderr


def test_the_master_listens_on_its_explicit_addresses_only():
    check_active(OLD)
    listening = HOST.run("ss -Htlnp").stdout
    for port in (50051, 9003):
        lines = [line for line in listening.splitlines() if re.search(r":%d\s" % port, line)]
        assert lines and all("%s:%d" % (IP, port) in line and "mooncake_master" in line for line in lines), listening
    assert not re.search(r"(0\.0\.0\.0|\*|\[::\]):(50051|9003|8080)\s", listening), listening


def test_check_mode_on_the_converged_host_changes_nothing():
    rc, output, changed = converge("--check", "--diff")
    assert rc == 0, output
    assert changed == 0, output


def test_a_converged_run_changes_nothing_and_a_damaged_repository_is_repaired():
    # A push or unpack cut short, or a file lost: here the repository lost its index.
    pid = master_pid()
    out = HOST.run("rm -f /var/lib/mooncake/offline-repo/Packages")
    assert out.rc == 0, out.stderr
    rc, output, changed = converge()
    assert rc == 0 and changed > 0, output
    assert HOST.file("/var/lib/mooncake/offline-repo/Packages").exists
    # Converged: the builtin modules compare and find nothing to do; nothing restarts.
    rc, output, changed = converge()
    assert rc == 0 and changed == 0, output
    assert re.search(r"master : Wait until the master reports healthy\] \*+ skipping: \[engine1\]", output), output
    assert re.search(r"transfer_engine : Check the engine before it becomes active\] \*+ skipping: \[engine1\]", output), output
    assert master_pid() == pid


def test_switch_to_another_build_then_rollback_each_idempotent():
    before = master_pid()
    switch = source_prefix()
    rc, output, changed = converge(*switch, playbook=SWITCH)
    assert rc == 0, output
    assert changed > 0, output
    check_active(NEW)
    upgraded = master_pid()
    assert upgraded != before, "the master did not restart on the engine switch"
    rc, output, changed = converge(*switch, playbook=SWITCH)
    assert rc == 0 and changed == 0, output
    assert master_pid() == upgraded
    # Side by side: the old engine stays installed, so the rollback is only a switch.
    for variant in (OLD, NEW):
        assert HOST.file(engine_venv(variant) + "/bin/python").exists
    assert HOST.run("dpkg-query --show --showformat='${db:Status-Status}' mooncake-transfer-engine-%s-%s" % (NEW, VERSION)).stdout == "installed"
    rc, output, changed = converge(playbook=SWITCH)
    assert rc == 0 and changed > 0, output
    check_active(OLD)
    rolled_back = master_pid()
    assert rolled_back != upgraded
    rc, output, changed = converge(playbook=SWITCH)
    assert rc == 0 and changed == 0, output
    assert master_pid() == rolled_back


def test_an_engine_no_longer_wanted_is_removed_cleanly():
    removed = "%s-%s" % (VERSION, NEW)
    # The active engine is refused.
    rc, output, changed = converge("-e", '{"mooncake_transfer_engine_remove": ["%s-%s"]}' % (VERSION, OLD), playbook=SWITCH)
    assert rc != 0 and "not the active engine %s-%s" % (VERSION, OLD) in output, output
    pid = master_pid()
    rc, output, changed = converge("-e", '{"mooncake_transfer_engine_remove": ["%s"]}' % removed, playbook=SWITCH)
    assert rc == 0 and changed > 0, output
    # dpkg forgets it and nothing is left behind (not even the byte code Python wrote at run time).
    assert HOST.run("dpkg-query --show mooncake-transfer-engine-%s-%s" % (NEW, VERSION)).rc == 1
    assert not HOST.file("/opt/mooncake/engines/" + removed).exists
    check_active(OLD)
    assert master_pid() == pid


def test_a_bad_variant_fails_before_any_change():
    rc, output, changed = converge("-e", "mooncake_transfer_engine_variant=CUDA")
    assert rc != 0, output
    assert "host engine1: engine %s variant CUDA" % VERSION in output, output
    assert HOST.file("/opt/mooncake/venv").linked_to == engine_venv(OLD)
