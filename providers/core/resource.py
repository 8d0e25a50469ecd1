"""The protocol adapter: the only code that speaks the dynamic-provider protocol.

``DynamicProvider`` turns a handler (providers/core/handler.py) into the SDK's
``ResourceProvider``, and gets from the declarations: check (providers/core/checks.py), diff over
declared inputs with replaces from the field marks, complete outputs from update,
ReadResult(None, {}) for vanished objects, failed creates and updates recorded, and one-line
errors naming the resource and the call.

Its module path is pickled into every stack's state (``__provider``): ``DynamicProvider`` stays
importable as ``providers.core.resource.DynamicProvider``.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

from pulumi import dynamic
from pydantic import BaseModel, ValidationError

from providers.core import runtime
from providers.core.checks import canonical, check_inputs, has_unknown, same_value
from providers.core.errors import CreatedButFailed, NotFoundError, ProviderError, ResourceError, UpdatedButFailed
from providers.core.fields import Inputs, Marks, Outputs, marks_of
from providers.core.handler import HANDLERS, Handler, handler_for

__all__ = ["HANDLERS", "INIT_ERROR_KEY", "UNKNOWN", "UNSEEN_KEY", "UPDATE_ERROR_KEY", "DetailedDiff",
           "DynamicProvider", "handler_for"]


# Marks the state of a create that failed after the platform accepted the object.
INIT_ERROR_KEY = "__init_error"
UPDATE_ERROR_KEY = "__update_error"  # an update the platform took but that then failed: run it again
# Inputs a refresh could not compare with the platform (``Observed.unseen``): the next up sends them.
UNSEEN_KEY = "__unseen"
# The engine's wire value for "not known until apply".
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
_impl_lock = threading.Lock()


class DetailedDiff(dynamic.DiffResult):
    """A diff that also says how each property changes: ``detailed`` is {property: "add" |
    "delete" | "update"}, with "-replace" when the change forces a replacement. The project's
    server sends it as the engine's detailed diff; the stock server sends the stock fields."""

    def __init__(self, detailed: dict[str, str], *, changes: bool | None = None, replaces: list[str] | None = None,
                 stables: list[str] | None = None, delete_before_replace: bool | None = None) -> None:
        super().__init__(changes=changes, replaces=replaces, stables=stables,
                         delete_before_replace=delete_before_replace)
        self.detailed = detailed


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
        if has_unknown(raw):
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
        if old and not failures and not has_unknown(inputs) and not has_unknown(old):
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
    def diff(self, id: str, olds: dict[str, Any], news: dict[str, Any]) -> DetailedDiff:
        """Changes over declared inputs only, as a ``DetailedDiff``: besides the stock fields, the
        detailed diff and ``stables`` (what an in-place update leaves as it is)."""
        fields = self._input_fields()
        old, new = self._stored_inputs(olds), self._stored_inputs(news)
        changed = [n for n, m in fields.items() if not same_value(old.get(n), new.get(n), m)]
        if INIT_ERROR_KEY in olds:
            # A create that failed after the platform accepted the object: replace it. Every changed
            # input is shown (as forcing the replacement); with none, the failed create is the reason.
            replaces = changed or [INIT_ERROR_KEY]
            return DetailedDiff(
                {n: ("add" if n in changed and old.get(n) is None else
                     "delete" if n in changed and new.get(n) is None else "update") + "-replace"
                 for n in replaces},
                changes=True, replaces=replaces, stables=[], delete_before_replace=self.impl.deletes_first(old, new))
        unseen = [n for n in olds.get(UNSEEN_KEY) or [] if n in fields and n not in changed]
        changed += unseen  # the platform cannot show them (no read API): up sends them again
        replaces = [n for n in changed if fields[n].replace]
        if UPDATE_ERROR_KEY in olds and not replaces:
            # The last update failed after the platform took it: run it again, even with no change.
            return DetailedDiff({**{n: "update" for n in changed}, UPDATE_ERROR_KEY: "delete"},
                                changes=True, replaces=[], stables=[])
        detailed = {}
        for n in changed:
            was, now = old.get(n), new.get(n)
            kind = "add" if was is None else ("delete" if now is None else "update")
            detailed[n] = f"{kind}-replace" if n in replaces else kind
        stables = [] if replaces else self._stables(set(changed))
        return DetailedDiff(
            detailed,
            changes=bool(changed),
            replaces=replaces,
            stables=stables,
            delete_before_replace=self.impl.deletes_first(old, new) if replaces else None,
        )

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
        if not has_unknown(raw):
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
        changed = {n for n, m in fields.items() if not same_value(old.get(n), new.get(n), m)}
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
                if not m.local and (n in unseen or not same_value(old.get(n), new.get(n), m))]
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
