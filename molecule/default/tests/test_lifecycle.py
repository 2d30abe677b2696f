"""Instances coming and going on the converged host: an added instance, a rename that keeps
the port, a removal (unit stopped and disabled, keys and files gone), and the rolling restart.
Ends with the inventory's own instances, as converge left them."""

import json
import os
import re

import testinfra.utils.ansible_runner
from playbook_run import ansible_playbook

RUNNER = testinfra.utils.ansible_runner.AnsibleRunner(os.environ["MOLECULE_INVENTORY_FILE"])
testinfra_hosts = RUNNER.get_hosts("mooncake")

SEED = [{"name": "prefill", "role": "prefill", "port": 15624}, {"name": "decode", "role": "decode", "port": 15625}]
DEPLOY = ("playbooks/preflight.yml", "playbooks/instances.yml")


def deploy(instances=None):
    rc, output = ansible_playbook(*DEPLOY, instances=instances)
    assert rc == 0, output
    return output


def segment_keys(host):
    ip = RUNNER.get_variables(host.backend.host)["ansible_host"]
    out = host.check_output("ETCDCTL_API=3 etcdctl --endpoints=http://%s:2379 get --prefix --keys-only mooncake/" % ip)
    return sorted(line for line in out.splitlines() if line)


def unit(host, name):
    return host.service("mooncake-instance@%s" % name)


def main_pids(host):
    return host.check_output("systemctl show --property=MainPID --value mooncake-instance@prefill mooncake-instance@decode").split()


def test_add_rename_and_remove_an_instance(host):
    ip = RUNNER.get_variables(host.backend.host)["ansible_host"]
    # Added without a port: planned as base + 2 x stride.
    deploy(SEED + [{"name": "extra"}])
    assert unit(host, "extra").is_running
    assert "mooncake/rpc_meta/%s:15626" % ip in segment_keys(host)

    # Renamed, same port: the old unit gives the port up before the new one starts.
    output = deploy(SEED + [{"name": "extra2", "port": 15626}])
    assert not unit(host, "extra").is_running and not unit(host, "extra").is_enabled
    assert not host.file("/etc/mooncake/instances/extra.json").exists
    assert not host.file("/etc/mooncake/instances/extra.env").exists
    assert unit(host, "extra2").is_running, output
    holders = host.check_output("ss -ltnpH 'sport = :15626'")
    pid = host.check_output("systemctl show --property=MainPID --value mooncake-instance@extra2")
    assert re.findall(r"pid=(\d+)", holders) == [pid]

    # Removed: stopped, disabled, files and keys gone.
    deploy()
    assert not unit(host, "extra2").is_running and not unit(host, "extra2").is_enabled
    assert not host.file("/etc/mooncake/instances/extra2.json").exists
    assert [k for k in segment_keys(host) if k.endswith(":15626")] == []
    assert segment_keys(host) == sorted("mooncake/%s/%s:%d" % (kind, ip, port)
                                        for kind in ("ram", "rpc_meta") for port in (15624, 15625))


def test_an_instance_with_its_own_command_and_back_on_the_agent(host):
    """command: runs from a drop-in; removing it again retires the drop-in and restarts the
    instance on the default agent."""
    dropin = "/etc/systemd/system/mooncake-instance@extra.service.d/10-command.conf"
    command = "/opt/mooncake/venv/bin/python /opt/mooncake/bin/mooncake-agent serve --config /etc/mooncake/instances/extra.json"
    deploy(SEED + [{"name": "extra", "command": command}])
    quoted = " ".join('"%s"' % word for word in command.split())
    assert host.file(dropin).exists and "ExecStart=%s\n" % quoted in host.file(dropin).content_string
    assert unit(host, "extra").is_running
    pid = host.check_output("systemctl show --property=MainPID --value mooncake-instance@extra")
    output = deploy(SEED + [{"name": "extra"}])
    assert not host.file(dropin).exists, output
    assert unit(host, "extra").is_running
    assert host.check_output("systemctl show --property=MainPID --value mooncake-instance@extra") != pid
    assert "Type=exec" not in host.check_output("systemctl cat mooncake-instance@extra")
    deploy()
    assert not unit(host, "extra").is_running


def edit_by_hand(host, name):
    host.run_expect([0], "sh -c 'echo \"# edited by hand\" >> /etc/mooncake/instances/%s.env'" % name)


def test_only_the_instance_whose_inputs_changed_restarts(host):
    prefill, decode = main_pids(host)
    edit_by_hand(host, "decode")
    output = deploy()
    # The environment, its restart, and the old copy deleted once decode is healthy.
    assert re.search(r"node1\s+: ok=\d+\s+changed=3\b", output), output
    assert host.file("/etc/mooncake/instances").listdir() == sorted(
        "%s.%s" % (name, kind) for name in ("decode", "prefill") for kind in ("env", "json")), "an old copy was left"
    assert "edited by hand" not in host.file("/etc/mooncake/instances/decode.env").content_string
    after = main_pids(host)
    assert after[0] == prefill and after[1] != decode, (prefill, decode, after)


