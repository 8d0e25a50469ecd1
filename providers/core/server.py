"""The project's dynamic-provider server: ``python -m providers.core.server <engine address>``.

The engine starts ``pulumi-resource-pulumi-python`` for every Python dynamic resource; the
project's launcher (scripts/launchers/) runs this server instead of the SDK's stock one
(``python -m pulumi.dynamic``). It implements the SDK's ``ResourceProviderServicer`` protocol with
the SDK's own wire helpers (``pulumi.runtime.rpc``), and serves any pickled dynamic provider, so
programs written for the stock server run unchanged. For the project's providers
(``providers.core.DynamicProvider``) it adds what the stock server lacks:

* **Honest previews.** Diff returns ``stables`` and a detailed diff (add / delete / update, and
  their replace forms), and Create/Update answer previews themselves (``supportsPreview``):
  outputs an update cannot change stay known, so dependents are not shown as replaced.
* **Import.** Read without prior state finds the handler from the URN's type and reads by id.
* **Partial failures.** A create that fails after the platform accepted the object
  (``CreatedButFailed``) is recorded in state with the engine's resource-init-error detail; the
  next ``up`` replaces it, ``destroy`` removes it. An update that fails after the platform took
  the change (``UpdatedButFailed``) is recorded the same way with the outputs seen then, so state
  does not keep showing the last good update; the next ``up`` runs the update again.
* **Timeouts.** ``custom_timeouts`` (create/update/delete) become the deadline of every wait.
* **Concurrency.** ``AIMODELS_PROVIDER_WORKERS`` calls at once (default 64, the stock server: 4).
* **Progress on the resource's row.** Progress lines go to the engine's log with the URN.
* **Ctrl-C.** ``Cancel`` stops every wait, retry pause and look-up within moments
  (``runtime.cancel``); a create whose object the platform already accepted is recorded as a
  failed create with its id, so the next ``up`` resumes or replaces it and never makes a second.
* **No orphans.** The server exits within seconds when its engine is gone (``watch_engine``).

Errors reach the engine as one line (the resource, the operation, the vendor's code and message).
"""

from __future__ import annotations

import asyncio
import base64
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent import futures
from contextlib import contextmanager
from typing import Any

import dill
import grpc
from google.protobuf import any_pb2, empty_pb2
from google.rpc import status_pb2
from pulumi import dynamic
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.runtime import Settings, configure, rpc
from pulumi.runtime.proto import engine_pb2, engine_pb2_grpc, plugin_pb2, provider_pb2, provider_pb2_grpc

from providers.core import create, runtime
from providers.core.errors import CreatedButFailed, ProviderError, ResourceError, UpdatedButFailed
from providers.core.fields import marks_of
from providers.core.handler import handler_for
from providers.core.resource import DetailedDiff, DynamicProvider

PROVIDER_KEY = "__provider"
DEFAULT_WORKERS = 64
VERSION = "1.0.0"

_KINDS = {
    "add": provider_pb2.PropertyDiff.ADD,
    "add-replace": provider_pb2.PropertyDiff.ADD_REPLACE,
    "delete": provider_pb2.PropertyDiff.DELETE,
    "delete-replace": provider_pb2.PropertyDiff.DELETE_REPLACE,
    "update": provider_pb2.PropertyDiff.UPDATE,
    "update-replace": provider_pb2.PropertyDiff.UPDATE_REPLACE,
}


def _project() -> str:
    return os.environ.get("PULUMI_PROJECT", "project")


_configured = threading.local()


def _thread_settings() -> None:
    """The SDK's settings (project name, for ``pulumi.Config`` in provider code) hold per thread."""
    if not getattr(_configured, "done", False):
        configure(Settings(project=_project(), stack="stack", organization="organization"))
        _configured.done = True


class CallFailed(Exception):
    """Ends an RPC with a status (and optional details) the engine understands."""

    def __init__(self, message: str, details: list[Any] | None = None,
                 code: grpc.StatusCode = grpc.StatusCode.UNKNOWN) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []
        self.code = code


def _serialize(props: dict[str, Any]) -> Any:
    return asyncio.run(rpc.serialize_properties(props, {}))


