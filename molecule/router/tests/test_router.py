"""The router role on a real systemd host, in front of instances the instances role deployed.

Converge ran playbooks/offline_repo.yml, transfer_engine.yml, instances.yml and router.yml:
backend1 (10.231.5.11) runs four mooncake-instance@NAME.service units of kind vllm and sglang
whose program is a fake server (molecule/router/files/fake_vllm.py: it checks its arguments,
records argv and environment in its runtime directory and logs every request), with the ports
the instances role planned (API 15624 + position, a prefill's bootstrap 8998 + position);
router1 (10.231.5.12) runs vllm-router 0.1.17 in P/D mode (--kv-connector mooncake) in front of
the vLLM ones, its backends read from the instances' published plan. Here: the instances' argv,
environment and ports, the router's unit, ports and readiness, a request through it to both
instances with the bootstrap information passed on, the hardening figure, refused input, and
SGLang's router in front of the SGLang instances (switch, idempotence, switch back).
"""

import json
import os
import re
import subprocess
import time

import testinfra

INVENTORY_FILE = os.environ["MOLECULE_INVENTORY_FILE"]
REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
os.environ.setdefault("CONTAINERS_CONF", os.path.join(REPO, "scripts", "lab", "containers.conf"))
# The tests' own runs: playbooks/router.yml alone (it plans backend1's instances itself, on the
# controller, and reads the router's backends from that plan); converge.yml ran the whole stack.
CONVERGE = os.path.join(REPO, "playbooks", "router.yml")
ROUTER = testinfra.get_host("podman://mol-router-router1")
BACKEND = testinfra.get_host("podman://mol-router-backend1")
ROUTER_IP, BACKEND_IP = "10.231.5.12", "10.231.5.11"
UNIT = "mooncake-router.service"
# What the instances role planned for backend1's mooncake_instances (inventory/host_vars):
# API port 15624 + position, a prefill's bootstrap port 8998 + position, the GPUs given.
MODEL = "fake-org/fake-model"
INSTANCES = {
    "vllm-prefill": {"port": 15624, "bootstrap_port": 8998, "gpus": "0", "kind": "vllm", "role": "prefill"},
    "vllm-decode": {"port": 15625, "bootstrap_port": None, "gpus": "1", "kind": "vllm", "role": "decode"},
    "sglang-prefill": {"port": 15626, "bootstrap_port": 9000, "gpus": "2", "kind": "sglang", "role": "prefill"},
    "sglang-decode": {"port": 15627, "bootstrap_port": None, "gpus": "3", "kind": "sglang", "role": "decode"},
}
# roles/router/README.md: systemd-analyze security of the unit, measured in this lab.
SECURITY_SCORE = 1.1


def converge(*extra):
    """Run playbooks/router.yml as users run it; return (rc, output, changed count of router1)."""
    args = ["ansible-playbook", CONVERGE, "-i", os.path.dirname(INVENTORY_FILE)] + list(extra)
    run = subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=900, check=False,
                         env=dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
                                  ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, "collections")))
    output = run.stdout + run.stderr
    recap = re.search(r"router1\s*: ok=\d+\s+changed=(\d+)", output)
    return run.returncode, " ".join(output.split()), int(recap.group(1)) if recap else None


def http(url, body=None):
    """(status, text) of a GET, or of a POST of JSON body, made on router1."""
    script = (
        "import json, sys, urllib.request, urllib.error\n"
        "data = None if sys.argv[2] == '' else sys.argv[2].encode()\n"
        "req = urllib.request.Request(sys.argv[1], data=data, headers={'Content-Type': 'application/json'})\n"
        "try:\n"
        "    r = urllib.request.urlopen(req, timeout=30)\n"
        "    print(r.status)\n"
        "    print(r.read().decode())\n"
        "except urllib.error.HTTPError as e:\n"
        "    print(e.code); print(e.read().decode())\n"
    )
    out = ROUTER.check_output("python3 -c %s %s %s" % (_quote(script), _quote(url), _quote(json.dumps(body) if body else "")))
    status, text = out.split("\n", 1) if "\n" in out else (out, "")
    return int(status), text


