# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Check a serving program's arguments against the options its pinned version really accepts.

The options of ``vllm serve``, ``sglang.launch_server``, ``vllm-router`` and
``sglang_router.launch_router`` are recorded from the real packages
(``scripts/record_serving_cli.py``, fixtures in ``tests/unit/fixtures/serving_cli/``) as::

    {"program": "vllm serve", "version": "0.34.0", "options": {"--port": {"takes_value": true,
     "choices": null}, "--enable-x": {"takes_value": false, "negation": "--no-enable-x"}, ...},
     "positionals": [{"dest": "model_tag", "nargs": "?"}], "dialect": {...}}

``argv_problems`` reads an argument list the way argparse would, but strictly: an option must
be written with its full name (argparse would also take an unambiguous prefix, which a later
version can make ambiguous or point at another option), and an option that is not repeatable
must not be given twice (argparse keeps the last one silently). Every message names the flag,
the program and its version.

vLLM's parser (``FlexibleArgumentParser``) also takes ``--name_with_underscores``,
``--json-option.key value`` (merged into the JSON option) and ``-O3``; a fixture's ``dialect``
says so and those forms are accepted here too.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import difflib
import json
import re

# argparse reads these as values, not options, when no option looks like a negative number.
_NEGATIVE_NUMBER = re.compile(r"^-\d+$|^-\d*\.\d+$")
_UNBOUNDED = ("*", "+", "...")


def load_cli(path):
    """The recorded options of one program version (a fixture file written by the recorder)."""
    with open(path) as handle:
        return json.load(handle)


def cli_label(cli):
    """``vllm serve 0.34.0``: how messages name the program and its version."""
    return "%s %s" % (cli.get("program", "?"), cli.get("version", "?"))


def _dialect(cli, name):
    return bool((cli.get("dialect") or {}).get(name))


def _is_option_like(cli, token):
    """Whether argparse would read ``token`` as an option (not as a value or positional)."""
    if not token.startswith("-") or token == "-":
        return False
    if _NEGATIVE_NUMBER.match(token):
        return False
    if " " in token:
        name = token.split("=", 1)[0]
        return name in cli["options"]
    return True


def _normalise(cli, name):
    """The option name the program looks up for ``name`` (vLLM turns ``_`` into ``-``)."""
    if name.startswith("--") and _dialect(cli, "underscores_as_dashes"):
        head, dot, tail = name[2:].partition(".")
        return "--" + head.replace("_", "-") + dot + tail
    return name


def _closest(cli, name):
    matches = difflib.get_close_matches(name, list(cli["options"]), n=1, cutoff=0.6)
    return matches[0] if matches else None


def _unknown(cli, given, name, where):
    options = cli["options"]
    prefixed = sorted(o for o in options if o.startswith(name) and name.startswith("--"))
    if prefixed and len(name) > 2:
        return "%s%s is not an option of %s: write the full name (it abbreviates %s)" % (
            where, given, cli_label(cli), " or ".join(prefixed[:3]) + (
                " ..." if len(prefixed) > 3 else ""))
    closest = _closest(cli, name)
    return "%s%s is not an option of %s%s" % (
        where, given, cli_label(cli), " (closest: %s)" % closest if closest else "")


def _bounds(nargs):
    """(minimum, maximum or None) number of values for a recorded nargs."""
    if nargs in (None, 1):
        return 1, 1
    if nargs == "?":
        return 0, 1
    if nargs == "*":
        return 0, None
    if nargs == "+":
        return 1, None
    if nargs == "...":
        return 0, None
    return int(nargs), int(nargs)


def _positional_capacity(cli):
    total = 0
    for positional in cli.get("positionals") or []:
        low, high = _bounds(positional.get("nargs", 1))
        if high is None:
            return None
        total += high
    return total


