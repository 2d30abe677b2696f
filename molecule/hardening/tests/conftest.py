"""testinfra's ansible:// hosts with the lab's real key path.

testinfra reads the inventory with `ansible-inventory --list`, which leaves the group_vars' key
path untemplated ('{{ inventory_dir }}/.lab/id_ed25519'); its ssh connections then only worked
while an ansible ControlMaster socket happened to be alive. molecule's own inventory holds the
real path (ansible_private_key_file): use it.
"""

from testinfra.utils import ansible_runner

_read_inventory = ansible_runner.get_ansible_inventory


def _inventory_with_real_key_paths(config, inventory_file):
    inventory = _read_inventory(config, inventory_file)
    for hostvars in inventory.get("_meta", {}).get("hostvars", {}).values():
        if "{{" in str(hostvars.get("ansible_ssh_private_key_file", "")) and hostvars.get("ansible_private_key_file"):
            hostvars["ansible_ssh_private_key_file"] = hostvars["ansible_private_key_file"]
    return inventory


ansible_runner.get_ansible_inventory = _inventory_with_real_key_paths