def _quote(text):
    return "'" + text.replace("'", "'\"'\"'") + "'"


def requests_since(since):
    """The fake instances' logged requests after time ``since`` (the containers share the clock)."""
    out = BACKEND.check_output("cat /run/mooncake-*/requests.jsonl")
    entries = [json.loads(line) for line in out.splitlines() if line.strip()]
    return sorted((e for e in entries if e["time"] >= since), key=lambda e: e["time"])


def expected_argv(name):
    """The argument list the instances role writes for the instance (roles/instances, serving_plan)."""
    spec = INSTANCES[name]
    if spec["kind"] == "vllm":
        config = {"kv_connector": "MooncakeConnector", "kv_connector_extra_config": {"mooncake_protocol": "tcp"},
                  "kv_role": "kv_producer" if spec["role"] == "prefill" else "kv_consumer"}
        return ["/usr/local/bin/fake-vllm", "serve", MODEL, "--host", BACKEND_IP, "--port", str(spec["port"]),
                "--tensor-parallel-size", "1", "--kv-transfer-config", json.dumps(config, sort_keys=True, separators=(",", ":"))]
    argv = ["/usr/local/bin/fake-sglang", "-m", "sglang.launch_server", "--model-path", MODEL, "--host", BACKEND_IP,
            "--port", str(spec["port"]), "--tp-size", "1", "--disaggregation-mode", spec["role"],
            "--disaggregation-transfer-backend", "mooncake"]
    if spec["bootstrap_port"]:
        argv += ["--disaggregation-bootstrap-port", str(spec["bootstrap_port"])]
    return argv


def invocation(name):
    return json.loads(BACKEND.check_output("cat /run/mooncake-%s/invocation.json" % name))


def instance_pid(name):
    return int(BACKEND.check_output("systemctl show -p MainPID --value mooncake-instance@%s.service" % name))


def main_pid():
    return int(ROUTER.check_output("systemctl show -p MainPID --value %s" % UNIT))


def wait_ready(timeout=120):
    deadline = time.time() + timeout
    while True:
        try:
            status, text = http("http://%s:30000/readiness" % ROUTER_IP)
        except AssertionError:
            status, text = 0, "no answer"
        if status == 200 or time.time() > deadline:
            return status, text
        time.sleep(1)


def test_instances_run_the_program_with_the_planned_argv():
    for name in INSTANCES:
        service = BACKEND.service("mooncake-instance@%s.service" % name)
        assert service.is_running and service.is_enabled, name
        recorded = invocation(name)
        assert recorded["argv"] == expected_argv(name), (name, recorded["argv"])
        # The unit runs it as the instances' account, not as root.
        assert recorded["uid"] == int(BACKEND.check_output("id -u mooncake"))
        # The drop-in's ExecStart is the same list.
        show = BACKEND.check_output("systemctl show -p ExecStart --value mooncake-instance@%s.service" % name)
        assert "path=%s " % expected_argv(name)[0] in show and "--port %d" % INSTANCES[name]["port"] in show, show


def test_vllm_kv_transfer_config_roles():
    for name, role in (("vllm-prefill", "kv_producer"), ("vllm-decode", "kv_consumer")):
        argv = invocation(name)["argv"]
        config = json.loads(argv[argv.index("--kv-transfer-config") + 1])
        assert config["kv_connector"] == "MooncakeConnector" and config["kv_role"] == role
        assert config["kv_connector_extra_config"] == {"mooncake_protocol": "tcp"}


def test_instances_environment():
    for name, spec in INSTANCES.items():
        env = invocation(name)["env"]
        assert env["CUDA_VISIBLE_DEVICES"] == spec["gpus"], (name, env)
        assert env["MC_TCP_BIND_ADDRESS"] == BACKEND_IP and env["MC_FORCE_TCP"] == "1", (name, env)
        assert int(env["MC_MIN_RPC_PORT"]) < int(env["MC_MAX_RPC_PORT"]), (name, env)
        if spec["kind"] == "vllm":
            assert env["VLLM_HOST_IP"] == BACKEND_IP, (name, env)
            if spec["role"] == "prefill":
                assert env["VLLM_MOONCAKE_BOOTSTRAP_PORT"] == str(spec["bootstrap_port"])
            else:
                assert "VLLM_MOONCAKE_BOOTSTRAP_PORT" not in env, (name, env)
        else:
            assert not [k for k in env if k.startswith("VLLM_")], (name, env)