def argv_problems(cli, argv, what=None):
    """Every problem with ``argv`` (the words after the program and its subcommand).

    ``what`` (for example ``"instance prefill0's extra_args"``) starts each message when given.
    Returns a list of strings, empty when the program's recorded parser accepts ``argv`` as is.
    """
    where = "%s: " % what if what else ""
    label = cli_label(cli)
    options = cli["options"]
    problems = []
    seen = {}
    dotted = set()
    positionals = []
    index = 0
    argv = [str(arg) for arg in argv]
    while index < len(argv):
        token = argv[index]
        index += 1
        if token == "--":
            positionals.extend(argv[index:])
            break
        if not _is_option_like(cli, token):
            positionals.append(token)
            continue
        if _dialect(cli, "optimization_shorthand") and token.startswith("-O") \
                and "--optimization-level" in options:
            if token == "-O" and index < len(argv) and argv[index] in ("0", "1", "2", "3"):
                token = "--optimization-level"
            elif token != "-O":
                token = "--optimization-level=" + (token[3:] if token[2:3] == "=" else token[2:])
        given, eq, explicit = token.partition("=")
        if not eq:
            explicit = None
        name = _normalise(cli, given)

        if "." in name and _dialect(cli, "dotted_json_keys"):
            # vLLM: --json-option.key[.key][+] value, merged into --json-option's JSON
            base = name.split(".", 1)[0]
            spec = options.get(base)
            if spec is None:
                problems.append(_unknown(cli, given, base, where))
            elif not spec.get("takes_value"):
                problems.append("%s%s: %s of %s takes no value, so it has no keys" % (
                    where, given, base, label))
            if explicit is None:
                if index >= len(argv):
                    problems.append("%s%s needs a value (%s)" % (where, given, label))
                index += 1
            dotted.add(base)
            continue

        spec = options.get(name)
        if spec is None:
            problems.append(_unknown(cli, given, name, where))
            # the words after it are taken for its values, not reported as stray positionals
            while index < len(argv) and not _is_option_like(cli, argv[index]) \
                    and argv[index] != "--":
                index += 1
            continue
        key = spec.get("dest") or name
        seen.setdefault(key, []).append(given)

        if not spec.get("takes_value"):
            if explicit is not None:
                problems.append("%s%s is a flag of %s and takes no value (given %s=%s)" % (
                    where, given, label, given, explicit))
            continue

        low, high = _bounds(spec.get("nargs", 1))
        values = []
        if explicit is not None:
            values.append(explicit)
        else:
            while index < len(argv) and (high is None or len(values) < high):
                if spec.get("nargs") != "..." and _is_option_like(cli, argv[index]):
                    break
                if argv[index] == "--":
                    break
                values.append(argv[index])
                index += 1
        if len(values) < low:
            following = argv[index] if index < len(argv) else None
            problems.append("%s%s needs %s of %s%s" % (
                where, given, "a value" if low == 1 else "%d values" % low, label,
                " (it is followed by the option %s)" % following if following else
                " (nothing follows it)"))
        choices = spec.get("choices")
        if choices:
            for value in values:
                if spec.get("choices_ignore_case"):
                    value = value.lower()
                if value not in choices:
                    problems.append("%s%s %s is not a choice of %s (choices: %s)" % (
                        where, given, value, label, ", ".join(choices)))

    for base in sorted(dotted):
        spec = options.get(base)
        if spec is not None:
            seen.setdefault(spec.get("dest") or base, []).append(base + ".*")
    for key, givens in seen.items():
        specs = [options.get(_normalise(cli, g.split(".", 1)[0])) or {} for g in givens]
        if len(givens) > 1 and not any(s.get("repeatable") for s in specs):
            problems.append("%s%s given more than once to %s (%s; only the last one would count)"
                            % (where, givens[0], label, ", ".join(givens)))

    capacity = _positional_capacity(cli)
    if capacity is not None and len(positionals) > capacity:
        extra = positionals[capacity:]
        problems.append("%s%s: %s takes %s (unexpected: %s)" % (
            where, label, label, "no positional argument" if capacity == 0 else
            "at most %d positional argument%s" % (capacity, "" if capacity == 1 else "s"),
            " ".join(extra)))
    return problems


# A clap or argparse option line: indented, starting with a dash.
_HELP_OPTION_LINE = re.compile(r"^ {1,6}(-[^\s].*)$")
_HELP_SECTION = re.compile(r"^(options|optional arguments|positional arguments|arguments|flags)"
                           r":\s*$", re.IGNORECASE)
_HELP_HEADER = re.compile(r"^\S.*:\s*$")


def _help_value_spec(rest):
    """takes_value, choices, nargs of an option's metavar text (``{a,b}``, ``X [X ...]``...)."""
    rest = rest.strip()
    if not rest:
        return False, None, 0
    choices = None
    match = re.match(r"^[<\[]?\{([^}]*)\}", rest)
    if match:
        choices = [c for c in match.group(1).split(",") if c]
    if rest.startswith("[") and rest.endswith(" ...]"):
        nargs = "*"
    elif rest.endswith(" ...]") or rest.endswith(">..."):
        nargs = "+"
    elif rest.startswith("[") and rest.endswith("]"):
        nargs = "?"
    else:
        nargs = 1
    return True, choices, nargs


def help_text_options(text):
    """The options listed in a program's ``--help`` text (argparse's or clap's layout).

    Only the option sections are read (from the first ``options:``/``Options:`` header on), so
    the examples of a description are not taken for options. Returns the fixture's
    ``options`` shape: ``{"--port": {"takes_value": True, "choices": None}, ...}``.
    """
    options = {}
    in_options = False
    for line in text.splitlines():
        if _HELP_SECTION.match(line):
            in_options = True
            continue
        if not in_options:
            continue
        if _HELP_HEADER.match(line):
            continue
        match = _HELP_OPTION_LINE.match(line)
        if not match:
            continue
        spec = re.split(r"\s{2,}", match.group(1).strip(), maxsplit=1)[0]
        names = []
        takes_value, choices, nargs = False, None, 0
        for alternative in spec.split(", "):
            name, _sep, rest = alternative.partition(" ")
            name, eq, after = name.partition("=")
            if eq:
                rest = after + " " + rest
            if not name.startswith("-"):
                continue
            names.append(name)
            if rest.strip():
                takes_value, choices, nargs = _help_value_spec(rest)
        negations = [n for n in names if n.startswith("--no-")]
        positives = [n for n in names if n not in negations]
        for name in names:
            entry = {"takes_value": takes_value, "choices": choices if takes_value else None}
            if takes_value and nargs not in (0, 1):
                entry["nargs"] = nargs
            if name in negations and positives:
                entry["negates"] = positives[0]
            elif negations:
                entry["negation"] = negations[0]
            options[name] = entry
    return options
