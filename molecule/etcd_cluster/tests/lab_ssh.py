"""testinfra hosts over plain ssh with the lab's own key and known_hosts.

The ansible:// backend reuses ansible's ControlMaster sockets and otherwise passes the key path
untemplated ('{{ inventory_dir }}/...'), so it fails once a socket expires during a long
playbook run. These connections do not depend on them.
"""

import os

import testinfra


def lab_host(inventory_file, address):
    state = os.path.join(os.path.dirname(inventory_file), ".lab")
    return testinfra.get_host(
        "ssh://root@%s" % address,
        ssh_identity_file=os.path.join(state, "id_ed25519"),
        ssh_extra_args="-o UserKnownHostsFile=%s -o StrictHostKeyChecking=yes -o ControlMaster=auto "
                       "-o ControlPersist=60s -o ControlPath=/tmp/etcd-cluster-ssh-%%C" % os.path.join(state, "known_hosts"),
    )
