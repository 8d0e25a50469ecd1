"""HTTP behaviour in one place: connection reuse, timeouts, safe retries, error mapping.

A platform client subclasses ``ApiClient`` and supplies three things: how to
authenticate (an ``httpx.Auth``), how to read the vendor's error envelope
(``parse_error``) and which answers mean "not found" (``is_not_found``).
Everything else - pooling, timeouts, backoff with jitter, Retry-After, the
decision whether a retry is safe, one-line errors, secret redaction - is here.
After the engine's ``Cancel`` no request is sent and no back-off pause lasts (``runtime``).
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from providers.core import runtime
from providers.core.errors import TRANSIENT_STATUSES, ApiError, NotFoundError, TransportError, host_port
from providers.core.progress import progress

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
RETRY_STATUSES = TRANSIENT_STATUSES  # the one definition, in providers.core.errors
# Failures where the request provably never reached the server: always safe to retry.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5  # total tries, including the first
    base_delay_s: float = 0.5
    max_delay_s: float = 20.0
    max_retry_after_s: float = 60.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.max_retry_after_s)
        # full jitter: uniform in [0, min(cap, base * 2^attempt)]
        return random.uniform(0, min(self.max_delay_s, self.base_delay_s * (2 ** attempt)))


@dataclass
class VendorError:
    code: str | None = None
    message: str | None = None
    request_id: str | None = None


@dataclass
class ClientSettings:
    base_url: str
    timeout_s: float = 30.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    headers: Mapping[str, str] = field(default_factory=dict)


def parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class ApiClient:
    """Base class of every platform client. Not picklable by design: create it lazily."""

    platform: str = "api"

    def __init__(
        self,
        settings: ClientSettings,
        auth: httpx.Auth | None = None,
        *,
        secrets: Iterable[str] = (),
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.settings = settings
        self._secrets = [s for s in secrets if s]
        # Retry pauses end at once when the run is cancelled (runtime.sleep); looked up per call: patchable.
        self._sleep = sleep or (lambda seconds: runtime.sleep(seconds))
        self.http = httpx.Client(
            base_url=settings.base_url.rstrip("/"),
            auth=auth,
            timeout=httpx.Timeout(settings.timeout_s, connect=min(10.0, settings.timeout_s)),
            headers=dict(settings.headers),
            transport=transport,
            follow_redirects=False,
        )

    # -- hooks for platforms ---------------------------------------------------
    def parse_error(self, response: httpx.Response) -> VendorError:
        """Read the vendor's error envelope. Default: JSON ``{"code", "message"}`` or the raw text."""
        try:
            body = response.json()
        except ValueError:
            return VendorError(message=response.text[:500] or response.reason_phrase)
        if isinstance(body, dict):
            return VendorError(code=body.get("code"), message=body.get("message") or str(body)[:500])
        return VendorError(message=str(body)[:500])

    def is_not_found(self, response: httpx.Response, error: VendorError) -> bool:
        return response.status_code == 404

    def request_extensions(self, operation: str) -> dict[str, Any]:
        """Per-request data for the auth class (e.g. the action name a signer needs)."""
        return {}

    # -- the one request path ---------------------------------------------------
    def request(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        params: Any = None,
        json: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        expect: Iterable[int] = (200, 201, 202, 204),
        idempotent: bool | None = None,
    ) -> httpx.Response:
        """Send one logical request, retrying where that is safe.

        ``idempotent`` defaults to the HTTP method's semantics; pass True for a POST the
        vendor documents as an upsert, False for a PUT that has side effects (start a job).
        Returns the response when its status is in ``expect``; raises ApiError/NotFoundError
        for other statuses and TransportError when no answer arrived.
        """
        method = method.upper()
        expect = set(expect)
        safe = idempotent if idempotent is not None else method in IDEMPOTENT_METHODS
        policy = self.settings.retry
        attempt = 0
        while True:
            attempt += 1
            runtime.check_cancelled(f"{self.platform} {operation}")  # nothing new is sent after a Cancel
            try:
                response = self.http.request(
                    method, path, params=params, json=json, content=content, headers=headers,
                    extensions=self.request_extensions(operation) or None,
                )
            except httpx.TransportError as exc:
                retryable = safe or isinstance(exc, _NOT_SENT)
                if retryable and attempt < policy.attempts:
                    delay = policy.delay(attempt, None)
                    progress(f"{self.platform} {operation}: {type(exc).__name__}, retry {attempt} in {delay:.1f}s")
                    self._sleep(delay)
                    continue
                raise TransportError(
                    platform=self.platform, operation=operation, method=method, path=self._path(path),
                    cause=type(exc)(self.redact(str(exc))), host=host_port(exc),
                ) from None
            if response.status_code in expect:
                return response
            # 429 means "not processed": safe for any method. 5xx only where a repeat is harmless.
            retryable = response.status_code == 429 or (safe and response.status_code in RETRY_STATUSES)
            if retryable and attempt < policy.attempts:
                delay = policy.delay(attempt, parse_retry_after(response.headers.get("Retry-After")))
                progress(f"{self.platform} {operation}: HTTP {response.status_code}, retry {attempt} in {delay:.1f}s")
                self._sleep(delay)
                continue
            raise self._error(operation, method, path, response)

    def _path(self, path: str) -> str:
        prefix = httpx.URL(self.settings.base_url).path.rstrip("/")
        return f"{prefix}{path}" if path.startswith("/") else f"{prefix}/{path}"

    def _error(self, operation: str, method: str, path: str, response: httpx.Response) -> ApiError:
        vendor = self.parse_error(response)
        cls = NotFoundError if self.is_not_found(response, vendor) else ApiError
        return cls(
            platform=self.platform, operation=operation, method=method, path=self._path(path),
            status=response.status_code, code=vendor.code and self.redact(str(vendor.code)),
            vendor_message=vendor.message and self.redact(str(vendor.message)), request_id=vendor.request_id,
        )

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def close(self) -> None:
        self.http.close()
