# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Record the command-line options of vLLM, SGLang and their routers from the real packages.

Writes ``tests/unit/fixtures/serving_cli/<slug>-<version>.json`` (read by
``plugins/module_utils/serving_cli.py``) and, for the routers, the raw ``--help`` text beside
it (``<slug>-<version>.help.txt``, the input of the help-text parser's tests).

Each program is started through its real entry point (``vllm`` console script's ``main``,
``python -m sglang.launch_server``, ``vllm-router``, ``python -m sglang_router.launch_router``)
with ``argparse.ArgumentParser.parse_known_args`` replaced by a hook that captures the parser
the program built and stops, so the options are exactly those the program parses with. The
parser's ``_actions`` are walked: every option string, whether it takes a value (nargs),
choices, repeatable (append/extend/count), BooleanOptionalAction negations.

Run it with the python of a throwaway venv, never the repository's .venv (no GPU needed)::

    python3 -m venv /tmp/servingcli-venv-1 && V=/tmp/servingcli-venv-1/bin
    mkdir -p /tmp/servingcli-wheels && cd /tmp/servingcli-wheels
    pip download --no-deps vllm==0.34.0 sglang==0.5.23 vllm-router==0.1.17 \\
        sglang-router==0.3.2 -d .
    $V/pip install torch==2.13.0          # the CPU wheel from /opt/wheels; never plain "torch"
    $V/pip install --no-deps ./*.whl      # vLLM/SGLang pin other torch builds: skip their deps
    $V/pip install regex cachetools psutil sentencepiece numpy requests tqdm blake3 \\
        py-cpuinfo 'transformers<5.23.0,>=5.16.1' huggingface_hub tokenizers safetensors \\
        protobuf 'fastapi[standard]<0.137.0,>=0.133.0' aiohttp openai pydantic orjson \\
        prometheus_client pillow prometheus-fastapi-instrumentator tiktoken \\
        partial-json-parser jsonschema pyzmq msgspec pyyaml einops cloudpickle watchfiles \\
        python-json-logger pybase64 cbor2 ijson setproctitle packaging uvicorn \
        openai_harmony llguidance xgrammar ipython
    # if the run below still names a missing module, install that one (never vllm, sglang
    # or torch themselves: pip would pull a CUDA torch and the GPU kernels, about 10 GB)
    $V/python scripts/record_serving_cli.py --wheels /tmp/servingcli-wheels

vLLM cannot pick a platform without a GPU; ``VLLM_TARGET_DEVICE=cpu`` is set for its run (it
selects vLLM's CPU platform, which only changes defaults, not which options exist).
"""

from __future__ import absolute_import, division, print_function

import argparse
import hashlib
import json
import os
import platform
import runpy
import subprocess
import sys
import tempfile

try:
    from importlib import metadata as importlib_metadata
except ImportError:  # pragma: no cover
    importlib_metadata = None

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(os.path.dirname(HERE), "tests", "unit", "fixtures", "serving_cli")

# slug, program name, package (distribution), how to start it, help command (routers only)
PROGRAMS = [
    {
        "slug": "vllm-serve",
        "program": "vllm serve",
        "package": "vllm",
        "start": ("entry", "vllm.entrypoints.cli.main", "main", ["vllm", "serve", "--help"]),
        "subcommand": "serve",
        "env": {"VLLM_TARGET_DEVICE": "cpu"},
        "dialect": {"underscores_as_dashes": True, "dotted_json_keys": True,
                    "optimization_shorthand": True},
    },
    {
        "slug": "sglang-launch_server",
        "program": "sglang.launch_server",
        "package": "sglang",
        "start": ("module", "sglang.launch_server", None, ["launch_server", "--model-path", "x"]),
    },
    {
        "slug": "vllm-router",
        "program": "vllm-router",
        "package": "vllm-router",
        "start": ("entry", "vllm_router.launch_router", "main", ["vllm-router"]),
        "help": ["vllm-router", "--help"],
    },
    {
        "slug": "sglang_router-launch_router",
        "program": "sglang_router.launch_router",
        "package": "sglang-router",
        "start": ("module", "sglang_router.launch_router", None, ["launch_router"]),
        "help": [sys.executable, "-m", "sglang_router.launch_router", "--help"],
    },
]


class _Captured(BaseException):
    def __init__(self, parser):
        BaseException.__init__(self)
        self.parser = parser


def capture_parser(spec):
    """Start the program through its real entry point; return the parser it parses with."""
    kind, module, func, argv = spec["start"]
    original = argparse.ArgumentParser.parse_known_args

    def hook(self, args=None, namespace=None):
        raise _Captured(self)

    old_argv = sys.argv
    old_env = {k: os.environ.get(k) for k in spec.get("env", {})}
    os.environ.update(spec.get("env", {}))
    argparse.ArgumentParser.parse_known_args = hook
    sys.argv = list(argv)
    try:
        if kind == "module":
            runpy.run_module(module, run_name="__main__", alter_sys=True)
        else:
            getattr(__import__(module, fromlist=[func]), func)()
    except _Captured as captured:
        parser = captured.parser
    else:
        raise RuntimeError("%s returned without parsing arguments" % spec["program"])
    finally:
        argparse.ArgumentParser.parse_known_args = original
        sys.argv = old_argv
        for key, value in old_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    if spec.get("subcommand"):
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        parser = subs[0].choices[spec["subcommand"]]
    return parser


def _nargs(action):
    if action.nargs is None:
        return 1
    if action.nargs == argparse.OPTIONAL:
        return "?"
    if action.nargs == argparse.ZERO_OR_MORE:
        return "*"
    if action.nargs == argparse.ONE_OR_MORE:
        return "+"
    if action.nargs == argparse.REMAINDER:
        return "..."
    return action.nargs


def _folds_case(convert):
    """Whether the option's type lower-cases its value before argparse checks the choices."""
    if convert in (None, str, int, float):
        return False
    try:
        return convert("AbC") == "abc"
    except Exception:
        return False


def _deprecated(parser, action):
    if getattr(action, "deprecated", False):
        return True
    return action in getattr(parser, "_deprecated", ())


def parser_options(parser):
    """The options and positionals of an argparse parser, as the fixture records them."""
    options = {}
    positionals = []
    repeatable_types = tuple(
        getattr(argparse, name) for name in ("_AppendAction", "_AppendConstAction",
                                             "_CountAction", "_ExtendAction")
        if hasattr(argparse, name))
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            raise RuntimeError("nested subcommands are not recorded")
        if not action.option_strings:
            positionals.append({"dest": action.dest, "nargs": _nargs(action)})
            continue
        nargs = _nargs(action)
        if action.nargs == 0 or isinstance(action, (argparse._StoreConstAction,
                                                    argparse._CountAction,
                                                    argparse._HelpAction,
                                                    argparse._VersionAction)):
            nargs = 0
        negative = set(getattr(action, "negative_option_strings", ()) or ())
        if isinstance(action, argparse.BooleanOptionalAction) and not negative:
            negative = set(s for s in action.option_strings if s.startswith("--no-"))
        positive = [s for s in action.option_strings if s not in negative]
        choices = None
        if action.choices is not None and not isinstance(action.choices, dict):
            choices = [getattr(c, "value", c) if not isinstance(c, str) else c
                       for c in action.choices]
            choices = [c if isinstance(c, str) else str(c) for c in choices]
            # sorted: some are built from sets, whose order changes with the hash seed
            choices = sorted(choices)
        for opt in action.option_strings:
            entry = {"takes_value": nargs != 0, "choices": choices if nargs != 0 else None}
            if nargs not in (0, 1):
                entry["nargs"] = nargs
            if isinstance(action, repeatable_types):
                entry["repeatable"] = True
            if _deprecated(parser, action):
                entry["deprecated"] = True
            if opt in negative:
                entry["negates"] = positive[0] if positive else None
            elif negative:
                entry["negation"] = sorted(negative)[0]
                if len(negative) > 1:
                    entry["negations"] = sorted(negative)
            if choices and _folds_case(action.type):
                entry["choices_ignore_case"] = True
            if len(action.option_strings) > 1:
                entry["dest"] = action.dest
            options[opt] = entry
    return options, positionals


def _version(package):
    return importlib_metadata.version(package)


def _wheel_info(wheels_dir, package, version):
    if not wheels_dir:
        return None
    prefix = "%s-%s-" % (package.replace("-", "_"), version)
    found = []
    for name in sorted(os.listdir(wheels_dir)):
        if name.endswith(".whl") and name.startswith(prefix):
            digest = hashlib.sha256()
            with open(os.path.join(wheels_dir, name), "rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
            found.append({"file": name, "sha256": digest.hexdigest()})
    return found


def record(spec, out_dir, wheels_dir):
    version = _version(spec["package"])
    parser = capture_parser(spec)
    options, positionals = parser_options(parser)
    recorded_with = "python %s, %s; parser captured at the real entry point (%s)%s" % (
        platform.python_version(), "torch %s" % _version("torch") if _has("torch") else "no torch",
        ":".join(x for x in spec["start"][1:3] if x),
        "; env " + " ".join("%s=%s" % kv for kv in sorted(spec.get("env", {}).items()))
        if spec.get("env") else "")
    data = {
        "program": spec["program"],
        "package": spec["package"],
        "version": version,
        "source": "argparse",
        "recorded_with": recorded_with,
        "prog": parser.prog,
        "allow_abbrev": bool(getattr(parser, "allow_abbrev", True)),
        "dialect": spec.get("dialect", {}),
        "wheels": _wheel_info(wheels_dir, spec["package"], version),
        "options": dict(sorted(options.items())),
        "positionals": positionals,
    }
    base = os.path.join(out_dir, "%s-%s" % (spec["slug"], version))
    with open(base + ".json", "w") as handle:
        json.dump(data, handle, indent=1, sort_keys=False)
        handle.write("\n")
    print("%s %s: %d options, %d positionals -> %s.json" % (
        spec["program"], version, len(options), len(positionals), base))
    if spec.get("help"):
        env = dict(os.environ, COLUMNS="100", LINES="50", PYTHONHASHSEED="0")
        command = list(spec["help"])
        if not os.path.isabs(command[0]):
            command[0] = os.path.join(os.path.dirname(sys.executable), command[0])
        text = subprocess.run(command, env=env, check=True, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, universal_newlines=True,
                              cwd=tempfile.gettempdir()).stdout
        with open(base + ".help.txt", "w") as handle:
            handle.write(text)
        print("  help text -> %s.help.txt" % base)


def _has(package):
    try:
        _version(package)
        return True
    except Exception:
        return False


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--out", default=DEFAULT_OUT, help="fixture directory")
    parser.add_argument("--wheels", help="directory with the downloaded wheels (for sha256)")
    parser.add_argument("--only", action="append", help="slug(s) to record")
    args = parser.parse_args(argv)
    if os.path.realpath(sys.prefix).startswith(os.path.realpath(os.path.join(HERE, ".."))):
        parser.error("run this with a throwaway venv's python, not the repository's .venv")
    failed = 0
    for spec in PROGRAMS:
        if args.only and spec["slug"] not in args.only:
            continue
        try:
            record(spec, args.out, args.wheels)
        except Exception as exc:  # report and go on with the next program
            failed += 1
            print("%s: FAILED: %r" % (spec["program"], exc), file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
