# -*- coding: utf-8 -*-
# Copyright: mooncake.deploy contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Action host_state_info: answer from an earlier read of this run when it covers the call.

site.yml's preflight reads, in one call, what every role will look at on a host; each role's own
read passes that result as `reuse` and is answered here, on the controller, without a round
trip - unless the earlier read lacks something asked for, in which case the module runs on the
host as usual. Documentation: plugins/modules/host_state_info.py.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.plugins.action import ActionBase
from ansible_collections.mooncake.deploy.plugins.module_utils.host_state import view_of


class ActionModule(ActionBase):
    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        args = dict(self._task.args)
        earlier = args.pop("reuse", None)
        view = view_of(earlier, args) if earlier else None
        if view is not None:
            result.update(view)
            result.update(changed=False, reused=True)
            return result
        result.update(self._execute_module(module_name="mooncake.deploy.host_state_info", module_args=args, task_vars=task_vars))
        result["reused"] = False
        return result