# -- secrets: the server accepts them (Configure's acceptSecrets), so the engine sends secret values
# wrapped and expects them wrapped in replies; its logs then mask them. Providers see plain values.
def _unwrap(value: Any) -> tuple[Any, bool]:
    """The value with every secret wrapper removed, and whether it held one."""
    if rpc.is_rpc_secret(value):
        return _unwrap(rpc.unwrap_rpc_secret(value))[0], True
    if isinstance(value, dict):
        pairs = {k: _unwrap(v) for k, v in value.items()}
        return {k: v for k, (v, _) in pairs.items()}, any(s for _, s in pairs.values())
    if isinstance(value, list):
        pairs_l = [_unwrap(v) for v in value]
        return [v for v, _ in pairs_l], any(s for _, s in pairs_l)
    return value, False


def _receive(struct: Any, keep_unknowns: bool | None = None) -> tuple[dict[str, Any], set[str]]:
    """Deserialized properties, plain, and the top-level keys that held a secret."""
    props, secret = {}, set()
    for key, value in rpc.deserialize_properties(struct, keep_unknowns).items():
        props[key], held = _unwrap(value)
        if held:
            secret.add(key)
    return props, secret


def _declared_secrets(provider: Any) -> set[str]:
    """The declared-secret inputs and outputs of one of the project's providers."""
    if not isinstance(provider, DynamicProvider):
        return set()
    fields = {**provider.handler.Inputs.model_fields, **provider.handler.Outputs.model_fields}
    return {name for name, field in fields.items() if marks_of(field).secret}


def _send(props: dict[str, Any], secret: set[str]) -> Any:
    """Serialize a reply with the ``secret`` keys wrapped as secrets (the engine masks them)."""
    return _serialize({k: rpc.wrap_rpc_secret(v) if k in secret and v is not None else v
                       for k, v in props.items()})


def _failure_line(prop: str, reason: str) -> str:
    """One check failure as the engine prints it: the property and the rule. The property goes in
    the text, not in the failure's own field: for that the engine also prints the value, in Go's
    notation (``{<nil>}``, or a whole tree)."""
    reason = " ".join(str(reason).split())
    if not prop or prop == "(resource)" or reason.startswith((f"{prop}:", f"{prop}.", f"{prop}[", f"{prop} ")):
        return reason
    return f"{prop}: {reason}"


def _stack(urn: str) -> str:
    """``urn:pulumi:<stack>::<project>::<type>::<name>`` -> ``<stack>``."""
    head = urn.split("::")[0]
    return head[len("urn:pulumi:"):] if head.startswith("urn:pulumi:") else ""


def _type_token(urn: str) -> str:
    """``urn:pulumi:<stack>::<project>::pulumi-python:dynamic/esd:Endpoint::<name>`` -> ``esd:Endpoint``."""
    parts = urn.split("::")
    kind = parts[2].split("$")[-1] if len(parts) >= 4 else ""
    prefix = "pulumi-python:dynamic/"
    return kind[len(prefix):] if kind.startswith(prefix) else ""


class EngineLog:
    """Progress lines to the engine's log, attached to a resource (shown on its row)."""

    def __init__(self, address: str | None) -> None:
        self._stub = None
        if address:
            channel = grpc.insecure_channel(address)
            self._stub = engine_pb2_grpc.EngineStub(channel)

    def for_urn(self, urn: str) -> Callable[[str], None] | None:
        if self._stub is None or not urn:
            return None
        stub = self._stub

        def log(line: str) -> None:
            stub.Log(engine_pb2.LogRequest(severity=engine_pb2.INFO, message=line, urn=urn), timeout=5)

        return log


