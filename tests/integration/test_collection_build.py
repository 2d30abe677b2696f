"""`ansible-galaxy collection build` yields the collection and leaves lab/test/build outputs out."""

import os
import shutil
import subprocess
import tarfile

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
# Things that exist in a working clone (lab state, caches, reports) and must never ship.
FORBIDDEN_PARTS = {".venv", ".cache", ".lab", ".ansible", "collections", "reports", "dist", "__pycache__", ".git"}
REQUIRED = {"MANIFEST.json", "meta/runtime.yml", "README.md", "plugins/modules/port_bindings.py",
            "roles/etcd/tasks/main.yml", "roles/instances/files/mooncake_agent.py"}


@pytest.fixture(scope="module")
def members(tmp_path_factory):
    galaxy = shutil.which("ansible-galaxy")
    if galaxy is None:
        pytest.skip("ansible-galaxy is not installed (run make bootstrap)")
    out = tmp_path_factory.mktemp("build")
    # Outputs that a lab run leaves in the clone, so the test proves they are excluded.
    planted = [os.path.join(REPO, "reports", "planted.json"), os.path.join(REPO, "inventories", "lab", ".lab", "planted")]
    made = []
    for path in planted:
        if not os.path.exists(path):
            os.makedirs(os.path.dirname(path), exist_ok=True)
            open(path, "w").close()
            made.append(path)
    try:
        subprocess.run([galaxy, "collection", "build", "--force", "--output-path", str(out)],
                       cwd=REPO, check=True, capture_output=True, text=True)
    finally:
        for path in made:
            os.remove(path)
    (tarball,) = out.glob("mooncake-deploy-*.tar.gz")
    with tarfile.open(tarball) as tar:
        return {m.name for m in tar.getmembers()}


def test_collection_has_its_parts(members):
    assert REQUIRED <= members


def test_collection_leaves_outputs_out(members):
    leaked = sorted(m for m in members if FORBIDDEN_PARTS & set(m.split("/")))
    assert leaked == []
