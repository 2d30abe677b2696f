# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Write a user's program and environment into systemd files so they arrive exactly as given.

systemd rewrites an ``ExecStart=`` line before the program sees it: ``%`` starts a specifier,
``$VAR`` and ``${VAR}`` expand, backslashes are C escapes, quotes group words, a line break
ends the directive, and a lone ``;`` once separated commands. Each argument is therefore
written as one double-quoted word with every one of those characters escaped (measured with
systemd 252: the program receives the list unchanged). The one way to have systemd expand a
variable of the instance's environment is an argument given as ``{"expand": "..."}``: its
``${NAME}`` references are left for systemd, everything else is escaped the same way.

``EnvironmentFile=`` values are double-quoted with ``\\``, ``"``, ``$`` and backquote escaped
(systemd 252 expands nothing there, but the escapes keep it so on any version).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# ${NAME} inside an {"expand": ...} argument: the only text systemd may rewrite.
EXPAND_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_EXEC_ESCAPES = {"\\": "\\\\", '"': '\\"', "%": "%%", "$": "$$", "\n": "\\n", "\t": "\\t", "\r": "\\r"}
_ENV_ESCAPES = {"\\": "\\\\", '"': '\\"', "$": "\\$", "`": "\\`"}
# A plain-string command splits on spaces only when nothing in it could mean something else.
_AMBIGUOUS = re.compile(r"[\"'\\\n\r]")


def _control_characters(text):
    """The control characters of text (tab excepted), as readable names."""
    return sorted(set("U+%04X" % ord(c) for c in text if (ord(c) < 0x20 and c != "\t") or ord(c) == 0x7F))


def _escape_exec(text):
    out = []
    for char in text:
        if char in _EXEC_ESCAPES:
            out.append(_EXEC_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append("\\x%02x" % ord(char))
        else:
            out.append(char)
    return "".join(out)


def _escape_expand(text):
    """Escape text like any argument but keep its ${NAME} references for systemd."""
    out = []
    position = 0
    for match in EXPAND_REFERENCE.finditer(text):
        out.append(_escape_exec(text[position:match.start()]))
        out.append(match.group(0))
        position = match.end()
    out.append(_escape_exec(text[position:]))
    return "".join(out)


def exec_word(argument):
    """One argument as one double-quoted ExecStart word."""
    if isinstance(argument, dict):
        return '"%s"' % _escape_expand(argument["expand"])
    return '"%s"' % _escape_exec(argument)


def exec_line(argv):
    """The value of ExecStart= that runs argv exactly (argv as parse_command returns it)."""
    return " ".join(exec_word(argument) for argument in argv)


def env_value(value):
    """A value for an EnvironmentFile= line, read back by systemd as exactly value."""
    return '"%s"' % "".join(_ENV_ESCAPES.get(char, char) for char in value)


def env_value_problem(value):
    """Why value cannot be an environment value (None when it can)."""
    bad = _control_characters(value)
    if bad:
        return "contains control character(s) %s, which an EnvironmentFile cannot hold" % ", ".join(bad)
    return None


def parse_command(command):
    """Return ``(argv, problem)`` for an instance's ``command``.

    ``command`` is a list of arguments (strings, numbers, or ``{"expand": "..."}``) or a plain
    one-line string without quotes or backslashes, split on whitespace. ``argv`` is the list of
    strings and expand mappings to run, ``problem`` a sentence saying what is wrong (then argv
    is None). The first argument is the program: an absolute path, given literally.
    """
    if isinstance(command, str):
        if not command.strip():
            return None, "command is empty; give the program's absolute path and its arguments as a list"
        ambiguous = sorted(set(_AMBIGUOUS.findall(command)))
        if ambiguous:
            names = ", ".join({"\n": "a line break", "\r": "a carriage return"}.get(c, repr(c)) for c in ambiguous)
            return None, (
                "command is a string containing %s, which systemd and a shell read differently; "
                "write command as a list with one item per argument" % names
            )
        argv = command.split()
    elif isinstance(command, list):
        if not command:
            return None, "command is an empty list; give the program's absolute path first"
        argv = []
        for index, argument in enumerate(command):
            where = "command[%d]" % index
            if isinstance(argument, bool) or argument is None:
                return None, "%s is %r; write it as a string, e.g. '%s'" % (
                    where, argument, "true" if argument is True else "false" if argument is False else "")
            if isinstance(argument, (int, float)):
                argument = str(argument)
            if isinstance(argument, dict):
                if set(argument) != {"expand"} or not isinstance(argument["expand"], str):
                    return None, (
                        "%s is a mapping; the only mapping allowed is {expand: 'text with ${VARIABLE}'} "
                        "(to have systemd expand the instance's environment); quote other values as strings" % where
                    )
                if not EXPAND_REFERENCE.search(argument["expand"]):
                    return None, "%s {expand: %r} names no ${VARIABLE}; write it as a plain string" % (where, argument["expand"])
                if "\x00" in argument["expand"]:
                    return None, "%s contains a NUL character, which no program argument can hold" % where
                argv.append({"expand": argument["expand"]})
                continue
            if not isinstance(argument, str):
                return None, "%s is a %s; each argument must be a string" % (where, type(argument).__name__)
            if "\x00" in argument:
                return None, "%s contains a NUL character, which no program argument can hold" % where
            argv.append(argument)
    else:
        return None, "command must be a list of arguments (or a one-line string), got %s" % type(command).__name__
    program = argv[0]
    if isinstance(program, dict):
        return None, "command[0] is the program and must be given literally, not {expand: ...}"
    if not program.startswith("/"):
        return None, "command[0] %r must be the program's absolute path (systemd does not search PATH the way a shell does)" % program
    return argv, None