class ProviderServer(provider_pb2_grpc.ResourceProviderServicer):
    def __init__(self, engine_address: str | None = None) -> None:
        self._config: dict[str, Any] = {}
        self._providers: dict[str, dynamic.ResourceProvider] = {}
        self._lock = threading.Lock()
        self._log = EngineLog(engine_address)
        runtime.reset_cancel()  # a new server serves a new run

    # -- providers ---------------------------------------------------------------------------
    def _dynamic_config(self) -> dynamic.Config:
        return dynamic.Config(raw_config=self._config, project_name=_project())

    def _provider(self, *prop_sets: dict[str, Any]) -> dynamic.ResourceProvider:
        """The configured provider named by the first ``__provider`` that is known."""
        text = next((p[PROVIDER_KEY] for p in prop_sets
                     if isinstance(p.get(PROVIDER_KEY), str) and p[PROVIDER_KEY] != rpc.UNKNOWN), None)
        if text is None:
            raise CallFailed("no __provider in the resource's properties")
        provider = self._providers.get(text)
        if provider is None:
            with self._lock:
                provider = self._providers.get(text)
                if provider is None:
                    provider = dill.loads(base64.b64decode(text))
                    provider.configure(dynamic.ConfigureRequest(config=self._dynamic_config()))
                    self._providers[text] = provider
        return provider

    def _provider_for_type(self, urn: str) -> tuple[DynamicProvider, str]:
        """A provider for a resource no state describes yet (import): found by the URN's type."""
        token = _type_token(urn)
        handler = handler_for(token) if token else None
        if handler is None:
            raise CallFailed(f"{token or urn}: not a resource type of this project, so it cannot be imported")
        provider = DynamicProvider(handler)
        provider.configure(dynamic.ConfigureRequest(config=self._dynamic_config()))
        return provider, serialize_provider(provider)

    @contextmanager
    def _call(self, context: grpc.ServicerContext, urn: str = "", timeout: float = 0.0) -> Iterator[None]:
        deadline = time.monotonic() + timeout if timeout and timeout > 0 else None
        _thread_settings()
        try:
            call = runtime.Call(urn=urn, deadline=deadline, log=self._log.for_urn(urn), stack=_stack(urn),
                                timeout_s=timeout if deadline is not None else None)
            with runtime.serving(call):
                yield
        except CallFailed as exc:
            _abort(context, exc)
        except Exception as exc:
            message = exc.message if isinstance(exc, ProviderError) else f"{type(exc).__name__}: {exc}"
            _abort(context, CallFailed(message))

    # -- configuration -----------------------------------------------------------------------
    def Configure(self, request, context):
        config, _ = _receive(request.args)
        self._config = config
        with self._lock:
            self._providers.clear()
        # Secret values travel wrapped both ways, so the engine masks them in its logs too.
        return provider_pb2.ConfigureResponse(acceptSecrets=True, supportsPreview=True)

    def GetPluginInfo(self, request, context):
        return plugin_pb2.PluginInfo(version=VERSION)

    def Cancel(self, request, context):
        """The engine's graceful stop (first Ctrl-C): end every wait now; the engine then waits
        for the calls in flight, which fail at once (creates keep what the platform accepted)."""
        runtime.cancel()
        return empty_pb2.Empty()

    # -- the resource lifecycle ----------------------------------------------------------------
    def Check(self, request, context):
        with self._call(context, request.urn):
            olds, old_secret = _receive(request.olds, True)
            news, secret = _receive(request.news, True)
            provider = self._provider(news, olds)
            result = provider.check(olds, news)
            inputs = dict(result.inputs or {})
            inputs[PROVIDER_KEY] = news.get(PROVIDER_KEY, olds.get(PROVIDER_KEY))
            if isinstance(provider, DynamicProvider) and not result.failures:
                inputs[create.GENERATION] = create.checked_generation(request.urn, olds)  # the durable create handle
            failures = [provider_pb2.CheckFailure(reason=_failure_line(f.property, f.reason))
                        for f in result.failures or []]
            return provider_pb2.CheckResponse(inputs=_send(inputs, secret | _declared_secrets(provider)),
                                              failures=failures)
        return None

    def Diff(self, request, context):
        with self._call(context, request.urn):
            olds, _ = _receive(request.olds, True)
            news, _ = _receive(request.news, True)
            provider = self._provider(news, olds)
            if isinstance(provider, DynamicProvider) and request.HasField("old_inputs"):
                # Write-only inputs (a password) live in the old inputs, not in the platform's outputs.
                olds = provider.with_write_only(olds, _receive(request.old_inputs, True)[0])
            create.note_current(request.urn, request.id)  # a create that follows never takes this object
            result = provider.diff(request.id, olds, news)
            if result.changes is None:
                changes = provider_pb2.DiffResponse.DIFF_UNKNOWN
            else:
                changes = provider_pb2.DiffResponse.DIFF_SOME if result.changes else provider_pb2.DiffResponse.DIFF_NONE
            fields: dict[str, Any] = {"changes": changes, "replaces": list(result.replaces or [])}
            if result.stables is not None:
                fields["stables"] = list(result.stables)
            if result.delete_before_replace is not None:
                fields["deleteBeforeReplace"] = result.delete_before_replace
            if isinstance(result, DetailedDiff):
                fields["hasDetailedDiff"] = True
                fields["detailedDiff"] = {k: provider_pb2.PropertyDiff(kind=_KINDS[v], inputDiff=True)
                                          for k, v in result.detailed.items()}
                fields["diffs"] = sorted(result.detailed)
            return provider_pb2.DiffResponse(**fields)
        return None

    def Create(self, request, context):
        with self._call(context, request.urn, request.timeout):
            props, secret = _receive(request.properties, request.preview)
            provider = self._provider(props)
            secret |= _declared_secrets(provider)
            if request.preview:
                if isinstance(provider, DynamicProvider):
                    outs = provider.preview_create(props)
                else:
                    outs = {k: v for k, v in props.items() if k != PROVIDER_KEY}
                outs[PROVIDER_KEY] = props[PROVIDER_KEY]
                return provider_pb2.CreateResponse(id="", properties=_send(outs, secret))
            try:
                with create.creating(request.urn, props.get(create.GENERATION)):
                    result = provider.create(props)
            except ResourceError as exc:
                if isinstance(exc.cause, CreatedButFailed) and isinstance(provider, DynamicProvider):
                    state = provider.failed_create_state(props, exc.cause)
                    state[PROVIDER_KEY] = props[PROVIDER_KEY]
                    inputs = {k: v for k, v in props.items() if not k.startswith("__") or k == PROVIDER_KEY}
                    # Its replacement must look for a different handle than this object carries.
                    inputs[create.GENERATION] = create.next_generation(
                        str(props.get(create.GENERATION) or create.FIRST_GENERATION))
                    detail = provider_pb2.ErrorResourceInitFailed(
                        id=exc.cause.id, properties=_send(state, secret), inputs=_send(inputs, secret),
                        reasons=[exc.message])
                    raise CallFailed(exc.message, [detail]) from None
                raise
            outs = dict(result.outs or {})
            outs[PROVIDER_KEY] = props[PROVIDER_KEY]
            return provider_pb2.CreateResponse(id=result.id, properties=_send(outs, secret))
        return None

    def Read(self, request, context):
        with self._call(context, request.urn, request.timeout):
            props, secret = _receive(request.properties)
            inputs, input_secret = _receive(request.inputs) if request.HasField("inputs") else ({}, set())
            secret |= input_secret
            if PROVIDER_KEY in props or PROVIDER_KEY in inputs:
                provider = self._provider(props, inputs)
                text = props.get(PROVIDER_KEY) or inputs[PROVIDER_KEY]
                result = provider.read(request.id, {**inputs, **props})
            else:  # import, or a get without state: the URN names the type
                provider, text = self._provider_for_type(request.urn)
                result = provider.read(request.id, {})
            secret |= _declared_secrets(provider)
            fields: dict[str, Any] = {"id": result.id or ""}
            if result.id:
                fields["properties"] = _send({**(result.outs or {}), PROVIDER_KEY: text}, secret)
                if result.inputs is not None:
                    kept = {k: inputs[k] for k in (create.GENERATION,) if k in inputs}  # survives a refresh
                    fields["inputs"] = _send({**result.inputs, **kept, PROVIDER_KEY: text}, secret)
            return provider_pb2.ReadResponse(**fields)
        return None

    def Update(self, request, context):
        with self._call(context, request.urn, request.timeout):
            olds, _ = _receive(request.olds, request.preview)
            news, secret = _receive(request.news, request.preview)
            provider = self._provider(news, olds)
            if request.preview:
                if isinstance(provider, DynamicProvider):
                    outs = provider.preview_update(olds, news)
                else:
                    outs = {k: v for k, v in news.items() if k != PROVIDER_KEY}
            else:
                try:
                    outs = dict(provider.update(request.id, olds, news).outs or {})
                except ResourceError as exc:
                    if isinstance(exc.cause, UpdatedButFailed) and isinstance(provider, DynamicProvider):
                        # A partial failure: the engine records what the platform shows now.
                        state = provider.failed_update_state(news, exc.cause)
                        state[PROVIDER_KEY] = news[PROVIDER_KEY]
                        inputs = {k: v for k, v in news.items()
                                  if not k.startswith("__") or k in (PROVIDER_KEY, create.GENERATION)}
                        detail = provider_pb2.ErrorResourceInitFailed(
                            id=request.id, properties=_send(state, secret | _declared_secrets(provider)),
                            inputs=_send(inputs, secret | _declared_secrets(provider)),
                            reasons=[exc.message])
                        raise CallFailed(exc.message, [detail]) from None
                    raise
            outs[PROVIDER_KEY] = news[PROVIDER_KEY]
            return provider_pb2.UpdateResponse(properties=_send(outs, secret | _declared_secrets(provider)))
        return None

    def Delete(self, request, context):
        with self._call(context, request.urn, request.timeout):
            props, _ = _receive(request.properties)
            self._provider(props).delete(request.id, props)
            return empty_pb2.Empty()
        return None

    # -- not offered by dynamic providers ----------------------------------------------------------
    def _unimplemented(self, context, what: str):
        context.abort(grpc.StatusCode.UNIMPLEMENTED, f"{what} is not implemented by dynamic providers")

    def CheckConfig(self, request, context):
        self._unimplemented(context, "CheckConfig")

    def DiffConfig(self, request, context):
        self._unimplemented(context, "DiffConfig")

    def Invoke(self, request, context):
        self._unimplemented(context, f"Invoke {request.tok}")

    def GetSchema(self, request, context):
        """The package schema of this project's resources (``pulumi import`` generates code from it)."""
        with self._call(context):
            from providers.core.schema import schema_text

            return provider_pb2.GetSchemaResponse(schema=schema_text(VERSION))
        return None


