"""What one environment runs: the schema of the ``aimodels:*`` keys of ``stacks/Pulumi.<stack>.yaml``.

The stack program validates its config with :func:`validate` before it declares any resource,
and the ``aimodels`` command validates a target's config the same way before it writes pins.
A bad value fails with one line naming the stack, the key (as a ``pulumi config --path`` path)
and the rule, e.g. ``stack prod: aimodels:pai.versions[1].approval: Input should be 'Pending',
'Approved' or 'Rejected'``.

Keys are structured YAML (maps and lists), in camelCase like the rest of Pulumi config. A new
platform adds one section model here and one field on :class:`EnvironmentConfig`.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic.alias_generators import to_camel

from aimodels._facts import PATTERNS
from aimodels.policy_rules import is_prod

NAMESPACE = "aimodels"
ENV_PATTERN = r"^[a-z][a-z0-9]{0,9}$"  # short: it prefixes platform names (ESD endpoint names <= 20 chars)
PAI_VERSION_PATTERN = PATTERNS["pai:ModelVersion"]["version_name"]
FABRIC_NAME_PATTERN = PATTERNS["fabric:Model"]["name"]
ESD_RENAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"


class ConfigProblem(ValueError):
    """A stack's config breaks the schema; the message is one line per problem."""


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True, frozen=True)


# -- ESD -----------------------------------------------------------------------------------------
class Autoscaling(Section):
    enabled: bool = False
    min: int | None = Field(None, ge=0)
    max: int | None = Field(None, ge=1)

    @model_validator(mode="after")
    def _range(self) -> Autoscaling:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("min must not exceed max")
        return self


class EsdEndpoint(Section):
    type: Literal["Async", "Real-time"] = "Async"
    instance_type: str = Field("ml.g5.2xlarge", min_length=1)
    initial_instance_count: int = Field(1, ge=1)
    autoscaling: Autoscaling = Autoscaling()


class EsdSection(Section):
    operator_permissions: list[str] = Field(
        ["sagemaker_endpoint:all", "checkpoint:all", "inference:all", "train:all"], min_length=1)
    base_model_url: str = Field("https://models.example.com/sd/v1-5-pruned-emaonly.safetensors",
                                pattern=r"^https?://.+\.(safetensors|ckpt|pt|pth|bin)$")
    endpoint: EsdEndpoint = EsdEndpoint()
    train_epochs: int = Field(1, ge=1, le=100)


# -- PAI model registry -------------------------------------------------------------------------
class PaiVersion(Section):
    """One registered version: pinned by name and content (uri, format, framework)."""

    name: str = Field(pattern=PAI_VERSION_PATTERN)
    uri: str = Field(pattern=r"^(https?|oss)://.+")
    format: str = "SavedModel"
    framework: str = "Pytorch"
    approval: Literal["Pending", "Approved", "Rejected"] = "Pending"


class PaiSection(Section):
    accessibility: Literal["PRIVATE", "PUBLIC"] = "PRIVATE"
    workspace_id: str | None = None
    versions: list[PaiVersion] = Field([], description="oldest first")
    current: str | None = Field(None, description="the version this environment serves (an alias: that "
                                                  "version carries the label alias=current); unset: the last listed")

    @model_validator(mode="after")
    def _unique(self) -> PaiSection:
        _unique_names([v.name for v in self.versions])
        if self.current is not None and self.current not in {v.name for v in self.versions}:
            raise ValueError(f"current {self.current!r} is not one of the listed versions")
        return self

    @property
    def current_name(self) -> str | None:
        return self.current or (self.versions[-1].name if self.versions else None)


# -- DataArts Fabric ------------------------------------------------------------------------------
class FabricVersion(Section):
    name: str = Field(pattern=FABRIC_NAME_PATTERN)
    base_model_type: str = Field(min_length=1)
    model_path: str | None = Field(None, pattern=r"^obs://[^/]+/.+")
    description: str | None = None


