"""The offline repository carries every package the roles install."""

import os

import yaml

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def defaults(role):
    with open(os.path.join(REPO, "roles", role, "defaults", "main.yml")) as handle:
        return yaml.safe_load(handle)


def test_offline_repo_covers_every_role_package_list():
    carried = set(defaults("offline_repo")["mooncake_offline_repo_packages"])
    needed = {
        "etcd": defaults("etcd")["mooncake_etcd_packages"],
        "transfer_engine": defaults("transfer_engine")["mooncake_transfer_engine_packages"],
        # The offline repository is built for Debian-family hosts.
        "rdma": defaults("rdma")["mooncake_rdma_packages_by_family"]["Debian"],
        "firewall": defaults("firewall")["mooncake_firewall_packages"],
    }
    for role, packages in needed.items():
        missing = sorted(set(packages) - carried)
        assert missing == [], "%s needs %s, not in mooncake_offline_repo_packages" % (role, missing)
