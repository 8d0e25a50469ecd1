"""The stack program: one composition, one config file per environment (Pulumi.<stack>.yaml).

The stack's ``aimodels:*`` config is validated against aimodels/envconfig.py before any
resource is declared; a bad value stops the program with one line naming the stack, the key
and the rule. Each platform is one module under blocks/ with a ``declare(env, config)``
function returning what the stack exports for it, so adding a platform is one module and one
line below. Every platform name carries the environment (``<env>-...``), so two environments
can share one platform account without colliding.
"""

from __future__ import annotations

import pulumi

from aimodels.envconfig import ConfigProblem, validate
from blocks import esd, fabric, pai

stack = pulumi.get_stack()
raw = pulumi.Config("aimodels")
values = {}
for key in ("environment", "emulator", "esd", "pai", "fabric"):
    value = raw.get_object(key) if key in ("esd", "pai", "fabric") else raw.get(key)
    if value is not None:
        values[key] = value
try:
    config = validate(stack, values)
except ConfigProblem as exc:
    raise pulumi.RunError(str(exc)) from None

BLOCKS = {"esd": esd.declare, "pai": pai.declare, "fabric": fabric.declare}
for name, declare in BLOCKS.items():
    pulumi.export(name, declare(config.environment, config))
pulumi.export("environment", config.environment)
