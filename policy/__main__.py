"""aimodels-prod: a CrossGuard policy pack (pulumi-policy) with the platform team's prod rules.

Run it with the executable launcher beside this file (the engine starts an executable pack
directly, no language host involved):

    pulumi preview --stack prod --policy-pack "$PWD/policy/aimodels-policy"

The path must be absolute for plain `pulumi`: the engine resolves a relative one against the
program's directory (`main: stacks/`). `aimodels preview/up/review` add the pack themselves on
every prod stack (and make a relative `--policy-pack` absolute).

It runs on the project's .venv, which has pulumi-policy (the `test` and `policy` extras).

The rules themselves live in aimodels/policy_rules.py and are shared with `aimodels review`.
A stack is prod when its name starts with "prod" (the analyzer is not told the stack's config).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root, for aimodels.policy_rules

from pulumi_policy import (  # noqa: E402
    EnforcementLevel,
    PolicyPack,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
)

from aimodels.policy_rules import RULES, type_token, violations  # noqa: E402


def stack_of(urn: str) -> str:
    return urn.split("::", 1)[0].rsplit(":", 1)[-1]  # urn:pulumi:<stack>::<project>::...


def rule(name: str) -> ResourceValidationPolicy:
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        # args.props raises on an unknown value it is asked for: pass it as is, so a rule reads
        # only the properties it needs (all known at preview for these rules).
        for broken, message in violations(type_token(args.resource_type), args.props, stack_of(args.urn)):
            if broken == name:
                report_violation(f"{type_token(args.resource_type)} {args.name} {message}", None)

    return ResourceValidationPolicy(name=name, description=RULES[name], validate=validate,
                                    enforcement_level=EnforcementLevel.MANDATORY)


if __name__ == "__main__":
    PolicyPack(name="aimodels-prod", enforcement_level=EnforcementLevel.MANDATORY,
               policies=[rule(name) for name in RULES])
