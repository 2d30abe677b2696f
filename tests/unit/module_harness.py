# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Run a module's main() in the test process: exit_json and fail_json raise with the result."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args


class AnsibleExitJson(Exception):
    """exit_json was called; args[0] is the result."""


class AnsibleFailJson(Exception):
    """fail_json was called; args[0] is the result."""


def exit_json(module, **result):  # pylint: disable=unused-argument
    result.setdefault("changed", False)
    raise AnsibleExitJson(result)


def fail_json(module, **result):  # pylint: disable=unused-argument
    result["failed"] = True
    raise AnsibleFailJson(result)


def patch_exits(monkeypatch):
    monkeypatch.setattr(basic.AnsibleModule, "exit_json", exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_json)


def run_module(main, args, expect_exception):
    """main() with args; returns the result of the exit (or failure) it must end with."""
    with patch_module_args(args):
        with pytest.raises(expect_exception) as caught:
            main()
    return caught.value.args[0]
