"""The AI Creation Workshop client: gateway signing, the business ``apiToken``, the envelope.

Two layers of credentials (spec §2): every call is signed with the AppKey/AppSecret of an API
Gateway app (``auth.GatewayAuth``); business calls also carry an ``apiToken``, either given in
config or allocated with ``POST /scc/allocate_token`` under a fixed token name, so every run acts
as the same end user (the platform keys synced models by the token's owner and the ``modelId``).

An allocated token is reused across provider processes: the platform has no API to list the
tokens an app made, so the client keeps the one it allocated in a per-user cache file
(``workshop:tokenCache``, default ``$XDG_CACHE_HOME/aimodels`` or ``~/.cache/aimodels``; ``off``
disables it), one file per endpoint, AppKey and token name, readable by the user alone (0600 in a
0700 directory). Never in Pulumi state. A token alone cannot call the API: every call is also
signed with the AppSecret. The file is dropped when the platform refuses the token or it is
within a minute of expiring, and a new token is allocated and cached.

Errors come in two shapes (spec §4): the gateway's own rejections (bad signature, stale
timestamp) carry ``X-Ca-Error-Code`` / ``X-Ca-Error-Message`` headers; the service answers
``{errCode, errMessage, subErrCode, subErrMessage, apiInvokeId}``, on an error status or on a 2xx.
Both become one-line ``ApiError``s with the vendor's code and message.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from pathlib import Path
from typing import Any, Literal

import httpx

from providers.core import ApiClient, ApiError, ClientSettings, PlatformSettings, VendorError, endpoint_setting, setting
from providers.workshop.auth import JSON, GatewayAuth

DEFAULT_ENDPOINT = "https://openai.edu-aliyun.com"
# Business codes that mean "this apiToken is no good": an allocated token is replaced once.
# Guessed (the spec lists no codes); the emulator uses the same names.
TOKEN_CODES = {"InvalidApiToken", "ApiTokenExpired"}
TOKEN_MARGIN_MS = 60_000  # allocate a new token this long before the old one expires


class WorkshopSettings(PlatformSettings):
    namespace = "workshop"
    app_key: str = setting(config="appKey", env=["WORKSHOP_APP_KEY", "SPEEDPIX_APP_KEY"], min_length=1)
    app_secret: str = setting(config="appSecret", env=["WORKSHOP_APP_SECRET", "SPEEDPIX_APP_SECRET"],
                              secret=True, min_length=1)
    endpoint: str = endpoint_setting(DEFAULT_ENDPOINT, config="endpoint", env=["WORKSHOP_ENDPOINT", "SPEEDPIX_ENDPOINT"],
                                     emulator_path="/workshop", description="the gateway's base URL")
    api_token: str | None = setting(None, config="apiToken", env=["WORKSHOP_API_TOKEN"], secret=True,
                                    description="unset: allocated with /scc/allocate_token")
    token_name: str = setting("aimodels-pulumi", config="tokenName", env=["WORKSHOP_TOKEN_NAME"], min_length=1,
                              description="the end user an allocated token maps to; keep it stable")
    scene_role_id: str | None = setting(None, config="sceneRoleId", env=["WORKSHOP_SCENE_ROLE_ID"])
    api_token_in: Literal["body", "query"] = setting("body", config="apiTokenIn", env=["WORKSHOP_API_TOKEN_IN"],
                                                     description="where spSdModelSync carries apiToken")
    stage: str | None = setting(None, config="stage", env=["WORKSHOP_STAGE"], description="X-Ca-Stage")
    timeout_s: float = setting(30.0, config="timeoutSeconds", env=["WORKSHOP_TIMEOUT_SECONDS"], gt=0)
    token_cache: str | None = setting(None, config="tokenCache", env=["WORKSHOP_TOKEN_CACHE"],
                                      description="directory that keeps the allocated token between runs; "
                                                  "unset: $XDG_CACHE_HOME/aimodels or ~/.cache/aimodels; off: none")

    def token_cache_file(self) -> Path | None:
        """Where the allocated token of this endpoint, app and token name is kept (None: nowhere)."""
        if self.api_token or (self.token_cache or "").strip().lower() == "off":
            return None
        if self.token_cache:
            folder = Path(self.token_cache).expanduser()
        else:
            folder = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "aimodels"
        key = hashlib.sha256("\n".join([self.endpoint.rstrip("/"), self.app_key, self.token_name]).encode())
        return folder / f"workshop-token-{key.hexdigest()[:24]}.json"


class WorkshopClient(ApiClient):
    platform = "workshop"

    def __init__(self, settings: WorkshopSettings, **kwargs: Any) -> None:
        super().__init__(ClientSettings(base_url=settings.endpoint, timeout_s=settings.timeout_s),
                         GatewayAuth(settings.app_key, settings.app_secret, stage=settings.stage),
                         secrets=settings.secrets(), **kwargs)
        self.options = settings
        self._token = settings.api_token
        self._token_expires_ms: int | None = None
        self._token_lock = threading.Lock()

    # -- envelope ------------------------------------------------------------------------
    def parse_error(self, response: httpx.Response) -> VendorError:
        gateway = response.headers.get("x-ca-error-message")
        if gateway is not None:  # the API Gateway itself refused the call
            return VendorError(code=response.headers.get("x-ca-error-code") or "Gateway", message=gateway,
                               request_id=response.headers.get("x-ca-request-id"))
        try:
            body = response.json()
        except ValueError:
            return VendorError(message=response.text[:500] or response.reason_phrase)
        if not isinstance(body, dict):
            return VendorError(message=str(body)[:500])
        code = body.get("subErrCode") or body.get("errCode")
        message = body.get("subErrMessage") or body.get("errMessage") or (None if code else str(body)[:500])
        return VendorError(code=None if code is None else str(code), message=message,
                           request_id=body.get("apiInvokeId"))

    def is_not_found(self, response: httpx.Response, error: VendorError) -> bool:
        return False  # the documented API has no object to be missing

    def call(self, operation: str, path: str, body: dict[str, Any], *, params: dict[str, str] | None = None,
             idempotent: bool) -> Any:
        """POST one JSON body (serialised once: the signature covers its MD5); return ``data``."""
        content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        response = self.request(operation, "POST", path, content=content, params=params,
                                headers={"Content-Type": JSON}, idempotent=idempotent)
        try:
            envelope = response.json()
        except ValueError:
            envelope = None
        if not isinstance(envelope, dict) or envelope.get("errCode") or envelope.get("subErrCode"):
            raise self._error(operation, "POST", path, response)  # an error on a 2xx, or no envelope
        return envelope.get("data")

    # -- the business token --------------------------------------------------------------
    def api_token(self) -> str:
        with self._token_lock:
            if self._token and self._fresh(self._token_expires_ms):
                return self._token
            cached = self._cached_token()
            if cached is not None:
                self._secrets.append(cached[0])
                self._token, self._token_expires_ms = cached
                return cached[0]
            body: dict[str, Any] = {"name": self.options.token_name}
            if self.options.scene_role_id:
                body["sceneRoleId"] = self.options.scene_role_id
            # A repeat after a lost reply allocates one more token for the same named user: harmless.
            data = self.call("AllocateToken", "/scc/allocate_token", body, idempotent=True) or {}
            token = data.get("apiToken")
            if not token:
                raise ApiError(platform=self.platform, operation="AllocateToken", method="POST",
                               path=self._path("/scc/allocate_token"), status=200, code=None,
                               vendor_message="the reply carries no apiToken")
            self._secrets.append(token)  # redacted from any text we pass on
            self._token, self._token_expires_ms = token, data.get("tokenExpiredAt")
            self._keep_token(token, self._token_expires_ms)
            return token

    def _fresh(self, expires_ms: Any) -> bool:
        return expires_ms is None or (isinstance(expires_ms, int) and expires_ms - TOKEN_MARGIN_MS > time.time() * 1000)

    def _cached_token(self) -> tuple[str, int | None] | None:
        path = self.options.token_cache_file()
        if path is None:
            return None
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            return None
        token, expires = (data.get("apiToken"), data.get("tokenExpiredAt")) if isinstance(data, dict) else (None, None)
        if not isinstance(token, str) or not token or not self._fresh(expires):
            return None
        return token, expires

    def _keep_token(self, token: str, expires_ms: int | None) -> None:
        """Write the token for the next process: a private file, replaced atomically. Best effort."""
        path = self.options.token_cache_file()
        if path is None:
            return
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                json.dump({"apiToken": token, "tokenExpiredAt": expires_ms}, f)
            os.replace(tmp, path)
        except OSError:
            pass  # no cache: the next process allocates its own token, as before

    def _drop_cached(self, token: str | None) -> None:
        path = self.options.token_cache_file()
        if path is None or token is None:
            return
        try:
            if json.loads(path.read_text()).get("apiToken") == token:
                path.unlink()
        except (OSError, ValueError, AttributeError):
            pass

    def _forget_token(self) -> bool:
        """Drop an allocated token the platform refused; False when the token was given in config."""
        with self._token_lock:
            if self.options.api_token:
                return False
            self._drop_cached(self._token)
            self._token = None
            return True

    # -- model sync ----------------------------------------------------------------------
    def sync_model(self, model: dict[str, Any], session: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """``POST /scc/spSdModelSync`` with the complete tree. An upsert keyed by ``modelId``, so a
        retry after a lost reply is safe. Returns the reply's items (one object, or a list).

        ``session`` holds the page's other request parameters (roleId, sessionMode, expiredInSeconds,
        customResourceConfigId); they travel where ``apiToken`` does (body or query)."""
        extra = {k: v for k, v in (session or {}).items() if v is not None}
        for attempt in (1, 2):
            token = self.api_token()
            in_query = self.options.api_token_in == "query"
            body = model if in_query else {"apiToken": token, **extra, **model}
            query = {"apiToken": token, **{k: str(v) for k, v in extra.items()}} if in_query else None
            try:
                data = self.call("SyncModel", "/scc/spSdModelSync", body, params=query, idempotent=True)
            except ApiError as exc:
                if attempt == 1 and exc.code in TOKEN_CODES and self._forget_token():
                    continue
                raise
            if isinstance(data, dict):
                return [data]
            return [d for d in data or [] if isinstance(d, dict)]
        raise AssertionError("unreachable")
