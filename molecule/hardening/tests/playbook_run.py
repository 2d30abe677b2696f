"""Run the repository's own playbooks against the scenario's lab, as a user would."""

import json
import os
import subprocess

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))


def ansible_playbook(*playbooks, instances=None, extra=None, options=(), timeout=300, verbose=False):
    """(returncode, output) of ansible-playbook on playbooks (paths relative to the repo),
    with the repo's ansible.cfg and, when given, mooncake_instances and `extra` as extra vars
    and `options` (e.g. --check); with verbose, every task's result is in the output (-v)."""
    args = ["ansible-playbook"] + [os.path.join(REPO, p) for p in playbooks] + (["-v"] if verbose else []) + list(options)
    args += ["-i", os.path.dirname(os.environ["MOLECULE_INVENTORY_FILE"])]
    if instances is not None:
        args += ["-e", json.dumps({"mooncake_instances": instances})]
    if extra:
        args += ["-e", json.dumps(extra)]
    run = subprocess.run(
        args, cwd=REPO, capture_output=True, text=True, timeout=timeout, check=False,
        env=dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), ANSIBLE_NOCOLOR="1"),
    )
    return run.returncode, run.stdout + run.stderr