def _abort(context: grpc.ServicerContext, failure: CallFailed) -> None:
    """End the call with one line (and the engine's error details, when there are any)."""
    message = " ".join(failure.message.split())
    if failure.details:
        status = status_pb2.Status(code=failure.code.value[0], message=message)
        for detail in failure.details:
            packed = any_pb2.Any()
            packed.Pack(detail)
            status.details.append(packed)
        context.abort_with_status(_RichStatus(failure.code, message, status))
    context.abort(failure.code, message)


class _RichStatus(grpc.Status):
    """A status whose details travel in the ``grpc-status-details-bin`` trailer."""

    def __init__(self, code: grpc.StatusCode, details: str, status: status_pb2.Status) -> None:
        self.code = code
        self.details = details
        self.trailing_metadata = (("grpc-status-details-bin", status.SerializeToString()),)


def workers() -> int:
    raw = os.environ.get("AIMODELS_PROVIDER_WORKERS", "")
    try:
        value = int(raw) if raw else DEFAULT_WORKERS
    except ValueError:
        raise SystemExit(f"AIMODELS_PROVIDER_WORKERS must be a whole number, not {raw!r}") from None
    return max(1, value)


ENGINE_CHECK_S = 0.5  # how often the server looks whether its engine is still there


def watch_engine(parent: int, interval_s: float = ENGINE_CHECK_S,
                 gone: Callable[[], None] | None = None) -> threading.Thread:
    """Exit when the engine that started this process is gone (killed, crashed).

    The engine starts the launcher, which ``exec``s this server, so the engine is the parent
    process. When it dies the server is re-parented (``getppid`` changes): nothing will ever read
    a reply again, so the server exits at once, whatever it is doing. Work in flight is
    abandoned; a create's durable handle (providers.core.create) lets the next run recognise
    what it had sent.
    """

    def leave() -> None:
        try:
            sys.stderr.write(f"pulumi-resource-pulumi-python: the engine (pid {parent}) is gone; exiting\n")
            sys.stderr.flush()
        except (OSError, ValueError):
            pass  # the engine's end of the pipe is closed
        os._exit(1)

    def run() -> None:
        while os.getppid() == parent:
            time.sleep(interval_s)
        (gone or leave)()

    thread = threading.Thread(target=run, name="engine-watch", daemon=True)
    thread.start()
    return thread


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    watch_engine(os.getppid())
    engine = next((a for a in args if not a.startswith("-")), None)
    runtime.partial_state_supported = True
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=workers(), thread_name_prefix="provider"),
        options=[("grpc.max_receive_message_length", 400 * 1024 * 1024),
                 ("grpc.max_send_message_length", 400 * 1024 * 1024)],
    )
    provider_pb2_grpc.add_ResourceProviderServicer_to_server(ProviderServer(engine), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    sys.stdout.write(f"{port}\n")
    sys.stdout.flush()
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    server.stop(grace=1)


if __name__ == "__main__":
    main()
