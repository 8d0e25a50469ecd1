"""The author's API: what a platform author writes per resource.

    class RoleInputs(Inputs): ...            # what the user sets (fields carry their marks)
    class RoleOutputs(Outputs): ...          # what the platform returns
    class RoleHandler(EsdHandler[RoleInputs, RoleOutputs]):
        type_token = "esd:Role"
        id_doc = "the role name"             # lifecycle facts for the reference
        refresh_doc = "sees the permissions"
        def create(self, inputs) -> Created[RoleOutputs]: ...
        def read(self, id, inputs, outputs) -> Observed | None: ...
        def update(self, id, olds, news, outputs) -> RoleOutputs: ...
        def delete(self, id, inputs, outputs) -> None: ...

Every handler class registers itself by type token (``HANDLERS``), for import, where no state
names the class. The protocol adapter (providers/core/resource.py) drives handlers; the
resource classes a program declares are generated into ``providers/<platform>/resources.py``.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from pulumi import dynamic

from providers.core.errors import ProviderError
from providers.core.fields import Inputs, Outputs
from providers.core.settings import PlatformSettings, shared_client

I = TypeVar("I", bound=Inputs)
O = TypeVar("O", bound=Outputs)


@dataclass
class Created(Generic[O]):
    id: str
    outputs: O


@dataclass
class Observed(Generic[I, O]):
    """What read found: the inputs as they are on the platform now, and the outputs.

    ``unseen`` names inputs the platform cannot show (no read API): a refresh records them, the
    next preview shows them as changed and ``up`` sends them again (a read itself never writes)."""

    inputs: I
    outputs: O
    unseen: tuple[str, ...] = ()


class Handler(Generic[I, O]):
    """The platform calls for one resource type. One instance per provider process."""

    Inputs: ClassVar[type[Inputs]]
    Outputs: ClassVar[type[Outputs]]
    type_token: ClassVar[str]  # "<platform>:<Kind>", e.g. "esd:Endpoint"
    delete_before_replace: ClassVar[bool] = False  # e.g. the name is unique on the platform
    # Set once per platform on its base handler: how to read credentials and build the client.
    Settings: ClassVar[type[PlatformSettings]]
    Client: ClassVar[Callable[[Any], Any]]
    # Import (``pulumi import`` / ``import_=``): read(id, None, None) rebuilds the inputs from the
    # platform. A type whose platform has no read API sets ``import_refusal`` to the reason.
    import_refusal: ClassVar[str | None] = None
    # Lifecycle facts for the reference (docs/reference/, written by tools/codegen.py), one sentence
    # each: what the id is, what ``pulumi import`` takes, what a refresh can and cannot see, and (to
    # replace the sentence derived from the ``wait_timeout*`` inputs) how the waits end.
    id_doc: ClassVar[str | None] = None
    import_doc: ClassVar[str | None] = None
    refresh_doc: ClassVar[str | None] = None
    timeouts_doc: ClassVar[str | None] = None

    def __init__(self, config: dynamic.Config | None = None) -> None:
        self.config = config

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "Inputs" in cls.__dict__ and "Outputs" in cls.__dict__:
            clash = set(cls.Inputs.model_fields) & set(cls.Outputs.model_fields)
            if clash:
                raise TypeError(f"{cls.__name__}: {sorted(clash)} declared as both input and output")
        if "type_token" in cls.__dict__:
            HANDLERS[cls.type_token] = cls

    @functools.cached_property
    def settings(self) -> PlatformSettings:
        """Credentials and endpoints from stack config (or the environment); a ConfigError names
        the missing or bad key. Loaded at check, so a configuration mistake fails the preview."""
        return self.Settings.load(self.config)

    @functools.cached_property
    def client(self) -> Any:
        """The platform client, created on first use in the provider process; one per settings."""
        return shared_client(self.Client, self.settings)

    def label(self, inputs: I) -> str:
        """How progress lines and errors name the object before it has an id."""
        name = getattr(inputs, "name", None)
        return f"{self.type_token} {name}" if name else self.type_token

    def check_change(self, olds: I, news: I) -> list[tuple[str, str]]:
        """Rules about a change rather than a value (e.g. "a version is immutable"), checked at
        preview when both old and new inputs are fully known. Returns (property, reason) pairs."""
        return []

    def deletes_first(self, olds: dict[str, Any], news: dict[str, Any]) -> bool:
        """Whether a replacement must delete the old object before creating the new one (e.g. the
        new one would take the same unique name). Canonical input dicts; values may be unknown."""
        return self.delete_before_replace

    def planned_outputs(self, inputs: I) -> dict[str, Any]:
        """Outputs that follow from the inputs alone (a physical name built from the name), known
        in a preview of a create; the rest are unknown until apply. Dependents of a replaced
        object then see the value they will get, instead of an unknown that diffs as a change."""
        return {}

    def create(self, inputs: I) -> Created[O]:
        raise NotImplementedError

    def read(self, id: str, inputs: I, outputs: O) -> Observed[I, O] | None:
        """The object as it is now, or None when it is gone. On import (``is_import(inputs)``)
        ``inputs`` has no field set and ``outputs`` only defaults: everything must come from the
        platform (``as_found`` builds the inputs)."""
        raise NotImplementedError

    @classmethod
    def import_command(cls, name: str, id: str) -> str:
        """The command that adopts an existing object into a stack (the engine's type token)."""
        return f"pulumi import pulumi-python:dynamic/{cls.type_token} {name} {id}"

    def as_found(self, inputs: I | None, seen: dict[str, Any]) -> I:
        """The inputs as the platform shows them: the prior inputs updated with what was seen, or,
        on import (no prior inputs), built from what was seen alone (unset values take defaults)."""
        if is_import(inputs):
            return self.Inputs.model_validate({k: v for k, v in seen.items() if v is not None})
        return inputs.model_copy(update=seen)

    def update(self, id: str, olds: I, news: I, outputs: O) -> O:
        raise ProviderError(f"{self.type_token} cannot be updated in place")

    def delete(self, id: str, inputs: I, outputs: O) -> None:
        raise NotImplementedError


def is_import(inputs: Inputs | None) -> bool:
    """Read called from the id alone (``pulumi import``, ``import_=``): no prior inputs at all."""
    return inputs is None or not inputs.model_fields_set


# Every handler class by type token ("esd:Endpoint"), for import, where no state names the class.
HANDLERS: dict[str, type[Handler]] = {}


def handler_for(type_token: str) -> type[Handler] | None:
    """The handler of ``<platform>:<Kind>``; imports ``providers.<platform>`` when not loaded yet."""
    if type_token not in HANDLERS:
        platform = type_token.partition(":")[0]
        if platform.isidentifier():
            try:
                importlib.import_module(f"providers.{platform}")
            except ImportError:
                return None
    return HANDLERS.get(type_token)