class FabricSection(Section):
    workspace: str = Field("emulator-workspace", min_length=1)
    versions: list[FabricVersion] = Field(min_length=1, description="oldest first")
    current: str | None = Field(None, description="name of the current version; unset: the last listed")

    @model_validator(mode="after")
    def _current(self) -> FabricSection:
        _unique_names([v.name for v in self.versions])
        if self.current is not None and self.current not in {v.name for v in self.versions}:
            raise ValueError(f"current {self.current!r} is not one of the listed versions")
        return self

    @property
    def current_name(self) -> str:
        return self.current or self.versions[-1].name


def _unique_names(names: list[str]) -> None:
    seen = {n for n in names if names.count(n) > 1}
    if seen:
        raise ValueError(f"version names must be unique (repeated: {', '.join(sorted(seen))})")


# -- ZStack (on-premises; declared when zstack:endpoint or zstack:host is set) -------------------------
class ZStackSection(Section):
    center_url: str = Field("192.168.10.12:/ai/model_center", min_length=1, description="NFS export host:/path")
    center_ip: str = Field("192.168.10.12", min_length=1)
    center_port: int = Field(8989, ge=1, le=65535)
    model_path: str = Field("192.168.10.12:/ai/model_center/Qwen_1.5_32B", min_length=1)
    model_description: str = "Qwen 1.5 32B chat model"
    gpu_num: str = Field("2", pattern=r"^\d+$")


# -- AI Creation Workshop (declared when workshop:appKey is set) ----------------------------------------
class WorkshopSection(Section):
    version: str = Field("1.0", min_length=1, description="the synced model version")


# -- the whole environment ----------------------------------------------------------------------
class EnvironmentConfig(Section):
    environment: str = Field(pattern=ENV_PATTERN,
                             description="prefixes every platform name, so environments can share an account")
    emulator: bool = False
    engineer_password: Any = None  # secret; checked for presence by the program, never printed
    esd: EsdSection = EsdSection()
    pai: PaiSection = PaiSection()
    fabric: FabricSection = FabricSection(versions=[FabricVersion(name="v1", base_model_type="QWEN2_5_7B")])
    zstack: ZStackSection = ZStackSection()
    workshop: WorkshopSection = WorkshopSection()

    @property
    def is_prod(self) -> bool:
        return is_prod(self.environment)


FIELDS = {(f.alias or name) for name, f in EnvironmentConfig.model_fields.items()}


def _path(loc: tuple[Any, ...]) -> str:
    out = f"{NAMESPACE}:"
    for i, part in enumerate(loc):
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if i else "") + str(part)
    return out


def _truthy(value: Any) -> Any:
    """Pulumi stores `pulumi config set k true` as the string "true"; YAML files hold real booleans."""
    return {"true": True, "false": False}.get(value, value) if isinstance(value, str) else value


def validate(stack: str, values: dict[str, Any]) -> EnvironmentConfig:
    """Validate the ``aimodels:*`` values of one stack (keys without the namespace).

    ``environment`` defaults to the stack name. Raises :class:`ConfigProblem` naming the stack,
    each bad key and its rule.
    """
    data = dict(values)
    data.setdefault("environment", stack)
    if "emulator" in data:
        data["emulator"] = _truthy(data["emulator"])
    problems = [f"{_path((k,))}: unknown key (known: {', '.join(sorted(FIELDS))})"
                for k in sorted(set(data) - FIELDS)]
    for k in set(data) - FIELDS:
        data.pop(k)
    try:
        config = EnvironmentConfig.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
            msg = re.sub(r"^Value error, ", "", err["msg"])
            if err["type"] == "extra_forbidden":
                msg = "unknown key"
            problems.append(f"{_path(loc)}: {msg}")
        config = None
    if problems:
        raise ConfigProblem("; ".join(f"stack {stack}: {p}" for p in problems))
    assert config is not None
    return config


def from_stack_file(stack: str, document: dict[str, Any] | None) -> EnvironmentConfig:
    """Validate the parsed YAML of ``Pulumi.<stack>.yaml``."""
    return validate(stack, namespace_values(document))


def namespace_values(document: dict[str, Any] | None) -> dict[str, Any]:
    config = (document or {}).get("config") or {}
    prefix = f"{NAMESPACE}:"
    return {k[len(prefix):]: v for k, v in config.items() if k.startswith(prefix)}