def test_each_port_held_by_its_own_instance():
    listeners = BACKEND.check_output("ss -Hltnp").splitlines()
    for name, spec in INSTANCES.items():
        pid = instance_pid(name)
        for port in [spec["port"]] + ([spec["bootstrap_port"]] if spec["bootstrap_port"] else []):
            line = [ln for ln in listeners if " %s:%d " % (BACKEND_IP, port) in ln]
            assert len(line) == 1 and "pid=%d," % pid in line[0], (name, port, listeners)


def test_router_backends_are_the_planned_instances():
    unit = ROUTER.file("/etc/systemd/system/" + UNIT).content_string
    assert '"--prefill" "http://%s:15624" "8998"' % BACKEND_IP in unit, unit
    assert '"--decode" "http://%s:15625"' % BACKEND_IP in unit, unit
    assert "15626" not in unit and "15627" not in unit


def test_unit_runs_enabled():
    service = ROUTER.service(UNIT)
    assert service.is_running
    assert service.is_enabled
    assert "/opt/mooncake/router/vllm-0.1.17/venv/bin/vllm-router" in ROUTER.file("/etc/systemd/system/" + UNIT).content_string


def test_installed_offline_into_its_own_venv():
    # The wheels came from the controller; the host has no pip index (and no route out).
    assert ROUTER.file("/opt/mooncake/router/vllm-0.1.17/wheels").is_directory
    out = ROUTER.check_output("/opt/mooncake/router/vllm-0.1.17/venv/bin/python -m pip show vllm-router")
    assert "Version: 0.1.17" in out


def test_ready_and_healthy():
    status, text = http("http://%s:30000/readiness" % ROUTER_IP)
    assert status == 200 and json.loads(text)["status"] == "ready", text
    status, text = http("http://%s:30000/health" % ROUTER_IP)
    assert status == 200, text


def test_ports_held_by_its_unit():
    pid = main_pid()
    listeners = ROUTER.check_output("ss -Hltnp")
    for port in (30000, 29000):
        line = [ln for ln in listeners.splitlines() if " %s:%d " % (ROUTER_IP, port) in ln]
        assert line and "pid=%d," % pid in line[0], listeners
    status, text = http("http://%s:29000/metrics" % ROUTER_IP)
    assert status == 200 and "vllm_router" in text


def test_router_asked_the_prefill_bootstrap_server():
    # --kv-connector mooncake: at start the router asks each prefill's bootstrap server for its engine ids.
    queries = [r for r in requests_since(0) if r["listener"] == "vllm-prefill-bootstrap" and r["path"] == "/query"]
    # On the prefill's own bootstrap server (VLLM_MOONCAKE_BOOTSTRAP_PORT on VLLM_HOST_IP).
    assert queries


def test_request_reaches_prefill_then_decode_with_bootstrap_info():
    before = time.time()
    status, text = http("http://%s:30000/v1/completions" % ROUTER_IP, {"model": MODEL, "prompt": "hello", "max_tokens": 4})
    assert status == 200, text
    assert json.loads(text)["choices"][0]["text"] == "from vllm-decode"
    posts = [r for r in requests_since(before) if r["method"] == "POST" and r["path"] == "/v1/completions"]
    prefill = [r for r in posts if r["listener"] == "vllm-prefill"]
    decode = [r for r in posts if r["listener"] == "vllm-decode"]
    assert len(prefill) == 1 and len(decode) == 1, posts
    sent_prefill = prefill[0]["body"]["kv_transfer_params"]
    sent_decode = decode[0]["body"]["kv_transfer_params"]
    # Prefill computes one token and keeps the KV cache for a remote decode ...
    assert sent_prefill["do_remote_decode"] is True and prefill[0]["body"]["max_tokens"] == 1
    # ... decode is told where to pull it from: the prefill's bootstrap server and engine.
    assert sent_decode["do_remote_prefill"] is True
    assert sent_decode["remote_bootstrap_addr"] == "http://%s:8998" % BACKEND_IP
    assert sent_decode["remote_engine_id"] == "fake-prefill-engine"
    assert sent_decode["transfer_id"] == sent_prefill["transfer_id"]
    assert prefill[0]["time"] <= decode[0]["time"]


