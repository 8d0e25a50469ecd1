"""The resource framework: the only code that speaks the dynamic-provider protocol.

A platform author writes, per resource:

    class RoleInputs(Inputs): ...            # what the user sets (fields carry their marks)
    class RoleOutputs(Outputs): ...          # what the platform returns
    class RoleHandler(EsdHandler[RoleInputs, RoleOutputs]):
        type_token = "esd:Role"
        def create(self, inputs) -> Created[RoleOutputs]: ...
        def read(self, id, inputs, outputs) -> Observed | None: ...
        def update(self, id, olds, news, outputs) -> RoleOutputs: ...
        def delete(self, id, inputs, outputs) -> None: ...
    class Role(Resource, handler=RoleHandler):
        creator: pulumi.Output[str]

and gets, from the declarations: check (one CheckFailure per bad property, tolerant of
unknowns during preview, canonical forms), diff over declared inputs with replaces from
the field marks, complete outputs from update, ReadResult(None, {}) for vanished objects,
secret inputs and outputs, and one-line errors naming the resource and the call.
"""

from __future__ import annotations

import functools
import importlib
import json
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Generic, TypeVar

import pulumi
from pulumi import dynamic
from pulumi.output import Unknown
from pydantic import BaseModel, TypeAdapter, ValidationError, create_model

from providers.core import runtime
from providers.core.errors import CreatedButFailed, NotFoundError, ProviderError, ResourceError, UpdatedButFailed
from providers.core.fields import Inputs, Marks, Outputs, RuleError, marks_of
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


# -- canonical forms and validation -------------------------------------------------

