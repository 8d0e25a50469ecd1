"""The stack program: one composition, one config file per environment (Pulumi.<stack>.yaml).

The stack's ``aimodels:*`` config is validated against aimodels/envconfig.py before any
resource is declared; a bad value stops the program with one line naming the stack, the key
and the rule. Each platform is one module under blocks/ with a ``declare(env, config)``
function returning what the stack exports for it, so adding a platform is one module and one
line below. Every platform name carries the environment (``<env>-...``), so two environments
can share one platform account without colliding.
"""

from __future__ import annotations

import json

import pulumi
from pulumi.runtime import get_config_env, get_config_secret_keys_env

from aimodels.envconfig import NAMESPACE, ConfigProblem, validate
from blocks import esd, fabric, pai, workshop, zstack

stack = pulumi.get_stack()
# Every aimodels:* key, so a misspelt or retired key fails too; secret values are never looked at.
secret_keys = set(get_config_secret_keys_env() or [])
values = {}
for key, text in (get_config_env() or {}).items():
    if key.startswith(NAMESPACE + ":"):
        name = key[len(NAMESPACE) + 1:]
        if key in secret_keys:
            values[name] = "[secret]"
            continue
        try:
            values[name] = json.loads(text) if text[:1] in "[{" else text
        except json.JSONDecodeError:
            values[name] = text
try:
    config = validate(stack, values)
except ConfigProblem as exc:
    raise pulumi.RunError(str(exc)) from None

# A block returns None when the stack does not use its platform (ZStack, Workshop: no node / app key).
BLOCKS = {"esd": esd.declare, "pai": pai.declare, "fabric": fabric.declare, "zstack": zstack.declare,
          "workshop": workshop.declare}
for name, declare in BLOCKS.items():
    exported = declare(config.environment, config)
    if exported is not None:
        pulumi.export(name, exported)
pulumi.export("environment", config.environment)
