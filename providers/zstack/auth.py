"""ZStack authentication for httpx: a login session (``OAuth``) or AccessKey signing (spec §2).

SessionAuth, in words
---------------------
1. On first use, ``PUT <base>/v1/accounts/login`` with
   ``{"logInByAccount": {"accountName": <name>, "password": <hex SHA-512 of the password>}}``
   (the clear-text password never leaves the process); the session is ``inventory.uuid``.
2. Every request carries ``Authorization: OAuth <session uuid>``.
3. An expired session is not refused at the HTTP layer: a synchronous API answers 503 with error
   code ``ID.1001``. The flow then logs in again and re-sends that request, once. (For an async API
   the 503 arrives on the job poll; the client re-submits the API once after ``expire()``.)
Login failures raise :class:`LoginError` with the status and ZStack's code and details. The login
gets the client's retries: 429, and 500/502/503/504 that do not carry ZStack's authentication error
(``ID.1000``: a wrong password is not transient), are tried again after the client's back-off
(``Retry-After`` honoured), so one refused login does not fail the whole operation. Repeating a
login is harmless: it only makes one more session. A login that gets no answer at all raises out
of the flow into the client's own request loop, which retries the whole request where that is safe.

AccessKeyAuth, in words
-----------------------
``Date: <RFC 1123 date, GMT>`` and ``Authorization: ZStack <AccessKeyId>:<signature>`` where
signature = base64(HMAC-SHA1(key=secret, msg=METHOD + "\\n" + Date + "\\n" + path)) and path is
the request path from ``/v1`` on (the context path ``/zstack`` and the query string are not part
of it), e.g. ``GET\\nTue, 01 Dec 2026 10:00:00 GMT\\n/v1/ai/models``. Job polls are signed too.
The server refuses a Date more than 15 minutes off.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Callable, Generator
from email.utils import format_datetime

import httpx

from providers.core import RETRY_STATUSES, RetryPolicy, parse_retry_after, progress, signing

SESSION_EXPIRED = "ID.1001"
AUTHENTICATION_ERROR = "ID.1000"
JOBS_PATH = "/v1/api-jobs/"


def password_digest(password: str) -> str:
    """What ZStack expects in place of a password: the lower-case hex SHA-512 digest."""
    return hashlib.sha512(password.encode()).hexdigest()


def error_code_of(response: httpx.Response) -> str | None:
    try:
        body = json.loads(response.content or b"null")
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    return error.get("code") if isinstance(error, dict) else None


class LoginError(Exception):
    """The login API refused (or could not be reached with a usable answer)."""

    def __init__(self, status: int, code: str | None, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


class SessionAuth(httpx.Auth):
    requires_response_body = True

    def __init__(self, login_url: str, account_name: str, password: str) -> None:
        self.login_url = login_url
        self.account_name = account_name
        self._digest = password_digest(password)
        self._session: str | None = None
        self._lock = threading.Lock()
        self.logins = 0  # how many times we logged in (observable in tests)
        # the owning client's retry policy and sleep (ZStackClient sets both; defaults for standalone use)
        self.retry = RetryPolicy()
        self.sleep: Callable[[float], None] = lambda seconds: None

    def _transient(self, response: httpx.Response) -> bool:
        if response.status_code == 429:
            return True
        return response.status_code in RETRY_STATUSES and error_code_of(response) != AUTHENTICATION_ERROR

    @property
    def session(self) -> str | None:
        return self._session

    def expire(self, session: str | None = None) -> None:
        """Forget the session (only if it is still the one given), so the next request logs in."""
        with self._lock:
            if session is None or session == self._session:
                self._session = None

    def _login_request(self) -> httpx.Request:
        body = {"logInByAccount": {"accountName": self.account_name, "password": self._digest}}
        return httpx.Request("PUT", self.login_url, json=body)

    def _take_session(self, response: httpx.Response) -> str:
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code == 200 and isinstance(body, dict):
            uuid = (body.get("inventory") or {}).get("uuid")
            if uuid:
                self.logins += 1
                return uuid
        error = (body or {}).get("error") if isinstance(body, dict) else None
        if isinstance(error, dict):
            text = error.get("details") or error.get("description") or ""
            if error.get("description") and error.get("details") and error["description"] != error["details"]:
                text = f"{error['description']}: {error['details']}"
            raise LoginError(response.status_code, error.get("code"), text)
        raise LoginError(response.status_code, None, response.text[:300] or response.reason_phrase)

    def _session_for(self, stale: str | None) -> Generator[httpx.Request, httpx.Response, str]:
        with self._lock:
            current = self._session
        if current is not None and current != stale:
            return current
        attempt = 0
        while True:
            attempt += 1
            response = yield self._login_request()
            if not self._transient(response) or attempt >= self.retry.attempts:
                break
            delay = self.retry.delay(attempt, parse_retry_after(response.headers.get("Retry-After")))
            progress(f"zstack login: HTTP {response.status_code}, retry {attempt} in {delay:.1f}s")
            self.sleep(delay)
        session = self._take_session(response)
        with self._lock:
            self._session = session
        return session

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        session = yield from self._session_for(None)
        request.headers["Authorization"] = f"OAuth {session}"
        response = yield request
        if (response.status_code == 503 and JOBS_PATH not in request.url.path
                and error_code_of(response) == SESSION_EXPIRED):
            session = yield from self._session_for(session)
            request.headers["Authorization"] = f"OAuth {session}"
            yield request


def string_to_sign(method: str, date: str, path: str) -> str:
    at = path.find("/v1/")
    return f"{method.upper()}\n{date}\n{path[at:] if at >= 0 else path}"


def signature(secret: str, method: str, date: str, path: str) -> str:
    digest = hmac.new(secret.encode(), string_to_sign(method, date, path).encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


class AccessKeyAuth(httpx.Auth):
    def __init__(self, key_id: str, secret: str, clock: signing.Clock | None = None) -> None:
        self.key_id = key_id
        self._secret = secret
        self._clock = clock

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        date = format_datetime(signing.utc_now(self._clock).replace(microsecond=0), usegmt=True)
        request.headers["Date"] = date
        sig = signature(self._secret, request.method, date, request.url.path)
        request.headers["Authorization"] = f"ZStack {self.key_id}:{sig}"
        yield request
