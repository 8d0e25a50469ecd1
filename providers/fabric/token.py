"""Huawei Cloud IAM tokens for httpx: ``X-Auth-Token``, fixed or obtained from IAM.

Specification: Huawei Cloud IAM "Obtaining a User Token"
(https://support.huaweicloud.com/intl/en-us/api-iam/iam_30_0001.html).  Pure httpx + stdlib.

IamTokenAuth -- in words
------------------------
Sends ``X-Auth-Token``.  Either a fixed token, or one obtained from IAM
(§7.1): ``POST <iam_url>/v3/auth/tokens`` with a password identity
(user name, password, account/domain name) scoped to a project (by name, or
by id); the token is the ``X-Subject-Token`` response header (HTTP 201) and
its expiry is ``token.expires_at`` in the JSON body.  The token is cached and
re-obtained ``refresh_margin_s`` seconds before it expires (by the injectable
clock); when a request comes back 401 the token is dropped, re-obtained once,
and the request re-sent once.  The IAM call is yielded from the httpx auth
flow, so it goes through the same client/transport (sync or async).

Ambiguities in the specification and what this module does
------------------------------------------------------------
* **Token expiry.**  ``expires_at`` is parsed as ISO 8601 (fractional seconds
  and ``Z`` or an offset allowed).  If the body has no parsable
  ``expires_at``, the token is assumed to live 24 h (spec §7.1) from the
  moment the IAM request was made.  The effective refresh margin is capped at
  half the token's remaining life, so a short-lived token is not re-fetched on
  every request.  A fixed ``token`` has no known expiry: it is used until a
  401 (then, if credentials were given, replaced from IAM; otherwise the 401
  is returned to the caller).
* **Scope.**  Project scope by name (``project``, as in §7.1's example body) or
  by id (``project_id``); if both are given the id wins.
* **IAM failures** raise :class:`IamTokenError` carrying the status and IAM's
  own error code/message, with the password and any token redacted.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Generator
from datetime import datetime, timedelta, timezone

import httpx

from providers.core import signing


class IamTokenError(Exception):
    """Obtaining an IAM token failed.  The message never contains the password or a token."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        error_code: str | None = None,
        error_msg: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.error_code = error_code
        self.error_msg = error_msg


_ISO_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:?\d{2})?$"
)


