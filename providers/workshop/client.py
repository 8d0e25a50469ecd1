"""The AI Creation Workshop client: gateway signing, the business ``apiToken``, the envelope.

Two layers of credentials (spec §2): every call is signed with the AppKey/AppSecret of an API
Gateway app (``auth.GatewayAuth``); business calls also carry an ``apiToken``, either given in
config or allocated once per provider process with ``POST /scc/allocate_token`` under a fixed
token name, so every run acts as the same end user (the platform keys synced models by the
token's owner and the ``modelId``).

Errors come in two shapes (spec §4): the gateway's own rejections (bad signature, stale
timestamp) carry ``X-Ca-Error-Code`` / ``X-Ca-Error-Message`` headers; the service answers
``{errCode, errMessage, subErrCode, subErrMessage, apiInvokeId}``, on an error status or on a 2xx.
Both become one-line ``ApiError``s with the vendor's code and message.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any, Literal

import httpx

from providers.core import (ApiClient, ApiError, ClientSettings, PlatformSettings, VendorError, endpoint_setting,
                            setting)
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
            if self._token and (self._token_expires_ms is None
                                or self._token_expires_ms - TOKEN_MARGIN_MS > time.time() * 1000):
                return self._token
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
            return token

    def _forget_token(self) -> bool:
        """Drop an allocated token the platform refused; False when the token was given in config."""
        with self._token_lock:
            if self.options.api_token:
                return False
            self._token = None
            return True

    # -- model sync ----------------------------------------------------------------------
    def sync_model(self, model: dict[str, Any]) -> list[dict[str, Any]]:
        """``POST /scc/spSdModelSync`` with the complete tree. An upsert keyed by ``modelId``, so a
        retry after a lost reply is safe. Returns the reply's items (one object, or a list)."""
        for attempt in (1, 2):
            token = self.api_token()
            in_query = self.options.api_token_in == "query"
            body = model if in_query else {"apiToken": token, **model}
            try:
                data = self.call("SyncModel", "/scc/spSdModelSync", body,
                                 params={"apiToken": token} if in_query else None, idempotent=True)
            except ApiError as exc:
                if attempt == 1 and exc.code in TOKEN_CODES and self._forget_token():
                    continue
                raise
            if isinstance(data, dict):
                return [data]
            return [d for d in data or [] if isinstance(d, dict)]
        raise AssertionError("unreachable")
