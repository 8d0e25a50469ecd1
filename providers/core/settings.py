"""Platform credentials and endpoints: stack config first, environment second.

Values are read in the provider process (``configure``), never captured in the
pickled provider, so rotating a secret needs no ``pulumi up`` and nothing secret
reaches ``__provider``.

    class EsdSettings(PlatformSettings):
        namespace = "esd"
        api_key: str = setting(config="apiKey", env=["ESD_API_KEY"], secret=True)
        base_url: str = endpoint_setting(config="apiUrl", env=["ESD_API_URL"], emulator_path="/esd/prod")

Endpoints cannot silently target the wrong place. An endpoint setting has no built-in
default: a stack that targets the emulator says so with ``aimodels:emulator: true``, and then
every unset endpoint defaults to the emulator's URL (``$AIMODELS_EMULATOR_URL``, else
``http://127.0.0.1:$AIMODELS_EMULATOR_PORT``, else port 8787) plus the platform's path prefix.
Without the flag, a required endpoint left unset is a ConfigError naming its key. A platform
that can derive its public endpoint from another explicit setting (a region) declares the
endpoint optional and raises ``RuleError(<field>, <why>)`` from a model validator when neither is
set; the ConfigError then names that field's key too.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from providers.core.errors import ConfigError
from providers.core.fields import RuleError

S = TypeVar("S", bound="PlatformSettings")
C = TypeVar("C")

EMULATOR_FLAG = "aimodels:emulator"  # stack config: true = this stack targets the emulator
DEFAULT_EMULATOR_PORT = 8787
_TRUE, _FALSE = {"true", "yes", "1", "on"}, {"false", "no", "0", "off", ""}


def setting(default: Any = ..., *, config: str, env: list[str] | None = None, secret: bool = False,
            **kwargs: Any) -> Any:
    return Field(default, json_schema_extra={"config": config, "env": env or [], "secret": secret}, **kwargs)


def endpoint_setting(default: Any = ..., *, config: str, emulator_path: str, env: list[str] | None = None,
                     **kwargs: Any) -> Any:
    """An endpoint URL. Unset and ``aimodels:emulator: true``: ``emulator_url() + emulator_path``.
    Unset otherwise: ``default`` (``...`` = required, so a ConfigError naming the key)."""
    extra = {"config": config, "env": env or [], "secret": False, "emulator_path": emulator_path}
    return Field(default, json_schema_extra=extra, **kwargs)


def emulator_enabled(config: Any | None) -> bool:
    """Whether the stack declares that it targets the emulator (``aimodels:emulator``)."""
    value = config.get(EMULATOR_FLAG) if config is not None else None
    if value is None or isinstance(value, bool):
        return bool(value)
    text = str(value).strip().lower()
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    raise ConfigError(f"{EMULATOR_FLAG}: {str(value)[:40]!r} is not true or false")


def emulator_url(environ: dict[str, str] | None = None) -> str:
    """The emulator's base URL: $AIMODELS_EMULATOR_URL, else http://127.0.0.1:$AIMODELS_EMULATOR_PORT (8787)."""
    environ = os.environ if environ is None else environ
    url = (environ.get("AIMODELS_EMULATOR_URL") or "").strip()
    if url:
        if not url.startswith(("http://", "https://")):
            raise ConfigError(f"$AIMODELS_EMULATOR_URL: {url[:60]!r} is not an http(s) URL")
        return url.rstrip("/")
    port = (environ.get("AIMODELS_EMULATOR_PORT") or "").strip() or str(DEFAULT_EMULATOR_PORT)
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"$AIMODELS_EMULATOR_PORT: {port[:20]!r} is not a port number")
    return f"http://127.0.0.1:{int(port)}"


class PlatformSettings(BaseModel):
    model_config = ConfigDict(frozen=True)
    namespace: ClassVar[str]

    @classmethod
    def load(cls: type[S], config: Any | None = None, environ: dict[str, str] | None = None) -> S:
        """Read each field from ``<namespace>:<key>`` in stack config, else its environment variables."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        emulator: bool | None = None  # read once, and only if an endpoint is unset
        for name, field in cls.model_fields.items():
            meta = field.json_schema_extra or {}
            key = f"{cls.namespace}:{meta['config']}"
            value = config.get(key) if config is not None else None
            if value is None:
                value = next((environ[e] for e in meta["env"] if environ.get(e)), None)
            if value is None and meta.get("emulator_path") is not None:
                emulator = emulator_enabled(config) if emulator is None else emulator
                if emulator:
                    value = emulator_url(environ) + meta["emulator_path"]
            if value is not None:
                values[name] = value
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            raise ConfigError(f"{cls.namespace} configuration: " + "; ".join(cls._problems(exc))) from None

    @classmethod
    def _problems(cls, exc: ValidationError) -> list[str]:
        problems = []
        for err in exc.errors():
            rule = (err.get("ctx") or {}).get("error")
            if isinstance(rule, RuleError):
                name, msg = rule.prop, str(rule)
            else:
                name, msg = (str(err["loc"][0]) if err["loc"] else ""), err["msg"]
                msg = msg.removeprefix("Value error, ")
            if name not in cls.model_fields:
                problems.append(msg)
                continue
            meta = cls.model_fields[name].json_schema_extra or {}
            key = f"{cls.namespace}:{meta.get('config', name)}"
            how = f"`pulumi config set{' --secret' if meta.get('secret') else ''} {key} ...`"
            envs = " or ".join(f"${e}" for e in meta.get("env", []))
            hint = f"set it with {how}{' or ' + envs if envs else ''}"
            if meta.get("emulator_path") is not None:
                hint += f", or `pulumi config set {EMULATOR_FLAG} true` on a stack that targets the emulator"
            problems.append(f"{key}: {msg} ({hint})")
        return problems

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
