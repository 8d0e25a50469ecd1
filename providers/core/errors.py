"""One exception hierarchy for every platform.

Every message is one line: which resource and operation, which HTTP call, the
status, and the vendor's own code and message. Credentials never appear: the
client redacts every configured secret from vendor text before it gets here.
"""

from __future__ import annotations

from collections.abc import Callable


class ProviderError(Exception):
    """Base class: something a platform engineer must act on."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))  # one line, always

    @property
    def message(self) -> str:
        return self.args[0]


class ConfigError(ProviderError):
    """Missing or invalid provider configuration (credentials, endpoint)."""


class ApiError(ProviderError):
    """The vendor answered with an error status."""

    def __init__(
        self,
        *,
        platform: str,
        operation: str,
        method: str,
        path: str,
        status: int,
        code: str | None,
        vendor_message: str | None,
        request_id: str | None = None,
    ) -> None:
        self.platform = platform
        self.operation = operation
        self.method = method
        self.path = path
        self.status = status
        self.code = code
        self.vendor_message = vendor_message
        self.request_id = request_id
        detail = f"{code}: {vendor_message}" if code else (vendor_message or "no message")
        rid = f" (request id {request_id})" if request_id else ""
        super().__init__(f"{platform} {operation}: {method} {path} returned HTTP {status}: {detail}{rid}")


class NotFoundError(ApiError):
    """The vendor says the object does not exist (the platform decides which answers mean that)."""


class TransportError(ProviderError):
    """No usable answer: connection refused, timed out, or dropped mid-reply (after retries)."""

    def __init__(self, *, platform: str, operation: str, method: str, path: str, cause: Exception,
                 host: str | None = None) -> None:
        self.platform = platform
        self.operation = operation
        self.cause = cause
        kind = type(cause).__name__
        text = str(cause) or "no detail"
        where = f" on {host}" if host else _where(cause)
        super().__init__(f"{platform} {operation}: {method} {path}{where} failed without a response "
                         f"({kind}: {text})")


def host_port(cause: Exception) -> str | None:
    """``host:port`` of the request an httpx error carries (a refused connection names no host itself)."""
    try:
        url = cause.request.url  # type: ignore[attr-defined]
    except (AttributeError, RuntimeError):
        return None
    port = url.port or {"https": 443, "http": 80}.get(url.scheme)
    return f"{url.host}:{port}" if url.host else None


def _where(cause: Exception) -> str:
    host = host_port(cause)
    return f" on {host}" if host else ""


# Answers that mean "not processed, or unknown whether processed": throttling and server-side
# failures. The one definition of "transient" for retries (providers.core.http), waits
# (providers.core.wait) and creates (providers.core.create).
TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504})


def is_transient(exc: BaseException) -> bool:
    """An outage rather than an answer: no response at all, a 5xx, or throttling. For a create
    it means the platform may or may not have done what was asked."""
    if isinstance(exc, TransportError):
        return True
    return isinstance(exc, ApiError) and exc.status in TRANSIENT_STATUSES


class WaitTimeout(ProviderError):
    """A wait passed its deadline; the object may still converge on the platform."""


class Cancelled(ProviderError):
    """The engine asked the provider to stop (Ctrl-C, a cancelled CI job): a wait, a retry pause
    or a request ended early. Not transient: nothing retries it."""


class FailedState(ProviderError):
    """The object reached a terminal failure state; the message carries the platform's reason."""


class ResourceError(ProviderError):
    """What the engine shows: the resource, the operation, and the underlying error (kept as ``cause``)."""

    def __init__(self, message: str, *, cause: Exception) -> None:
        super().__init__(message)
        self.cause = cause


class CreatedButFailed(ProviderError):
    """Create failed after the platform accepted the object (it timed out, or ended Failed).

    The object exists, so it must not be forgotten. Under the project's provider server it is
    recorded in state as a failed create (the engine's resource-init-error protocol): the next
    ``up`` replaces it and ``destroy`` removes it. Under the stock server, which cannot record a
    half-made object, the framework runs ``cleanup`` (typically a delete) before failing, so
    nothing is left behind unaccounted for. ``cleanup=None`` means "keep it even there": the error
    then tells the user exactly which object to remove.
    """

    def __init__(self, message: str, *, id: str, outputs: object,
                 cleanup: Callable[[], None] | None = None) -> None:
        super().__init__(message)
        self.id = id
        self.outputs = outputs  # the handler's Outputs model, as far as it is known
        self.cleanup = cleanup


class UpdatedButFailed(ProviderError):
    """Update failed after the platform took the change (e.g. a sync whose listing then failed).

    ``outputs`` (the handler's Outputs model) is what the platform shows now. Under the project's
    provider server the engine records them with the error (a partial failure), so state does not
    keep showing the outputs of the last good update; the next ``up`` tries the update again. The
    stock server cannot record them: the error then says what the state still shows.
    """

    def __init__(self, message: str, *, outputs: object) -> None:
        super().__init__(message)
        self.outputs = outputs