def _parse_iso8601(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    m = _ISO_RE.match(value.strip())
    if m is None:
        return None
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    micro = int((m.group(7) or "0")[:6].ljust(6, "0"))
    zone = m.group(8)
    if zone in (None, "Z"):
        tz = timezone.utc
    else:
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        tz = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    try:
        return datetime(year, month, day, hour, minute, second, micro, tzinfo=tz).astimezone(
            timezone.utc
        )
    except ValueError:
        return None


class IamTokenAuth(httpx.Auth):
    """Authenticate with ``X-Auth-Token``: a fixed token or one obtained from IAM.

    :param token: a ready token (used until it is rejected with 401).
    :param iam_url: IAM endpoint, e.g. ``https://iam.cn-north-4.myhuaweicloud.com``
        (``/v3/auth/tokens`` is appended unless already present).
    :param username: IAM user name.
    :param password: IAM user password; never shown by ``repr``/``str`` or errors.
    :param domain: account (domain) name the user belongs to.
    :param project: project name to scope the token to (e.g. ``cn-north-4``).
    :param project_id: project id to scope the token to (wins over *project*).
    :param refresh_margin_s: re-obtain the token this long before it expires.
    :param clock: ``f() -> datetime | epoch seconds``; default: system UTC time.
    :param default_ttl_s: assumed life of a token whose body has no ``expires_at``.
    """

    requires_request_body = True
    requires_response_body = True

    def __init__(
        self,
        token: str | None = None,
        iam_url: str | None = None,
        username: str | None = None,
        password: str | None = None,
        domain: str | None = None,
        project: str | None = None,
        project_id: str | None = None,
        refresh_margin_s: float = 300.0,
        clock: signing.Clock | None = None,
        *,
        default_ttl_s: float = 24 * 3600.0,
    ) -> None:
        credentials = {
            "iam_url": iam_url,
            "username": username,
            "password": password,
            "domain": domain,
            "project or project_id": project or project_id,
        }
        given = [name for name, value in credentials.items() if value]
        missing = [name for name, value in credentials.items() if not value]
        if given and missing:
            raise ValueError(
                "incomplete IAM password credentials; missing: " + ", ".join(missing)
            )
        if token is None and not given:
            raise ValueError("IamTokenAuth needs a token or IAM password credentials")
        if token is not None and (not isinstance(token, str) or not token):
            raise TypeError("token must be a non-empty string or None")
        if refresh_margin_s < 0 or default_ttl_s <= 0:
            raise ValueError("refresh_margin_s must be >= 0 and default_ttl_s > 0")

        self._can_fetch = bool(given)
        self._iam_url = iam_url.rstrip("/") if iam_url else None
        self._username = username
        self._password = password
        self._domain = domain
        self._project = project
        self._project_id = project_id
        self._margin = timedelta(seconds=refresh_margin_s)
        self._default_ttl = timedelta(seconds=default_ttl_s)
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = token
        self._expires_at: datetime | None = None
        self._refresh_at: datetime | None = None

    # -- presentation --------------------------------------------------------

    def __repr__(self) -> str:
        with self._lock:
            token = "'***'" if self._token else "None"
        return (
            f"{type(self).__name__}(iam_url={self._iam_url!r}, username={self._username!r}, "
            f"domain={self._domain!r}, project={self._project!r}, "
            f"project_id={self._project_id!r}, password={'***' if self._password else None!r}, "
            f"token={token})"
        )

    __str__ = __repr__

    @property
    def token_url(self) -> str | None:
        if self._iam_url is None:
            return None
        if self._iam_url.endswith("/v3/auth/tokens"):
            return self._iam_url
        if self._iam_url.endswith("/v3"):
            return self._iam_url + "/auth/tokens"
        return self._iam_url + "/v3/auth/tokens"

    @property
    def expires_at(self) -> datetime | None:
        """Expiry of the cached token, if known."""
        with self._lock:
            return self._expires_at

    def invalidate(self) -> None:
        """Forget the cached token (the next request obtains a new one, if it can)."""
        with self._lock:
            self._token = None
            self._expires_at = self._refresh_at = None

    # -- cache ---------------------------------------------------------------

    def _now(self) -> datetime:
        return signing.utc_now(self._clock)

    def _cached_token(self) -> str | None:
        with self._lock:
            if self._token is None:
                return None
            if not self._can_fetch or self._refresh_at is None or self._now() < self._refresh_at:
                return self._token
            return None

    def _replacement_after_401(self, rejected: str) -> str | None:
        """A token some other flow obtained meanwhile, else ``None`` (cache cleared)."""
        with self._lock:
            if self._token is not None and self._token != rejected:
                if self._refresh_at is None or self._now() < self._refresh_at:
                    return self._token
            self._token = None
            self._expires_at = self._refresh_at = None
            return None

    # -- IAM call ------------------------------------------------------------

    def _token_request_body(self) -> dict:
        scope = {"id": self._project_id} if self._project_id else {"name": self._project}
        return {
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {
                        "user": {
                            "name": self._username,
                            "password": self._password,
                            "domain": {"name": self._domain},
                        }
                    },
                },
                "scope": {"project": scope},
            }
        }

    def _redact(self, text: str, *extra: str | None) -> str:
        for secret in (self._password, self._token, *extra):
            if secret:
                text = text.replace(secret, "***")
        return text

    def _obtain_token(self) -> Generator[httpx.Request, httpx.Response, str]:
        url = self.token_url
        assert url is not None  # guarded by _can_fetch
        iam_request = httpx.Request(
            "POST",
            url,
            content=json.dumps(self._token_request_body()).encode("utf-8"),
            headers={"Content-Type": "application/json;charset=utf8", "Accept": "application/json"},
        )
        requested_at = self._now()
        response = yield iam_request
        token = response.headers.get("x-subject-token")
        if not response.is_success or not token:
            error_code = error_msg = None
            try:
                payload = response.json()
            except Exception:
                payload = None
            if isinstance(payload, dict):
                err = payload.get("error")
                if isinstance(err, dict):
                    error_code = str(err.get("code")) if err.get("code") is not None else None
                    error_msg = err.get("message") or err.get("title")
                top_code = payload.get("error_code")
                error_code = str(top_code) if top_code not in (None, "") else error_code
                error_msg = payload.get("error_msg") or error_msg
            if error_msg is None and not isinstance(payload, dict):
                error_msg = response.text[:200] if response.text else None
            error_msg = self._redact(str(error_msg), token) if error_msg is not None else None
            reason = (
                "no X-Subject-Token header in the response"
                if response.is_success
                else f"HTTP {response.status_code}"
            )
            detail = " ".join(part for part in (error_code, error_msg) if part)
            raise IamTokenError(
                f"IAM token request to {url} failed: {reason}" + (f": {detail}" if detail else ""),
                status_code=response.status_code,
                error_code=error_code,
                error_msg=error_msg,
            )

        expires_at = None
        try:
            payload = response.json()
            if isinstance(payload, dict) and isinstance(payload.get("token"), dict):
                expires_at = _parse_iso8601(payload["token"].get("expires_at"))
        except Exception:
            expires_at = None
        if expires_at is None:
            expires_at = requested_at + self._default_ttl
        now = self._now()
        remaining = expires_at - now
        margin = max(timedelta(0), min(self._margin, remaining / 2))
        with self._lock:
            self._token = token
            self._expires_at = expires_at
            self._refresh_at = expires_at - margin
        return token

    # -- httpx entry point ---------------------------------------------------

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self._cached_token()
        if token is None:
            if not self._can_fetch:
                raise IamTokenError("no IAM token available and no credentials to obtain one")
            token = yield from self._obtain_token()
        request.headers["X-Auth-Token"] = token
        response = yield request
        if response.status_code != 401 or not self._can_fetch:
            return
        token = self._replacement_after_401(token)
        if token is None:
            token = yield from self._obtain_token()
        request.headers["X-Auth-Token"] = token
        yield request
