"""The offline repository carries every package the roles install."""

import os

import yaml

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def defaults(role):
    with open(os.path.join(REPO, "roles", role, "defaults", "main.yml")) as handle:
        return yaml.safe_load(handle)


def test_offline_repo_covers_every_role_package_list():
    carried = set(defaults("offline_repo")["mooncake_offline_repo_packages"])
    for role in ("etcd", "transfer_engine"):
        needed = set(defaults(role)["mooncake_%s_packages" % role])
        assert needed <= carried, "%s needs %s, not in mooncake_offline_repo_packages" % (role, sorted(needed - carried))
