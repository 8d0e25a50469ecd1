"""The ZStack client: session or AccessKey auth, the API-job protocol, queries, error bodies.

Async APIs (every create, update and delete here) answer 202 with ``{"location": ".../v1/api-jobs/
<uuid>"}``; the job is polled until it answers 200 (the result) or 503 (``{"error": ...}``). We
choose the job uuid ourselves (``X-Job-UUID``), so a request whose reply was lost can be sent again
safely: the server answers ``Duplicate job uuid`` and we follow the job the first attempt started.
A direct 200 (servers that finish at once) is accepted too. The ``location`` host may be an
internal management-node address: like the official SDKs we keep only its ``/v1/api-jobs/<uuid>``
suffix and poll through our own base URL.

A job's 503 verdict is believed only when a second poll repeats it byte for byte (a finished job's
result is kept for hours, an outage's 503 rarely repeats); a 503 without ZStack's error code is an
outage and is ridden out until the deadline. The session login retries like any request (auth.py).
"""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Iterator
from typing import Any

import httpx
from pydantic import model_validator

from providers.core import (
    ApiClient,
    ApiError,
    ClientSettings,
    PlatformSettings,
    Poll,
    ProviderError,
    TransportError,
    VendorError,
    WaitTimeout,
    endpoint_setting,
    progress,
    setting,
    wait_for,
)
from providers.zstack.auth import JOBS_PATH, SESSION_EXPIRED, AccessKeyAuth, LoginError, SessionAuth, password_digest

NOT_FOUND_CODES = {"SYS.1003"}


class ZStackSettings(PlatformSettings):
    namespace = "zstack"
    endpoint: str | None = endpoint_setting(None, config="endpoint", env=["ZSTACK_ENDPOINT"], emulator_path="/zstack",
                                            description="base URL with the context path, e.g. http://10.0.0.5:8080/zstack")
    host: str | None = setting(None, config="host", env=["ZSTACK_HOST"], description="management node address")
    port: int = setting(8080, config="port", env=["ZSTACK_PORT"], ge=1, le=65535)
    context_path: str = setting("zstack", config="contextPath", env=["ZSTACK_CONTEXT_PATH"])
    account_name: str | None = setting(None, config="accountName", env=["ZSTACK_ACCOUNT_NAME"])
    account_password: str | None = setting(None, config="accountPassword", env=["ZSTACK_ACCOUNT_PASSWORD"],
                                           secret=True)
    access_key_id: str | None = setting(None, config="accessKeyId", env=["ZSTACK_ACCESS_KEY_ID"])
    access_key_secret: str | None = setting(None, config="accessKeySecret", env=["ZSTACK_ACCESS_KEY_SECRET"],
                                            secret=True)
    timeout_s: float = setting(30.0, config="timeoutSeconds", env=["ZSTACK_TIMEOUT_SECONDS"], gt=0)

    @model_validator(mode="after")
    def _complete(self) -> ZStackSettings:
        if not (self.endpoint or self.host):
            raise ValueError("set zstack:endpoint (e.g. http://<mn>:8080/zstack) or zstack:host")
        if bool(self.access_key_id) != bool(self.access_key_secret):
            raise ValueError("zstack:accessKeyId and zstack:accessKeySecret go together")
        if bool(self.account_name) != bool(self.account_password):
            raise ValueError("zstack:accountName and zstack:accountPassword go together")
        if not (self.access_key_id or self.account_name):
            raise ValueError("set zstack:accountName/accountPassword or zstack:accessKeyId/accessKeySecret")
        return self

    @property
    def base_url(self) -> str:
        if self.endpoint:
            return self.endpoint.rstrip("/")
        context = self.context_path.strip("/")
        return f"http://{self.host}:{self.port}" + (f"/{context}" if context else "")

    def auth(self) -> httpx.Auth:
        if self.access_key_id and self.access_key_secret:
            return AccessKeyAuth(self.access_key_id, self.access_key_secret)
        assert self.account_name and self.account_password
        return SessionAuth(f"{self.base_url}/v1/accounts/login", self.account_name, self.account_password)

    def secrets(self) -> list[str]:
        out = super().secrets()
        if self.account_password:
            out.append(password_digest(self.account_password))  # what goes on the wire is a credential too
        return out


