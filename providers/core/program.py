"""The program side: the base of every resource class a stack declares."""

from __future__ import annotations

from typing import Any, ClassVar

import pulumi
from pulumi import dynamic

from providers.core.fields import marks_of
from providers.core.handler import Handler
from providers.core.resource import DynamicProvider


class Resource(dynamic.Resource):
    """Base of every resource a stack declares: ``Endpoint("name", instance_type=..., ...)``.

    Inputs are keyword arguments (plain values or Outputs); unknown keywords fail at once.
    Declared-secret inputs are wrapped as secrets, declared-secret outputs are added to
    ``additional_secret_outputs``, and every output is seeded so it becomes an attribute.
    """

    _handler: ClassVar[type[Handler]]

    def __init_subclass__(cls, handler: type[Handler] | None = None, **kwargs: Any) -> None:
        if handler is None:
            super().__init_subclass__(**kwargs)
            return
        platform, _, kind = handler.type_token.partition(":")
        super().__init_subclass__(module=platform, name=kind, **kwargs)
        cls._handler = handler

    def __init__(self, resource_name: str, opts: pulumi.ResourceOptions | None = None, **inputs: Any) -> None:
        h = self._handler
        declared = h.Inputs.model_fields
        unknown = sorted(set(inputs) - set(declared))
        if unknown:
            raise TypeError(f"{h.type_token} {resource_name}: unknown input(s) {unknown}; "
                            f"declared inputs are {sorted(declared)}")
        props: dict[str, Any] = {}
        for name, value in inputs.items():
            if marks_of(declared[name]).secret and value is not None:
                value = pulumi.Output.secret(value)
            props[name] = value
        secret_outputs = []
        for name, field in h.Outputs.model_fields.items():
            props[name] = None
            if marks_of(field).secret:
                secret_outputs.append(name)
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(additional_secret_outputs=secret_outputs))
        super().__init__(DynamicProvider(h), resource_name, props, opts)