def test_security_score():
    out = ROUTER.check_output("systemd-analyze security %s" % UNIT)
    score = float(re.search(r"Overall exposure level for \S+: ([0-9.]+)", out).group(1))
    assert score <= SECURITY_SCORE, out


def test_bad_input_fails_before_any_change():
    pid = main_pid()
    unit = ROUTER.file("/etc/systemd/system/" + UNIT).content_string
    bad = {"mooncake_router_port": 40000, "mooncake_router_metrics_port": 80, "mooncake_router_decode": []}
    rc, output, dummy = converge("-e", json.dumps(bad))
    assert rc != 0
    assert "host router1: mooncake_router_port 40000 is inside the kernel's ephemeral port range" in output
    assert "mooncake_router_metrics_port 80 is below 1024" in output
    assert "mooncake_router_decode is empty" in output
    assert main_pid() == pid
    assert ROUTER.file("/etc/systemd/system/" + UNIT).content_string == unit


def test_port_held_by_a_foreign_process_is_refused():
    ROUTER.run("systemd-run --unit squatter python3 -m http.server --bind %s 30100" % ROUTER_IP)
    try:
        for dummy in range(50):
            if ROUTER.socket("tcp://%s:30100" % ROUTER_IP).is_listening:
                break
            time.sleep(0.1)
        rc, output, dummy = converge("-e", "mooncake_router_port=30100")
        assert rc != 0
        assert "router port" in output and "squatter.service" in output, output[-2000:]
        assert "give the router another port" in output
    finally:
        ROUTER.run("systemctl stop squatter.service")


def test_sglang_router_switch_idempotent_and_back():
    rc, output, changed = converge("-e", "mooncake_router_kind=sglang")
    assert rc == 0 and changed > 0, output[-3000:]
    try:
        unit = ROUTER.file("/etc/systemd/system/" + UNIT).content_string
        assert "sglang_router.launch_router" in unit
        assert '"--prefill" "http://%s:15626" "9000"' % BACKEND_IP in unit and '"--decode" "http://%s:15627"' % BACKEND_IP in unit
        status, text = wait_ready()
        assert status == 200, text
        rc, output, changed = converge("-e", "mooncake_router_kind=sglang")
        assert rc == 0 and changed == 0, output[-3000:]
        before = time.time()
        status, text = http("http://%s:30000/v1/completions" % ROUTER_IP, {"model": MODEL, "prompt": "hi", "max_tokens": 4})
        assert status == 200, text
        posts = [r for r in requests_since(before) if r["method"] == "POST" and r["path"] == "/v1/completions"]
        prefill = [r for r in posts if r["listener"] == "sglang-prefill"]
        decode = [r for r in posts if r["listener"] == "sglang-decode"]
        assert len(prefill) == 1 and len(decode) == 1, posts
        # SGLang sends the same request to both, with the prefill's bootstrap address and a room.
        for sent in (prefill[0]["body"], decode[0]["body"]):
            assert sent["bootstrap_host"] == BACKEND_IP and sent["bootstrap_port"] == INSTANCES["sglang-prefill"]["bootstrap_port"]
        assert prefill[0]["body"]["bootstrap_room"] == decode[0]["body"]["bootstrap_room"]
        pid = main_pid()
        listeners = ROUTER.check_output("ss -Hltnp")
        assert any(" %s:30000 " % ROUTER_IP in ln and "pid=%d," % pid in ln for ln in listeners.splitlines()), listeners
    finally:
        rc, output, changed = converge()
        assert rc == 0 and changed > 0, output[-3000:]
    assert "vllm-router" in ROUTER.file("/etc/systemd/system/" + UNIT).content_string
    assert wait_ready()[0] == 200
