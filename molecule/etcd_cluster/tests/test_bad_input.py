"""Bad cluster input fails in the role's validation, before any change, naming host, field and fix:
the validate entry point alone (as the preflight runs it) and the role applied by a plain playbook."""

import re

from cluster_lab import VALIDATE, one_line, run_playbook


def preflight(tmp_path, *extra, inventories=(), limit="etcd1", playbook=VALIDATE):
    """The validation on one member (each check is per host; the member list still comes from the
    inventory) - a third of the work on this 2-core machine."""
    args = ["--limit", limit]
    for inventory in inventories:
        args += ["-i", str(inventory)]
    rc, output = run_playbook(playbook, *(args + list(extra)))
    return rc, one_line(output)


def test_duplicate_member_names_fail(tmp_path):
    rc, output = preflight(tmp_path, "-e", "mooncake_etcd_name=same")
    assert rc != 0, output
    assert re.search(r"host etcd1: mooncake_etcd_name 'same' is also the name of etcd2", output), output


def test_the_role_alone_refuses_bad_input_before_any_change(tmp_path):
    """playbooks/etcd.yml (the role and nothing else): main.yml validates first, every time."""
    rc, output = preflight(tmp_path, "-e", "mooncake_etcd_name=same", playbook="etcd.yml")
    assert rc != 0, output
    assert re.search(r"host etcd1: mooncake_etcd_name 'same' is also the name of etcd2", output), output
    assert re.search(r"etcd1 : ok=\d+ changed=0 ", output), output
    assert "Install the etcd packages" not in output, output


def test_duplicate_member_addresses_fail(tmp_path):
    extra = tmp_path / "dup.yml"
    # etcd2 claims etcd1's address: etcd2 fails (not its IP), etcd1 and etcd2 clash.
    extra.write_text("all:\n  hosts:\n    etcd2:\n      mooncake_etcd_address: 10.231.3.11\n")
    rc, output = preflight(tmp_path, inventories=[extra])
    assert rc != 0, output
    assert re.search(r"host etcd1: mooncake_etcd_address 10\.231\.3\.11 is also the address of etcd2", output), output


def test_an_address_that_does_not_parse_fails(tmp_path):
    rc, output = preflight(tmp_path, "-e", "mooncake_etcd_address=http://10.231.3.11:2379")
    assert rc != 0, output
    assert re.search(r"host etcd\d: mooncake_etcd_address 'http://10\.231\.3\.11:2379' is not an IP", output), output


def test_an_even_sized_cluster_is_allowed_with_a_warning(tmp_path):
    extra = tmp_path / "pair.yml"
    extra.write_text("all:\n  children:\n    pair:\n      hosts:\n        etcd1:\n        etcd2:\n")
    rc, output = preflight(tmp_path, "-e", "mooncake_etcd_group=pair", inventories=[extra], limit="etcd1,etcd2")
    assert rc == 0, output
    assert re.search(r"WARNING group 'pair': 2 etcd members \(etcd1, etcd2\)", output), output


def test_a_restore_of_part_of_the_cluster_is_refused(tmp_path):
    rc, output = run_playbook("etcd_restore.yml", "--limit", "etcd1")
    output = one_line(output)
    assert rc != 0, output
    assert "etcd2, etcd3 are not in this run (--limit?)" in output, output
    assert re.search(r"etcd1 : ok=\d+ changed=0 ", output), output


def test_a_missing_interface_fails(tmp_path):
    rc, output = preflight(tmp_path, "-e", "mooncake_etcd_interface=nosuch0", "-e", "mooncake_etcd_address=")
    assert rc != 0, output
    assert re.search(r"host etcd\d: mooncake_etcd_interface 'nosuch0' is not an interface of this host "
                     r"\(interfaces: [^)]*eth0", output), output


def test_0_0_0_0_as_the_address_fails_and_names_listen_all(tmp_path):
    rc, output = preflight(tmp_path, "-e", "mooncake_etcd_address=0.0.0.0")
    assert rc != 0, output
    assert re.search(r"host etcd\d: mooncake_etcd_address '0\.0\.0\.0' .* never 0\.0\.0\.0; to listen on every "
                     r"interface set mooncake_etcd_listen_all: true", output), output


def test_client_tls_is_refused_when_transfer_engines_use_this_etcd(tmp_path):
    extra = tmp_path / "engines.yml"
    extra.write_text("all:\n  children:\n    mooncake:\n      hosts:\n        etcd1:\n")
    rc, output = preflight(tmp_path, inventories=[extra])
    assert rc != 0, output
    assert re.search(r"host etcd\d: mooncake_etcd_client_tls is true, but the hosts etcd1 of group 'mooncake' "
                     r"would register their transfer engines at this etcd", output), output


def test_removing_an_unknown_member_is_refused_without_a_change(tmp_path):
    rc, output = run_playbook("etcd_member_remove.yml", "-e", "mooncake_etcd_remove=nosuch")
    output = one_line(output)
    assert rc != 0, output
    assert "there is no member named 'nosuch' in the cluster (members: etcd1, etcd2, etcd3)" in output, output
    assert re.search(r"etcd1 : ok=\d+ changed=0 ", output), output
