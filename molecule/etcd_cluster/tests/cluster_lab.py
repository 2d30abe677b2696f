"""The scenario's lab as the tests see it: members, their hosts over ssh, etcdctl with the role's
client certificate, and the repository's playbooks run as users run them."""

import os
import subprocess

import testinfra.utils.ansible_runner
from lab_ssh import lab_host

INVENTORY_FILE = os.environ["MOLECULE_INVENTORY_FILE"]
RUNNER = testinfra.utils.ansible_runner.AnsibleRunner(INVENTORY_FILE)
REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
# The role's validation alone, as the preflight runs it.
VALIDATE = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "validate.yml"))
MEMBERS = ["etcd1", "etcd2", "etcd3"]
IPS = {name: RUNNER.get_variables(name)["ansible_host"] for name in MEMBERS}
HOSTS = {name: lab_host(INVENTORY_FILE, IPS[name]) for name in MEMBERS}
UNIT = "mooncake-etcd"
PKI = "/etc/mooncake-etcd/pki"
CA, CERT, KEY = PKI + "/ca.crt", PKI + "/client.crt", PKI + "/client.key"
TLS = "--cacert=%s --cert=%s --key=%s" % (CA, CERT, KEY)


def endpoint(name):
    return "https://%s:2379" % IPS[name]


def etcdctl(via, args, endpoints=None, check=True):
    """etcdctl on host `via` (the host's own binary, the role's client certificate) against `endpoints` (default: via's)."""
    cmd = "ETCDCTL_API=3 etcdctl --command-timeout=5s %s --endpoints=%s %s" % (
        TLS, ",".join(endpoint(n) for n in (endpoints or [via])), args)
    result = HOSTS[via].run(cmd)
    if check:
        assert result.rc == 0, "%s on %s: %s%s" % (cmd, via, result.stdout, result.stderr)
    return result


def run_playbook(name, *args, timeout=300):
    """(returncode, output) of playbooks/<name> (or of the playbook at an absolute path) against this lab,
    with the repository's ansible.cfg."""
    run = subprocess.run(
        ["ansible-playbook", os.path.join(REPO, "playbooks", name), "-i", os.path.dirname(INVENTORY_FILE)] + list(args),
        cwd=REPO, capture_output=True, text=True, timeout=timeout, check=False,
        env=dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), ANSIBLE_NOCOLOR="1"),
    )
    return run.returncode, run.stdout + run.stderr


def one_line(output):
    """Output on one line, YAML's doubled quotes undone: the callback wraps and quotes messages."""
    return " ".join(output.split()).replace("''", "'")
