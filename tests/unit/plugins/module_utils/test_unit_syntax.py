# -*- coding: utf-8 -*-
"""The ExecStart= and EnvironmentFile= writing of a user's program and environment.

``systemd_exec_words`` below reads an ExecStart= value the way systemd 252 does (quotes,
C escapes, %% and $$), so each test checks that the program gets exactly the list it was
given; the lab test (molecule default, test_lifecycle) runs the same through real systemd.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

import pytest

from ansible_collections.mooncake.deploy.plugins.module_utils.unit_syntax import (
    env_value, env_value_problem, exec_line, parse_command)

NASTY = [
    "/usr/bin/vllm",
    "--kv-transfer-config",
    '{"kv_connector":"MooncakeConnector","kv_role":"kv_both","extra":{"a b":"%i $HOME ${X}"}}',
    "100%",
    "%i%n%%",
    "$HOME",
    "${HOME}",
    "$$",
    "back\\slash\\",
    'say "hi"',
    "it's",
    ";",
    "\\;",
    "",
    " ",
    "line\nbreak",
    "cr\rlf",
    "tab\there",
    "\x01\x1b[31m\x7f",
    "Environment=INJECTED=1",
    "\n[Service]\nExecStartPre=/bin/rm -rf /",
    "ünïcödé ✓",
    "-leading-dash",
    "@at",
]


def _c_unescape(text, position):
    """One C escape of systemd's cunescape at text[position] (after the backslash)."""
    simple = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v",
              "\\": "\\", '"': '"', "'": "'", "s": " "}
    char = text[position]
    if char in simple:
        return simple[char], position + 1
    if char == "x":
        return chr(int(text[position + 1:position + 3], 16)), position + 3
    raise AssertionError("systemd would not read escape \\%s" % char)


def systemd_exec_words(line):
    """Split an ExecStart= value as systemd does, then resolve %% and $$ (no other specifier or
    variable may appear: the test fails on one)."""
    words, position = [], 0
    while position < len(line):
        if line[position] == " ":
            position += 1
            continue
        assert line[position] == '"', "every word is quoted: %r" % line[position:]
        position += 1
        word = []
        while line[position] != '"':
            if line[position] == "\\":
                char, position = _c_unescape(line, position + 1)
            else:
                char, position = line[position], position + 1
            word.append(char)
        position += 1
        words.append("".join(word))
    resolved = []
    for word in words:
        assert not re.search(r"(?<!%)%(?!%)", word.replace("%%", "")), "a % specifier is left in %r" % word
        assert "$" not in word.replace("$$", ""), "a $ expansion is left in %r" % word
        resolved.append(word.replace("%%", "%").replace("$$", "$"))
    return resolved


def test_the_nastiest_arguments_reach_the_program_exactly():
    argv, problem = parse_command(NASTY)
    assert problem is None
    line = exec_line(argv)
    assert systemd_exec_words(line) == NASTY


def test_no_line_break_or_control_character_reaches_the_unit_file():
    line = exec_line(parse_command(NASTY)[0])
    assert not [c for c in line if ord(c) < 0x20 or ord(c) == 0x7F]


def test_no_text_of_the_user_becomes_a_directive():
    line = exec_line(["/bin/echo", "\nExecStartPre=/bin/false", "x\n[Install]\nWantedBy=evil.target"])
    assert "\n" not in line
    assert line == '"/bin/echo" "\\nExecStartPre=/bin/false" "x\\n[Install]\\nWantedBy=evil.target"'


@pytest.mark.parametrize("argument, word", [
    ("%i", '"%%i"'),
    ("$HOME", '"$$HOME"'),
    ("a\\b", '"a\\\\b"'),
    ('"', '"\\""'),
    (";", '";"'),
    ("\x1b", '"\\x1b"'),
])
def test_each_special_character_is_escaped(argument, word):
    assert exec_line(["/bin/echo", argument]) == '"/bin/echo" ' + word


def test_expand_keeps_only_its_variable_references_for_systemd():
    argv, problem = parse_command(["/usr/bin/vllm", {"expand": "--host=${VLLM_HOST_IP} 100% $HOME"}])
    assert problem is None
    assert exec_line(argv) == '"/usr/bin/vllm" "--host=${VLLM_HOST_IP} 100%% $$HOME"'


def test_a_one_line_string_without_quotes_splits_on_spaces():
    argv, problem = parse_command("/usr/bin/python3 -m http.server 8000 --bind 10.0.0.1")
    assert problem is None
    assert argv == ["/usr/bin/python3", "-m", "http.server", "8000", "--bind", "10.0.0.1"]


@pytest.mark.parametrize("command, fault", [
    ("/usr/bin/vllm serve m\n--port 8000", "a line break"),
    ("/usr/bin/vllm serve m \\\n --port 8000", "'\\\\'"),
    ("/bin/sh -c 'echo hi'", "\"'\""),
    ('/usr/bin/vllm --kv-transfer-config {"a": 1}', "'\"'"),
])
def test_a_string_that_does_not_split_without_ambiguity_is_refused(command, fault):
    argv, problem = parse_command(command)
    assert argv is None
    assert problem.startswith("command is a string containing ")
    assert fault in problem
    assert problem.endswith("write command as a list with one item per argument")


@pytest.mark.parametrize("command, fault", [
    ([], "command is an empty list"),
    ("   ", "command is empty"),
    (["python3", "-m", "x"], "command[0] 'python3' must be the program's absolute path"),
    ([{"expand": "${PROG}"}], "command[0] is the program and must be given literally"),
    (["/bin/echo", True], "command[1] is True; write it as a string"),
    (["/bin/echo", None], "command[1] is None"),
    (["/bin/echo", ["a"]], "command[1] is a list; each argument must be a string"),
    (["/bin/echo", {"env": "HOME"}], "command[1] is a mapping; the only mapping allowed is {expand:"),
    (["/bin/echo", {"expand": "no reference"}], "command[1] {expand: 'no reference'} names no ${VARIABLE}"),
    (["/bin/echo", "a\x00b"], "command[1] contains a NUL character"),
    ({"program": "/bin/echo"}, "command must be a list of arguments (or a one-line string), got dict"),
])
def test_bad_commands_name_the_argument_and_the_fault(command, fault):
    argv, problem = parse_command(command)
    assert argv is None
    assert problem.startswith(fault)


def test_numbers_become_their_text():
    assert parse_command(["/bin/sleep", 5, 0.5])[0] == ["/bin/sleep", "5", "0.5"]


def systemd_env_value(text):
    """Read a double-quoted EnvironmentFile value as systemd 252 does."""
    assert text[0] == '"' and text[-1] == '"'
    out, position, body = [], 0, text[1:-1]
    while position < len(body):
        if body[position] == "\\" and body[position + 1] in '"\\`$':
            out.append(body[position + 1])
            position += 2
        else:
            assert body[position] not in '"', "an unescaped quote ends the value early"
            out.append(body[position])
            position += 1
    return "".join(out)


@pytest.mark.parametrize("value", ['{"a": "b"}', "$HOME ${X} `id`", "back\\slash\\", "%i", "tab\tok", "ünï ✓", ""])
def test_env_values_reach_the_program_exactly(value):
    assert env_value_problem(value) is None
    assert systemd_env_value(env_value(value)) == value


@pytest.mark.parametrize("value", ["a\nb", "a\rb", "a\x00b", "\x1b[0m", "\x7f"])
def test_env_values_with_control_characters_are_refused(value):
    assert env_value_problem(value).startswith("contains control character(s) U+00")