def new_uuid() -> str:
    """ZStack's uuid form: 32 lower-case hex characters, no dashes."""
    return uuidlib.uuid4().hex


class _JobUnknown(ProviderError):
    """The job URL answers 404: never received, or its result already purged."""


class JobTimeout(WaitTimeout):
    """An API job outlived its deadline; it may still finish. ``job_path`` is where to follow it."""

    def __init__(self, message: str, *, operation: str, job_path: str) -> None:
        super().__init__(message)
        self.operation = operation
        self.job_path = job_path


class ZStackClient(ApiClient):
    platform = "zstack"

    def __init__(self, settings: ZStackSettings, **kwargs: Any) -> None:
        self.auth = settings.auth()
        super().__init__(ClientSettings(base_url=settings.base_url, timeout_s=settings.timeout_s), self.auth,
                         secrets=settings.secrets(), **kwargs)
        if isinstance(self.auth, SessionAuth):  # the login inside the auth flow retries like any request
            self.auth.retry = self.settings.retry
            self.auth.sleep = lambda seconds: self._sleep(seconds)  # looked up per call: patchable

    # -- errors ------------------------------------------------------------------------------
    def parse_error(self, response: httpx.Response) -> VendorError:
        try:
            body = response.json()
        except ValueError:  # framework errors are plain text
            return VendorError(message=response.text[:500] or response.reason_phrase)
        error = body.get("error") if isinstance(body, dict) else None
        if not isinstance(error, dict):
            return VendorError(message=str(body)[:500])
        description, details = error.get("description"), error.get("details")
        message = description or details or "no message"
        if description and details and details != description:
            message = f"{description}: {details}"
        cause = error.get("cause")
        if isinstance(cause, dict) and (cause.get("details") or cause.get("description")):
            message += f" (cause {cause.get('code') or '?'}: {cause.get('details') or cause.get('description')})"
        return VendorError(code=error.get("code"), message=message)

    def is_not_found(self, response: httpx.Response, error: VendorError) -> bool:
        return error.code in NOT_FOUND_CODES

    def redact(self, text: str) -> str:
        text = super().redact(text)
        session = getattr(self.auth, "session", None)
        return text.replace(session, "***") if session else text

    def request(self, operation: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return super().request(operation, method, path, **kwargs)
        except LoginError as exc:  # raised inside the auth flow, before our call was sent
            error = ApiError(platform=self.platform, operation=f"{operation} (login)", method="PUT",
                             path=self._path("/v1/accounts/login"), status=exc.status, code=exc.code,
                             vendor_message=self.redact(exc.message))
            error.login = True  # type: ignore[attr-defined]  # our call never left: nothing happened
            raise error from None

    # -- synchronous queries -------------------------------------------------------------------
    def query(self, operation: str, path: str, *conditions: str, **params: Any) -> list[dict[str, Any]]:
        """``GET <path>?q=...&q=...``: the ``inventories`` list (empty when nothing matches)."""
        query: list[tuple[str, Any]] = [("q", c) for c in conditions]
        query += [(k, str(v).lower() if isinstance(v, bool) else v) for k, v in params.items()]
        body = self.request(operation, "GET", path, params=query or None, expect=(200,)).json()
        return list(body.get("inventories") or [])

    def query_all(self, operation: str, path: str, *conditions: str,
                  page_size: int = 1000) -> Iterator[dict[str, Any]]:
        """Every match, a page at a time (``limit``/``start``, with ``replyWithCount`` for the total)."""
        start = 0
        while True:
            params = [("q", c) for c in conditions]
            params += [("limit", page_size), ("start", start), ("replyWithCount", "true")]
            body = self.request(operation, "GET", path, params=params, expect=(200,)).json()
            items = list(body.get("inventories") or [])
            yield from items
            start += len(items)
            if not items or start >= int(body.get("total") or 0):
                return

    def get(self, operation: str, path: str, uuid: str) -> dict[str, Any] | None:
        found = self.query(operation, f"{path}/{uuid}")
        return found[0] if found else None

    # -- asynchronous APIs ----------------------------------------------------------------------
    def call(self, operation: str, method: str, path: str, *, timeout_s: float, json: Any = None,
             params: Any = None) -> dict[str, Any]:
        """Run one async API to its end and return its result (``{}`` for an empty reply).

        An expired session fails the job with ID.1001: log in again and submit once more.
        """
        try:
            return self._run_job(operation, method, path, json, params, timeout_s)
        except ApiError as exc:
            if exc.code != SESSION_EXPIRED or not isinstance(self.auth, SessionAuth):
                raise
            progress(f"zstack {operation}: the session expired; logging in again")
            self.auth.expire()
            return self._run_job(operation, method, path, json, params, timeout_s)

    def _run_job(self, operation: str, method: str, path: str, json: Any, params: Any,
                 timeout_s: float) -> dict[str, Any]:
        job = new_uuid()
        lost: TransportError | None = None
        job_path = f"{JOBS_PATH}{job}"
        try:
            # The job uuid makes a repeat harmless, so every failure without an answer is retried.
            reply = self.request(operation, method, path, json=json, params=params, headers={"X-Job-UUID": job},
                                 expect=(200, 202), idempotent=True)
        except ApiError as exc:
            if not (exc.status == 400 and "Duplicate job uuid" in (exc.vendor_message or "")):
                raise
            progress(f"zstack {operation}: an earlier attempt reached the server; following job {job}")
        except TransportError as exc:
            if isinstance(exc.cause, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)):
                raise  # provably never sent
            lost = exc
            progress(f"zstack {operation}: no reply; checking whether job {job} exists")
        else:
            if reply.status_code == 200:
                return self._body(reply)
            location = str((self._body(reply)).get("location") or "")
            if JOBS_PATH in location:  # keep the suffix; the host may be the MN's internal address
                job_path = location[location.index(JOBS_PATH):]
        try:
            done = self._wait_job(operation, job_path, timeout_s)
        except WaitTimeout as exc:
            raise JobTimeout(exc.message, operation=operation, job_path=job_path) from None
        except _JobUnknown:
            if lost is not None:
                raise lost from None  # the request never arrived: nothing was started
            raise ProviderError(f"zstack {operation}: job {job_path.rsplit('/', 1)[-1]} is unknown or expired; "
                                "run `pulumi refresh` to see the object's state") from None
        if done.status_code != 200:
            raise self._error(f"{operation} (job {job_path.rsplit('/', 1)[-1]})", method, path, done)
        return self._body(done)

    def finish(self, timeout: JobTimeout, timeout_s: float) -> None:
        """Wait (again) for a job that timed out, so what it does is over before we act on it."""
        try:
            self._wait_job(timeout.operation, timeout.job_path, timeout_s)
        except _JobUnknown:
            pass  # purged: it ended long ago

    def _wait_job(self, operation: str, job_path: str, timeout_s: float) -> httpx.Response:
        """Poll until the job answers 200 or, twice in a row with the same body, 503.

        A finished job's result is kept (hours), so its 503 verdict repeats on every poll; a 503 from
        something in between (a proxy, an overloaded node) in ZStack's own error envelope looks the
        same once but rarely twice. One confirming poll keeps such an answer from being taken as
        the job's verdict (issue 18: it made creates that had succeeded look failed).
        """
        verdict: list[bytes] = []  # the 503 body of the previous poll, to be confirmed

        def poll() -> Poll[httpx.Response]:
            r = self.request(f"{operation} job", "GET", job_path, expect=(200, 202, 404, 503))
            if r.status_code == 404:
                raise _JobUnknown(r.text)
            if r.status_code == 503:
                if not self.parse_error(r).code:
                    verdict.clear()
                    raise self._error(f"{operation} job", "GET", job_path, r)  # an outage, not the job's answer
                if verdict != [r.content]:
                    verdict[:] = [r.content]
                    return Poll(None, "answered 503, confirming")
                return Poll(r, "failed", done=True)
            verdict.clear()
            if r.status_code == 202:
                return Poll(None, "running")
            return Poll(r, "finished", done=True)

        return wait_for(f"zstack {operation}", poll, timeout_s=timeout_s)

    @staticmethod
    def _body(response: httpx.Response) -> dict[str, Any]:
        if not response.content.strip():
            return {}
        body = response.json()
        return body if isinstance(body, dict) else {}

