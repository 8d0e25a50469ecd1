"""Input checking: canonical forms, validation into one CheckFailure per bad property (tolerant of
values unknown during a preview), secret values scrubbed from every failure, and the comparison
of two stored inputs that diff and update share."""

from __future__ import annotations

import functools
import json
import math
from typing import Annotated, Any

from pulumi import dynamic
from pulumi.output import Unknown
from pydantic import BaseModel, TypeAdapter, ValidationError, create_model

from providers.core.fields import Inputs, Marks, RuleError, marks_of


def has_unknown(value: Any) -> bool:
    if isinstance(value, Unknown):
        return True
    if isinstance(value, dict):
        return any(has_unknown(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(has_unknown(v) for v in value)
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
    unknown = {k for k, v in props.items() if has_unknown(v)}
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
        if not has_unknown(out):  # a placeholder copied elsewhere: nothing derived can be trusted
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


def same_value(old: Any, new: Any, marks: Marks) -> bool:
    if isinstance(new, Unknown) or has_unknown(new):
        return False
    if marks.server_default and new is None:
        return True
    if (marks.write_only or marks.local) and old is None:
        return True  # never known (imported): nothing to compare against
    if marks.unordered and isinstance(old, list) and isinstance(new, list):
        return sorted(map(_sort_key, old)) == sorted(map(_sort_key, new))
    return _sort_key(old) == _sort_key(new)
