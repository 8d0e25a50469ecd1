"""The platform team's prod rules, in one place: the CrossGuard pack (policy/) and the review
report (aimodels/review.py) both call :func:`violations`.

Pure functions over a resource's type token (``esd:Endpoint``) and its input properties; no
imports beyond the standard library, so the policy pack's own virtualenv can load this module.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

RULES = {
    "prod-endpoints-autoscale": "prod endpoints autoscale",
    "prod-model-versions-approved": "prod model versions are Approved",
    "no-public-models-in-prod": "no public models in prod",
}


def is_prod(environment: str | None) -> bool:
    """A prod environment: its name starts with ``prod`` (prod, prod2, prodeu). The one definition."""
    return bool(environment) and str(environment).startswith("prod")


def violations(type_token: str, props: Mapping[str, Any], environment: str | None) -> list[tuple[str, str]]:
    """``(rule, message)`` for each rule the resource breaks; nothing outside prod."""
    if not is_prod(environment):
        return []
    out = []
    if type_token == "esd:Endpoint" and props.get("autoscaling_enabled") is not True:
        out.append(("prod-endpoints-autoscale", "has autoscaling disabled"))
    if type_token == "pai:ModelVersion" and props.get("approval_status") != "Approved":
        out.append(("prod-model-versions-approved",
                    f"has approval status `{props.get('approval_status') or 'unset'}`"))
    if type_token == "pai:Model" and props.get("accessibility") == "PUBLIC":
        out.append(("no-public-models-in-prod", "has accessibility `PUBLIC`"))
    return out


def type_token(resource_type: str) -> str:
    """``pulumi-python:dynamic/esd:Endpoint`` -> ``esd:Endpoint``."""
    return resource_type.rsplit("/", 1)[-1]