def _has_unknown(value: Any) -> bool:
    if isinstance(value, Unknown):
        return True
    if isinstance(value, dict):
        return any(_has_unknown(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_has_unknown(v) for v in value)
    return False


def _plain(value: Any) -> Any:
    """Numbers cross the engine's wire as doubles (1 comes back as 1.0): compare them as numbers."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _sort_key(value: Any) -> str:
    return json.dumps(_plain(value), sort_keys=True)


def _sort_unordered(model_cls: type[BaseModel], data: dict[str, Any]) -> dict[str, Any]:
    for name, field in model_cls.model_fields.items():
        if name in data and marks_of(field).unordered and isinstance(data[name], list):
            unique = {_sort_key(v): v for v in data[name]}
            data[name] = [unique[k] for k in sorted(unique)]
    return data


def canonical(model: BaseModel) -> dict[str, Any]:
    """The JSON form stored in state: defaults applied, unordered lists sorted and de-duplicated."""
    return _sort_unordered(type(model), model.model_dump(mode="json"))


@functools.lru_cache(maxsize=None)
def _field_adapter(model_cls: type[BaseModel], name: str) -> TypeAdapter:
    field = model_cls.model_fields[name]
    return TypeAdapter(Annotated[field.annotation, field])


def _loc_text(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _secret_fields(model_cls: type[BaseModel]) -> frozenset[str]:
    return frozenset(n for n, f in model_cls.model_fields.items() if marks_of(f).secret)


# What a secret property's failure says: pydantic's own text may quote the input, so a secret
# gets words chosen here (or, for rules written by hand, their text with the value scrubbed).
_SECRET_RULES = {
    "missing": "is required", "string_type": "must be a string", "int_type": "must be an integer",
    "int_parsing": "must be an integer", "float_type": "must be a number", "float_parsing": "must be a number",
    "bool_type": "must be true or false", "bool_parsing": "must be true or false",
    "dict_type": "must be an object", "list_type": "must be a list", "string_too_short": "is too short",
    "string_too_long": "is too long", "string_pattern_mismatch": "does not have the required form",
    "literal_error": "is not one of the allowed values", "enum": "is not one of the allowed values",
}


def _leaves(value: Any) -> list[str]:
    """Every text a value could be printed as, longest first (to scrub it from a message)."""
    out: list[str] = []
    if isinstance(value, dict):
        for k, v in value.items():
            out += [str(k), *_leaves(v)]
    elif isinstance(value, (list, tuple)):
        for v in value:
            out += _leaves(v)
    elif value is not None:
        out += [str(value), repr(value)]
    return sorted({t for t in out if t}, key=len, reverse=True)


def _scrub(text: str, value: Any) -> str:
    for leaf in _leaves(value):
        text = text.replace(leaf, "***")
    return text


def _failure(prop: str, reason: str, secret: frozenset[str], value: Any = None) -> dynamic.CheckFailure:
    """One CheckFailure. For a secret property that has a value the engine would print that value
    next to the reason ("property password value {...}"), so it is named in the reason instead."""
    if prop in secret and value is not None:
        return dynamic.CheckFailure("", _scrub(reason if reason.startswith(prop) else f"{prop}: {reason}", value))
    return dynamic.CheckFailure(prop or "(resource)", reason)


def failures_from(exc: ValidationError, prefix: tuple[str, ...] = (), secret: frozenset[str] = frozenset(),
                  values: dict[str, Any] | None = None) -> list[dynamic.CheckFailure]:
    """One CheckFailure per problem, naming the top-level property and the rule in words.
    Properties in ``secret`` never have their value (or pydantic's quote of it) in the text."""
    failures = []
    for err in exc.errors():
        loc = prefix + tuple(err.get("loc") or ())
        ctx_error = (err.get("ctx") or {}).get("error")
        prop = ctx_error.prop if isinstance(ctx_error, RuleError) else (str(loc[0]) if loc else "")
        msg = str(ctx_error) if isinstance(ctx_error, RuleError) else err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "is not a property of this resource"
        elif err["type"] == "missing":
            msg = "is required"
        if prop in secret:
            if not isinstance(ctx_error, RuleError):
                msg = _SECRET_RULES.get(err["type"], f"is not valid ({err['type']})")
            failures.append(_failure(prop, msg, secret, (values or {}).get(prop)))
            continue
        path = _loc_text(tuple(loc)) if loc else prop
        reason = f"{path}: {msg}" if path and path != prop else msg
        failures.append(_failure(prop, reason, secret))
    return failures


def _json_problem(value: Any, path: str) -> str | None:
    """Why a value cannot travel as JSON (an asset, an object, Infinity/NaN), or None."""
    if value is None or isinstance(value, (str, bool, int)) or isinstance(value, Unknown):
        return None
    if isinstance(value, float):
        if math.isfinite(value):
            return None
        word = "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
        return f"{path}: {word} is not a JSON number (Infinity and NaN are refused)"
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                return f"{path}: object keys must be strings"
            problem = _json_problem(v, f"{path}.{k}")
            if problem:
                return problem
        return None
    if isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            problem = _json_problem(v, f"{path}[{i}]")
            if problem:
                return problem
        return None
    return (f"{path}: a {type(value).__name__} is not allowed here; give plain values "
            "(strings, numbers, booleans, lists and objects)")


def check_inputs(model_cls: type[Inputs], props: dict[str, Any]) -> tuple[dict[str, Any], list[dynamic.CheckFailure]]:
    """Validate and canonicalise; unknown (preview) values pass through untouched.

    Never raises for bad input: values that are not plain JSON (assets, Infinity/NaN) and
    values a validator chokes on become CheckFailures too, and no failure text carries the
    value of a secret property.
    """
    secret = _secret_fields(model_cls)
    failures: list[dynamic.CheckFailure] = []
    bad: set[str] = set()
    for name, value in props.items():
        problem = _json_problem(value, name)
        if problem:
            bad.add(name)
            reason = problem.split(": ", 1)[1] if name in secret else problem  # no nested keys of a secret
            failures.append(_failure(name, reason, secret, value))
    unknown = {k for k, v in props.items() if _has_unknown(v)}
    known = {k: v for k, v in props.items() if k not in unknown and k not in bad}
    if not unknown and not failures:
        try:
            return canonical(model_cls.model_validate(known)), []
        except ValidationError as exc:
            return dict(props), failures_from(exc, secret=secret, values=props)
        except Exception:  # noqa: BLE001 - a validator or serializer choked: find the property below
            pass
    # Validate each known value against its own field (cross-field rules wait until every value
    # is known and valid).
    out: dict[str, Any] = {}
    for name, value in known.items():
        if name not in model_cls.model_fields:
            failures.append(_failure(name, "is not a property of this resource", secret))
            continue
        adapter = _field_adapter(model_cls, name)
        try:
            out[name] = adapter.dump_python(adapter.validate_python(value), mode="json")
        except ValidationError as exc:
            failures.extend(failures_from(exc, prefix=(name,), secret=secret, values=props))
        except Exception as exc:  # noqa: BLE001
            failures.append(_failure(name, f"could not be validated ({type(exc).__name__})", secret, value))
    if failures:
        return dict(props), failures
    if not unknown:  # every field passed alone, so a cross-field rule or the model itself failed
        try:
            return canonical(model_cls.model_validate(known)), []
        except ValidationError as exc:
            return dict(props), failures_from(exc, secret=secret, values=props)
        except Exception as exc:  # noqa: BLE001
            return dict(props), [dynamic.CheckFailure("", f"the inputs could not be validated ({type(exc).__name__})")]
    missing = [n for n, f in model_cls.model_fields.items() if n not in props and f.is_required()]
    if missing:  # absent whatever the unknowns turn out to be
        return dict(props), [_failure(n, "is required", secret) for n in missing]
    out = _with_unknowns(model_cls, out, {k: props[k] for k in unknown})
    return out, []


_PENDING = Unknown()  # what a model validator sees in place of a value not known until apply


def _identity_validator(mode: str) -> Any:
    if mode == "after":
        return lambda self, *_: self
    if mode == "wrap":
        return classmethod(lambda cls, data, handler, *_: handler(data))
    return classmethod(lambda cls, data, *_: data)


@functools.lru_cache(maxsize=None)
def _pending_model(model_cls: type[Inputs], pending: frozenset[str], rules: bool) -> type[Inputs]:
    """``model_cls`` with the ``pending`` fields accepting anything, so the rest validates as usual;
    without ``rules``, the model-level validators (cross-field rules) do nothing either."""
    fields: dict[str, Any] = {n: (Any, None) for n in pending}
    model = create_model(f"{model_cls.__name__}Pending", __base__=model_cls, **fields)
    if not rules:
        validators = model_cls.__pydantic_decorators__.model_validators
        model = type(f"{model_cls.__name__}PendingFields", (model,),
                     {name: _identity_validator(dec.info.mode) for name, dec in validators.items()})
    return model


def _with_unknowns(model_cls: type[Inputs], known: dict[str, Any], unknown: dict[str, Any]) -> dict[str, Any]:
    """The canonical inputs while some values are unknown: the same keys, defaults and derived
    values as when every value is known (so a preview diffs what ``up`` will diff), with the
    unknown values as they are. The model is validated with a placeholder for each unknown value;
    when a cross-field rule cannot run without the value, the fields and defaults are validated
    without the model's rules (those run once every value is known)."""
    data = {**known, **dict.fromkeys(unknown, _PENDING)}
    out = None
    for rules in (True, False):
        try:
            model = _pending_model(model_cls, frozenset(unknown), rules).model_validate(data)
            out = model.model_dump(mode="json", exclude=set(unknown))
        except Exception:  # noqa: BLE001 - a rule that needs the unknown value
            continue
        if not _has_unknown(out):  # a placeholder copied elsewhere: nothing derived can be trusted
            break
        out = None
    if out is None:
        out = dict(known)
        for name, field in model_cls.model_fields.items():
            if name in known or name in unknown or field.is_required():
                continue
            adapter = _field_adapter(model_cls, name)
            try:
                out[name] = adapter.dump_python(field.get_default(call_default_factory=True), mode="json")
            except Exception:  # noqa: BLE001 - a default that cannot be dumped: leave it to the engine
                continue
    out = _sort_unordered(model_cls, out)
    out.update(unknown)
    return out


def _same(old: Any, new: Any, marks: Marks) -> bool:
    if isinstance(new, Unknown) or _has_unknown(new):
        return False
    if marks.server_default and new is None:
        return True
    if (marks.write_only or marks.local) and old is None:
        return True  # never known (imported): nothing to compare against
    if marks.unordered and isinstance(old, list) and isinstance(new, list):
        return sorted(map(_sort_key, old)) == sorted(map(_sort_key, new))
    return _sort_key(old) == _sort_key(new)


# -- the protocol adapter --------------------------------------------------------------

# Marks the state of a create that failed after the platform accepted the object.
INIT_ERROR_KEY = "__init_error"
UPDATE_ERROR_KEY = "__update_error"  # an update the platform took but that then failed: run it again
# Inputs a refresh could not compare with the platform (``Observed.unseen``): the next up sends them.
UNSEEN_KEY = "__unseen"
# The engine's wire value for "not known until apply".
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
_impl_lock = threading.Lock()


def _guarded(op: str) -> Callable:
    """Turn any failure into one line naming the resource; keep bug tracebacks as the cause."""

    def wrap(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def inner(self: DynamicProvider, *args: Any) -> Any:
            try:
                return fn(self, *args)
            except ProviderError as exc:
                raise ResourceError(f"{self._what(args)} {op} failed: {exc.message}", cause=exc) from None
            except Exception as exc:  # a bug: say so, keep the trace as the cause
                raise ResourceError(
                    f"{self._what(args)} {op} failed with an unexpected {type(exc).__name__}: {exc}", cause=exc
                ) from exc

        return inner

    return wrap


class DynamicProvider(dynamic.ResourceProvider):
    """Pickled into state by reference: only ``handler`` (a class reference) is in ``__dict__``."""

    serialize_as_secret_always = False  # nothing secret is ever captured; see tests

    def __init__(self, handler: type[Handler]) -> None:
        self.handler = handler

    # Created lazily in the provider process; never pickled.
    def configure(self, req: dynamic.ConfigureRequest) -> None:
        self.__dict__["_config"] = req.config
        self.__dict__.pop("_impl", None)

    @property
    def impl(self) -> Handler:
        impl = self.__dict__.get("_impl")
        if impl is None:
            with _impl_lock:  # calls run concurrently: one handler (one client) per provider
                impl = self.__dict__.get("_impl")
                if impl is None:
                    impl = self.__dict__["_impl"] = self.handler(self.__dict__.get("_config"))
        return impl

    def __getstate__(self) -> dict[str, Any]:
        return {"handler": self.handler}

    def _what(self, args: tuple[Any, ...]) -> str:
        """Name the object in errors: by id once it has one, else as the handler labels its inputs."""
        if args and isinstance(args[0], str) and args[0]:
            return f"{self.handler.type_token} {args[0]}"
        if args and isinstance(args[-1], dict):
            fields = self.handler.Inputs.model_fields
            try:
                draft = self.handler.Inputs.model_construct(**{k: v for k, v in args[-1].items() if k in fields})
                return self.impl.label(draft)
            except Exception:  # labelling must never hide the real error
                pass
        return self.handler.type_token

    # -- helpers over declared fields
    def _input_fields(self) -> dict[str, Marks]:
        return {n: marks_of(f) for n, f in self.handler.Inputs.model_fields.items()}

    def _stored_inputs(self, state: dict[str, Any]) -> dict[str, Any]:
        """Declared inputs in canonical form. The engine's wire drops None values and turns
        integers into doubles, so both sides of a diff are re-canonicalised before comparing."""
        fields = self.handler.Inputs.model_fields
        raw = {k: v for k, v in state.items() if k in fields}
        if _has_unknown(raw):
            return raw
        try:
            stored = canonical(self.handler.Inputs.model_validate(raw))
        except ValidationError:
            return raw  # written by an older schema: compare as stored
        # A provider knob or a write-only value absent from state (an import) is unknown, not its default.
        for name, marks in self._input_fields().items():
            if (marks.local or marks.write_only) and name not in raw:
                stored.pop(name, None)
        return stored

    def _load(self, state: dict[str, Any]) -> tuple[Inputs, Outputs]:
        fields = self.handler.Inputs.model_fields
        raw = {k: v for k, v in state.items() if k in fields}
        try:
            inputs = self.handler.Inputs.model_validate(raw)
        except ValidationError:
            inputs = self.handler.Inputs.model_construct(**raw)
        outs = {k: v for k, v in state.items() if k in self.handler.Outputs.model_fields}
        return inputs, self.handler.Outputs.model_validate(outs)

    def _state(self, inputs: Inputs, outputs: Outputs) -> dict[str, Any]:
        return {**canonical(inputs), **outputs.model_dump(mode="json")}

    # -- the protocol
    @_guarded("check")
    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> dynamic.CheckResult:
        outputs = self.handler.Outputs.model_fields
        props = {k: v for k, v in news.items()
                 if not k.startswith("__") and not (k in outputs and v is None)}
        inputs, failures = check_inputs(self.handler.Inputs, props)
        old = {k: v for k, v in olds.items() if k in self.handler.Inputs.model_fields}
        if old and not failures and not _has_unknown(inputs) and not _has_unknown(old):
            try:
                before = self.handler.Inputs.model_validate(old)
            except ValidationError:
                before = None  # state from an older schema: nothing to compare against
            if before is not None:
                after = self.handler.Inputs.model_validate(inputs)
                failures = [dynamic.CheckFailure(p, r) for p, r in self.impl.check_change(before, after)]
        if not failures and "_config" in self.__dict__ and getattr(self.handler, "Settings", None) is not None:
            self.impl.settings  # noqa: B018 - a configuration mistake fails the preview, naming the key
        return dynamic.CheckResult(inputs, failures)

    @_guarded("diff")
    def diff(self, id: str, olds: dict[str, Any], news: dict[str, Any]) -> dynamic.DiffResult:
        """Changes over declared inputs only. Besides the stock fields, the result carries
        ``detailed`` ({property: "add"|"delete"|"update", with "-replace" when it forces one}) and
        ``stables`` (what an in-place update leaves as it is), which the project's server sends."""
        fields = self._input_fields()
        old, new = self._stored_inputs(olds), self._stored_inputs(news)
        changed = [n for n, m in fields.items() if not _same(old.get(n), new.get(n), m)]
        if INIT_ERROR_KEY in olds:
            # A create that failed after the platform accepted the object: replace it. Every changed
            # input is shown (as forcing the replacement); with none, the failed create is the reason.
            replaces = changed or [INIT_ERROR_KEY]
            result = dynamic.DiffResult(changes=True, replaces=replaces, stables=[],
                                        delete_before_replace=self.impl.deletes_first(old, new))
            result.detailed = {  # type: ignore[attr-defined]
                n: ("add" if n in changed and old.get(n) is None else
                    "delete" if n in changed and new.get(n) is None else "update") + "-replace"
                for n in replaces}
            return result
        unseen = [n for n in olds.get(UNSEEN_KEY) or [] if n in fields and n not in changed]
        changed += unseen  # the platform cannot show them (no read API): up sends them again
        replaces = [n for n in changed if fields[n].replace]
        if UPDATE_ERROR_KEY in olds and not replaces:
            # The last update failed after the platform took it: run it again, even with no change.
            result = dynamic.DiffResult(changes=True, replaces=[], stables=[])
            result.detailed = {**{n: "update" for n in changed}, UPDATE_ERROR_KEY: "delete"}  # type: ignore[attr-defined]
            return result
        detailed = {}
        for n in changed:
            was, now = old.get(n), new.get(n)
            kind = "add" if was is None else ("delete" if now is None else "update")
            detailed[n] = f"{kind}-replace" if n in replaces else kind
        stables = [] if replaces else self._stables(set(changed))
        result = dynamic.DiffResult(
            changes=bool(changed),
            replaces=replaces,
            stables=stables,
            delete_before_replace=self.impl.deletes_first(old, new) if replaces else None,
        )
        result.detailed = detailed  # type: ignore[attr-defined]
        return result

    def with_write_only(self, olds: dict[str, Any], old_inputs: dict[str, Any]) -> dict[str, Any]:
        """Old state plus the write-only inputs it lacks, taken from the old inputs."""
        missing = {n: old_inputs[n] for n, m in self._input_fields().items()
                   if m.write_only and olds.get(n) is None and old_inputs.get(n) is not None}
        return {**olds, **missing} if missing else olds

    def _stables(self, changed: set[str]) -> list[str]:
        """Inputs an in-place update leaves alone, and outputs it cannot change."""
        outs = self.handler.Outputs.model_fields
        keep = [n for n in self.handler.Inputs.model_fields if n not in changed]
        keep += [n for n, f in outs.items() if not marks_of(f).changes_on(changed)]
        return sorted(keep)

    # -- previews (the project's server only: the engine asks the provider what up will produce)
    def preview_create(self, news: dict[str, Any]) -> dict[str, Any]:
        """What create will store: the checked inputs as they are, every output unknown."""
        state = {k: v for k, v in news.items() if k in self.handler.Inputs.model_fields}
        state.update({k: UNKNOWN for k in self.handler.Outputs.model_fields})
        raw = {k: v for k, v in state.items() if k in self.handler.Inputs.model_fields}
        if not _has_unknown(raw):
            try:
                planned = self.impl.planned_outputs(self.handler.Inputs.model_validate(raw))
            except Exception:  # noqa: BLE001 - a plan is a courtesy: unknown is always true
                planned = {}
            state.update({k: v for k, v in planned.items() if k in self.handler.Outputs.model_fields})
        return state

    def preview_update(self, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        """What update will store: the new inputs, stable outputs as they are, the rest unknown."""
        fields = self._input_fields()
        old, new = self._stored_inputs(olds), self._stored_inputs(news)
        changed = {n for n, m in fields.items() if not _same(old.get(n), new.get(n), m)}
        changed |= set(olds.get(UNSEEN_KEY) or []) & set(fields)
        state = {k: v for k, v in news.items() if k in fields}
        for name, field in self.handler.Outputs.model_fields.items():
            if marks_of(field).changes_on(changed):
                state[name] = UNKNOWN
            elif name in olds:
                state[name] = olds[name]
        return state

    @_guarded("create")
    def create(self, props: dict[str, Any]) -> dynamic.CreateResult:
        inputs = self.handler.Inputs.model_validate({k: v for k, v in props.items() if not k.startswith("__")})
        try:
            created = self.impl.create(inputs)
        except CreatedButFailed as exc:
            if runtime.partial_state_supported:
                raise  # the server records the object as a failed create (replaced on the next up)
            # The stock server cannot record a half-made object: clean it up, or say exactly what is left.
            if exc.cleanup is None:
                how = "by hand" if self.handler.import_refusal else "by hand or import it"
                raise ProviderError(f"{exc.message}; it was kept on the platform: remove {exc.id} {how}") from None
            try:
                exc.cleanup()
            except ProviderError as cleanup_error:
                raise ProviderError(f"{exc.message}; removing {exc.id} failed too, remove it by hand: "
                                    f"{cleanup_error.message}") from None
            raise ProviderError(f"{exc.message}; {exc.id} was removed again") from None
        return dynamic.CreateResult(created.id, self._state(inputs, created.outputs))

    def failed_create_state(self, props: dict[str, Any], exc: CreatedButFailed) -> dict[str, Any]:
        """The state recorded for a create that failed after the platform accepted the object."""
        fields = self.handler.Inputs.model_fields
        inputs = {k: v for k, v in props.items() if k in fields}
        outputs = exc.outputs.model_dump(mode="json") if isinstance(exc.outputs, BaseModel) else {}
        return {**inputs, **outputs, INIT_ERROR_KEY: exc.message}

    @_guarded("read")
    def read(self, id: str, props: dict[str, Any]) -> dynamic.ReadResult:
        if not any(k in props for k in self.handler.Inputs.model_fields):
            return self.import_read(id)
        inputs, outputs = self._load(props)
        try:
            seen = self.impl.read(id, inputs, outputs)
        except NotFoundError:
            seen = None
        if seen is None:
            return dynamic.ReadResult(None, {})
        state = self._state(seen.inputs, seen.outputs)
        if seen.unseen:
            state[UNSEEN_KEY] = sorted(seen.unseen)
        for key in (INIT_ERROR_KEY, UPDATE_ERROR_KEY):  # still failed: keep it marked (replace / update again)
            if key in props:
                state[key] = props[key]
        return dynamic.ReadResult(id, state, canonical(seen.inputs))

    def import_read(self, id: str) -> dynamic.ReadResult:
        """Read an object no state describes yet (``pulumi import``, ``import_=``): by id alone."""
        if self.handler.import_refusal:
            raise ProviderError(f"cannot be imported: {self.handler.import_refusal}")
        try:
            seen = self.impl.read(id, self.handler.Inputs.model_construct(), self.handler.Outputs())
        except NotFoundError:
            seen = None
        if seen is None:
            raise ProviderError(f"cannot be imported: no {self.handler.type_token} with id {id} exists")
        # Knobs of the provider (a wait deadline), and write-only values the platform did not show,
        # are not known here: leave them to the program.
        found = seen.inputs.model_fields_set
        local = {n for n, m in self._input_fields().items() if m.local or (m.write_only and n not in found)}
        state = {k: v for k, v in self._state(seen.inputs, seen.outputs).items() if k not in local}
        inputs = {k: v for k, v in canonical(seen.inputs).items() if k not in local}
        return dynamic.ReadResult(id, state, inputs)

    @_guarded("update")
    def update(self, id: str, olds: dict[str, Any], news: dict[str, Any]) -> dynamic.UpdateResult:
        old_inputs, outputs = self._load(olds)
        new_inputs = self.handler.Inputs.model_validate({k: v for k, v in news.items() if not k.startswith("__")})
        old, new = canonical(old_inputs), canonical(new_inputs)
        fields = self._input_fields()
        unseen = set(olds.get(UNSEEN_KEY) or [])
        real = [n for n, m in fields.items()
                if not m.local and (n in unseen or not _same(old.get(n), new.get(n), m))]
        if real or UPDATE_ERROR_KEY in olds:
            try:
                outputs = self.impl.update(id, old_inputs, new_inputs, outputs)
            except UpdatedButFailed as exc:
                if runtime.partial_state_supported:
                    raise  # the server records the outputs seen with the error
                raise ProviderError(f"{exc.message}; the platform has the new values, but the stock provider "
                                    "server cannot record that, so state still shows the last good update "
                                    "until the next `pulumi up` retries it") from None
        return dynamic.UpdateResult(self._state(new_inputs, outputs))

    def failed_update_state(self, news: dict[str, Any], exc: UpdatedButFailed) -> dict[str, Any]:
        """The state recorded for an update that failed after the platform took the change."""
        fields = self.handler.Inputs.model_fields
        inputs = {k: v for k, v in news.items() if k in fields}
        outputs = exc.outputs.model_dump(mode="json") if isinstance(exc.outputs, BaseModel) else {}
        return {**inputs, **outputs, UPDATE_ERROR_KEY: exc.message}

    @_guarded("delete")
    def delete(self, id: str, props: dict[str, Any]) -> None:
        inputs, outputs = self._load(props)
        try:
            self.impl.delete(id, inputs, outputs)
        except NotFoundError:
            pass  # already gone: the desired end state


# -- the program side ---------------------------------------------------------------------

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
