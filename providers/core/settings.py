"""Platform credentials and endpoints: stack config first, environment second.

Values are read in the provider process (``configure``), never captured in the
pickled provider, so rotating a secret needs no ``pulumi up`` and nothing secret
reaches ``__provider``.

    class EsdSettings(PlatformSettings):
        namespace = "esd"
        api_key: str = setting(config="apiKey", env=["ESD_API_KEY"], secret=True)
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from providers.core.errors import ConfigError

S = TypeVar("S", bound="PlatformSettings")
C = TypeVar("C")


def setting(default: Any = ..., *, config: str, env: list[str] | None = None, secret: bool = False,
            **kwargs: Any) -> Any:
    return Field(default, json_schema_extra={"config": config, "env": env or [], "secret": secret}, **kwargs)


class PlatformSettings(BaseModel):
    model_config = ConfigDict(frozen=True)
    namespace: ClassVar[str]

    @classmethod
    def load(cls: type[S], config: Any | None = None, environ: dict[str, str] | None = None) -> S:
        """Read each field from ``<namespace>:<key>`` in stack config, else its environment variables."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for name, field in cls.model_fields.items():
            meta = field.json_schema_extra or {}
            key = f"{cls.namespace}:{meta['config']}"
            value = config.get(key) if config is not None else None
            if value is None:
                value = next((environ[e] for e in meta["env"] if environ.get(e)), None)
            if value is not None:
                values[name] = value
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            problems = []
            for err in exc.errors():
                name = str(err["loc"][0]) if err["loc"] else "?"
                meta = cls.model_fields[name].json_schema_extra if name in cls.model_fields else {}
                key = f"{cls.namespace}:{meta.get('config', name)}"
                how = f"`pulumi config set{' --secret' if meta.get('secret') else ''} {key} ...`"
                envs = " or ".join(f"${e}" for e in meta.get("env", []))
                problems.append(f"{key}: {err['msg']} (set it with {how}{' or ' + envs if envs else ''})")
            raise ConfigError(f"{cls.namespace} configuration: " + "; ".join(problems)) from None

    def secrets(self) -> list[str]:
        """Secret values, so clients can redact them from any text they pass on."""
        out = []
        for name, field in type(self).model_fields.items():
            if (field.json_schema_extra or {}).get("secret") and getattr(self, name):
                out.append(str(getattr(self, name)))
        return out

    def __repr__(self) -> str:  # never print a secret
        parts = []
        for name, field in type(self).model_fields.items():
            secret = (field.json_schema_extra or {}).get("secret")
            parts.append(f"{name}={'***' if secret else repr(getattr(self, name))}")
        return f"{type(self).__name__}({', '.join(parts)})"

    __str__ = __repr__


_clients: dict[tuple[type, str], Any] = {}
_clients_lock = threading.Lock()


def shared_client(factory: Callable[[S], C], settings: S) -> C:
    """One client (one connection pool) per platform and settings in this process."""
    key = (type(settings), json.dumps(settings.model_dump(mode="json"), sort_keys=True))
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            client = _clients[key] = factory(settings)
        return client