def test_a_running_instance_that_was_disabled_is_enabled_and_restarted_when_its_inputs_changed(host):
    decode = main_pids(host)[1]
    host.run_expect([0], "systemctl disable mooncake-instance@decode")
    edit_by_hand(host, "decode")
    deploy()
    assert unit(host, "decode").is_enabled and unit(host, "decode").is_running
    assert main_pids(host)[1] != decode


def test_rolling_restart_restarts_each_instance_and_leaves_them_registered(host):
    before = main_pids(host)
    rc, output = ansible_playbook("playbooks/rolling_restart.yml")
    assert rc == 0, output
    after = main_pids(host)
    assert all(b != a for b, a in zip(before, after)), (before, after)
    assert re.search(r"node1\s+: ok=\d+\s+changed=2\b", output), output
    assert len(segment_keys(host)) == 4
    # A deploy afterwards has nothing to do.
    assert re.search(r"node1\s+: ok=\d+\s+changed=0\b", deploy()), "not converged"


# A program that writes the arguments it got (after -c SCRIPT) as JSON into its runtime
# directory, then holds the instance's port (the health gate of a program without health_url).
ARGV_SCRIPT = """
import json, os, socket, sys, time
with open(os.path.join(os.environ["RUNTIME_DIRECTORY"], "argv.json"), "w") as out:
    json.dump(sys.argv[1:], out)
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((os.environ["MC_TCP_BIND_ADDRESS"], int(sys.argv[1])))
server.listen()
time.sleep(1e9)
"""
NASTY = ["15626", '{"kv_connector":"MooncakeConnector","kv_role":"kv_both","x":"%i %n $HOME ${HOME}"}', "100%", "$$",
         "back\\slash\\", 'say "hi"', "it's", ";", "", "line\nbreak", "tab\there", "\x1b[0m",
         "\nExecStartPre=/bin/false", "Environment=INJECTED=1", "ünïcödé"]


def test_a_programs_arguments_reach_it_exactly_as_the_inventory_lists_them(host):
    ip = RUNNER.get_variables(host.backend.host)["ansible_host"]
    command = ["/usr/bin/python3", "-c", ARGV_SCRIPT] + NASTY + [{"expand": "${MC_TCP_BIND_ADDRESS}:%i"}]
    output = deploy(SEED + [{"name": "argv", "port": 15626, "command": command}])
    got = json.loads(host.file("/run/mooncake-argv/argv.json").content_string)
    assert got == NASTY + ["%s:%%i" % ip], output
    unit_text = host.check_output("systemctl cat mooncake-instance@argv")
    assert "INJECTED" not in host.check_output("systemctl show -p Environment mooncake-instance@argv")
    assert "ExecStartPre" not in host.check_output("systemctl show -p ExecStartPre --value mooncake-instance@argv")
    assert "Environment=INJECTED=1" in unit_text  # as text inside the quoted argument, nowhere else
    assert re.search(r"node1\s+: ok=\d+\s+changed=0\b", deploy(SEED + [{"name": "argv", "port": 15626, "command": command}]))
    deploy()
    assert not unit(host, "argv").is_running


def test_a_broken_new_command_puts_the_old_inputs_back_and_stops_the_run(host):
    """An agent instance given a program that exits: the others are untouched, the broken one
    runs on its old files again, registered, and the play says what happened."""
    ip = RUNNER.get_variables(host.backend.host)["ansible_host"]
    deploy(SEED + [{"name": "extra", "port": 15626}])
    before = main_pids(host)
    env_before = host.file("/etc/mooncake/instances/extra.env").content_string
    broken = ["/usr/bin/python3", "-c", "import sys; print('boom: --no-such-flag'); sys.exit(2)"]
    rc, output = ansible_playbook(*DEPLOY, instances=SEED + [{"name": "extra", "port": 15626, "command": broken}],
                                  extra={"mooncake_instances_health_retries": 3, "mooncake_instances_health_delay": 1})
    assert rc != 0, output
    assert "host node1, instance 'extra' (mooncake-instance@extra.service): it was not healthy within 3 s" in output
    assert "the instance runs on them again and is healthy" in output
    assert "boom: --no-such-flag" in output
    assert main_pids(host) == before, "another instance was restarted"
    assert host.file("/etc/mooncake/instances/extra.env").content_string == env_before
    assert not host.file("/etc/systemd/system/mooncake-instance@extra.service.d/10-command.conf").exists
    assert "Type=exec" not in host.check_output("systemctl cat mooncake-instance@extra")
    assert unit(host, "extra").is_running
    assert {"mooncake/ram/%s:15626" % ip, "mooncake/rpc_meta/%s:15626" % ip} <= set(segment_keys(host))
    assert re.search(r"node1\s+: ok=\d+\s+changed=0\b", deploy(SEED + [{"name": "extra", "port": 15626}]))
    deploy()
