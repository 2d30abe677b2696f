#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: managed_files
short_description: Bring many files, directories and symlinks to their state in one call
author:
  - mooncake.deploy maintainers (!UNKNOWN)
version_added: 0.1.0
description:
  - Applies a list of paths in order - files with their full content, directories, symlinks
    and paths that must not exist - with owner, group and mode, in one module run. A converged
    host costs one round trip instead of one (or two, for a template) per path.
  - Render templates on the controller with C(lookup('ansible.builtin.template', ...)) and pass
    the text as C(content).
  - A new file content is written under its own base name into a private temporary directory,
    checked with C(validate) there, then moved over the old file atomically; a failed check
    leaves the old file in place.
  - Reports each path that changed in C(changed_paths), so a role restarts exactly what changed.
options:
  files:
    description: The paths, applied in this order (list a directory before what goes in it).
    type: list
    elements: dict
    required: true
    suboptions:
      path:
        description: Absolute path.
        type: path
        required: true
      state:
        description:
          - C(file) - a regular file with exactly C(content).
          - C(directory) - a directory (missing parents are created as C(mkdir -p) does).
          - C(link) - a symlink to C(src), replaced atomically when it points elsewhere.
          - C(absent) - nothing there; a directory is removed with what it holds.
        type: str
        choices: [file, directory, link, absent]
        default: file
      content:
        description: The whole content of a C(file).
        type: str
      src:
        description: The target of a C(link).
        type: str
      owner:
        description: Owner name or uid.
        type: str
      group:
        description: Group name or gid.
        type: str
      mode:
        description: Mode, e.g. C("0644") (not for links).
        type: raw
      validate:
        description:
          - Command run on the new content before it replaces the old one; C(%s) is the
            temporary file, whose base name is the base name of C(path). Not run in check mode.
        type: str
      diff:
        description: Show this path's content in C(--diff) output; C(false) for secrets.
        type: bool
        default: true
      label:
        description: Names the path in error messages, e.g. C(instance 'prefill' config).
        type: str
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reports what would change, with diffs, and changes nothing (no validation either).
  diff_mode:
    support: full
  platform:
    platforms: posix
"""

EXAMPLES = r"""
- name: Write the agent's directory, its config and the unit, and remove an old drop-in
  mooncake.deploy.managed_files:
    files:
      - {path: /etc/mooncake, state: directory, owner: root, group: root, mode: "0755"}
      - path: /etc/mooncake/prefill.json
        content: "{{ lookup('ansible.builtin.template', 'instance.json.j2') }}"
        owner: root
        group: mooncake
        mode: "0640"
      - path: /etc/systemd/system/mooncake-etcd.service
        content: "{{ lookup('ansible.builtin.template', 'mooncake-etcd.service.j2') }}"
        validate: systemd-analyze verify %s
      - {path: /etc/systemd/system/etcd.service, state: link, src: /dev/null}
      - {path: /etc/systemd/system/old.service.d, state: absent}
  register: written
"""

RETURN = r"""
changed_paths:
  description: The paths that changed (content, state, owner, group or mode), in the order given.
  returned: always
  type: list
  elements: str
  sample: ["/etc/mooncake/prefill.json"]
results:
  description: One entry per path - C(path), C(state), C(changed).
  returned: always
  type: list
  elements: dict
  sample: [{"path": "/etc/mooncake/prefill.json", "state": "file", "changed": true}]
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.mooncake.deploy.plugins.module_utils.managed_files import Applier

ENTRY_SPEC = dict(
    path=dict(type="path", required=True),
    state=dict(type="str", choices=["file", "directory", "link", "absent"], default="file"),
    content=dict(type="str"),
    src=dict(type="str"),
    owner=dict(type="str"),
    group=dict(type="str"),
    mode=dict(type="raw"),
    validate=dict(type="str"),
    diff=dict(type="bool", default=True),
    label=dict(type="str"),
)


def check_entry(module, entry):
    where = entry.get("label") or entry["path"]
    if entry["state"] == "file" and entry.get("content") is None:
        module.fail_json(msg="%s: state file needs content" % where)
    if entry["state"] == "link" and not entry.get("src"):
        module.fail_json(msg="%s: state link needs src (the target)" % where)
    if entry["state"] != "file" and (entry.get("content") is not None or entry.get("validate")):
        module.fail_json(msg="%s: content and validate are for state file only" % where)


def main():
    module = AnsibleModule(
        argument_spec=dict(files=dict(type="list", elements="dict", required=True, options=ENTRY_SPEC)),
        supports_check_mode=True,
    )
    for entry in module.params["files"]:
        check_entry(module, entry)
    applier = Applier(module)
    results = []
    for entry in module.params["files"]:
        changed = applier.apply(entry)
        results.append({"path": entry["path"], "state": entry["state"], "changed": bool(changed)})
    changed_paths = [r["path"] for r in results if r["changed"]]
    output = dict(changed=bool(changed_paths), changed_paths=changed_paths, results=results)
    if module._diff:
        output["diff"] = applier.diffs
    module.exit_json(**output)


if __name__ == "__main__":
    main()
