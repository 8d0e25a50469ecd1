"""The DataArts Fabric client: IAM token or AK/SK signing, the error envelope, list-based reads."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
from pydantic import model_validator

from providers.core import (
    ApiClient,
    ApiError,
    ClientSettings,
    ConfigError,
    PlatformSettings,
    RuleError,
    VendorError,
    endpoint_setting,
    setting,
)
from providers.fabric.auth import IamTokenAuth, IamTokenError, SdkHmacAuth

# "queried resource does not exist"; the platform answers not-found with 400 and this code, or 404.
NOT_FOUND_CODES = {"dataartsfabric.00010009"}


class FabricSettings(PlatformSettings):
    namespace = "fabric"
    region: str | None = setting(None, config="region", env=["HUAWEICLOUD_SDK_REGION", "FABRIC_REGION"],
                                 description="e.g. cn-north-4: the endpoint is fabric.<region>.myhuaweicloud.com")
    endpoint: str | None = endpoint_setting(None, config="endpoint", env=["FABRIC_ENDPOINT"],
                                            emulator_path="/fabric", description="overrides the regional endpoint")
    iam_endpoint: str | None = endpoint_setting(None, config="iamEndpoint", env=["FABRIC_IAM_ENDPOINT"],
                                                emulator_path="/fabric")
    # AK/SK signing ...
    access_key: str | None = setting(None, config="accessKey", env=["HUAWEICLOUD_SDK_AK"])
    secret_key: str | None = setting(None, config="secretKey", env=["HUAWEICLOUD_SDK_SK"], secret=True)
    project_id: str | None = setting(None, config="projectId", env=["HUAWEICLOUD_SDK_PROJECT_ID"])
    # ... or an IAM token, given or obtained with a password
    token: str | None = setting(None, config="token", env=["FABRIC_AUTH_TOKEN"], secret=True)
    username: str | None = setting(None, config="username", env=["FABRIC_IAM_USERNAME"])
    password: str | None = setting(None, config="password", env=["FABRIC_IAM_PASSWORD"], secret=True)
    domain_name: str | None = setting(None, config="domainName", env=["FABRIC_IAM_DOMAIN"])
    timeout_s: float = setting(30.0, config="timeoutSeconds", env=["FABRIC_TIMEOUT_SECONDS"], gt=0)

    @model_validator(mode="after")
    def _one_way_to_authenticate(self) -> FabricSettings:
        if bool(self.access_key) != bool(self.secret_key):
            raise ValueError("fabric:accessKey and fabric:secretKey go together")
        if self.username and not (self.password and self.domain_name):
            raise ValueError("fabric:username needs fabric:password and fabric:domainName")
        if not (self.access_key or self.token or self.username):
            raise ValueError("set fabric:accessKey/secretKey, fabric:token, or fabric:username/password/domainName")
        if not self.endpoint and not self.region:
            raise RuleError("endpoint", "not set, and no fabric:region to derive it from "
                                        "(set fabric:region for https://fabric.<region>.myhuaweicloud.com)")
        if self.username and not self.iam_endpoint and not self.region:
            raise RuleError("iam_endpoint", "not set, and no fabric:region to derive it from "
                                            "(set fabric:region for https://iam.<region>.myhuaweicloud.com)")
        if self.username and not (self.project_id or self.region):
            raise RuleError("project_id", "an IAM token is scoped to a project: set fabric:projectId or fabric:region")
        return self

    @property
    def base_url(self) -> str:
        return self.endpoint or f"https://fabric.{self.region}.myhuaweicloud.com"

    def auth(self) -> httpx.Auth:
        if self.access_key and self.secret_key:
            return SdkHmacAuth(self.access_key, self.secret_key, project_id=self.project_id)
        iam = self.iam_endpoint or f"https://iam.{self.region}.myhuaweicloud.com"
        if self.username:
            return IamTokenAuth(token=self.token, iam_url=iam, username=self.username, password=self.password,
                                domain=self.domain_name, project=self.region, project_id=self.project_id)
        return IamTokenAuth(token=self.token)


class FabricClient(ApiClient):
    platform = "fabric"

    def __init__(self, settings: FabricSettings, **kwargs: Any) -> None:
        super().__init__(ClientSettings(base_url=settings.base_url, timeout_s=settings.timeout_s),
                         settings.auth(), secrets=settings.secrets(), **kwargs)

    def request(self, operation: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return super().request(operation, method, path, **kwargs)
        except IamTokenError as exc:  # raised inside the auth flow, before our call was sent
            if exc.status_code is None:
                raise ConfigError(f"fabric IAM token: {self.redact(str(exc))}") from None
            raise ApiError(platform="fabric", operation=f"{operation} (IAM token)", method="POST",
                           path="/v3/auth/tokens", status=exc.status_code,
                           code=None if exc.error_code is None else str(exc.error_code),
                           vendor_message=self.redact(exc.error_msg or str(exc))) from None

    def parse_error(self, response: httpx.Response) -> VendorError:
        rid = response.headers.get("X-Request-Id")
        try:
            body = response.json()
        except ValueError:
            return VendorError(message=response.text[:500] or response.reason_phrase, request_id=rid)
        if not isinstance(body, dict):
            return VendorError(message=str(body)[:500], request_id=rid)
        message = body.get("error_msg") or str(body)[:500]
        if body.get("solution_msg"):
            message = f"{message} ({body['solution_msg']})"
        return VendorError(code=body.get("error_code"), message=message, request_id=rid)

    def is_not_found(self, response: httpx.Response, error: VendorError) -> bool:
        return response.status_code == 404 or error.code in NOT_FOUND_CODES

    # -- models (there is no get-one route: reads go through the filtered list)
    def _models(self, ws: str) -> str:
        return f"/v1/workspaces/{ws}/models"

    def find_model(self, ws: str, model_id: str) -> dict[str, Any] | None:
        body = self.request("ListModels", "GET", self._models(ws), params={"id": model_id, "limit": 1}).json()
        return next(iter(body.get("models") or []), None)

    def find_model_by_name(self, ws: str, name: str) -> dict[str, Any] | None:
        for model in self._pages("ListModels", self._models(ws), "models", {"name": name}):
            if model.get("name") == name:
                return model
        return None

    def create_model(self, ws: str, body: dict[str, Any]) -> dict[str, Any]:
        return self.request("CreateModelDefinition", "POST", self._models(ws), json=body).json()

    def update_model(self, ws: str, model_id: str, body: dict[str, Any]) -> dict[str, Any]:
        # Adding a version through this PUT is not idempotent: never retried blindly.
        return self.request("UpdateModelDefinition", "PUT", f"{self._models(ws)}/{model_id}", json=body,
                            idempotent="version" not in body).json()

    def delete_model(self, ws: str, model_id: str) -> None:
        self.request("CleanupModel", "DELETE", f"{self._models(ws)}/{model_id}")

    def versions(self, ws: str, model_id: str) -> list[dict[str, Any]]:
        return list(self._pages("ListModelVersions", f"{self._models(ws)}/{model_id}/versions", "versions", {}))

    def delete_version(self, ws: str, model_id: str, version_id: str) -> None:
        self.request("DeleteModelVersion", "DELETE", f"{self._models(ws)}/{model_id}/versions/{version_id}")

    def _pages(self, operation: str, path: str, key: str, query: dict[str, Any]) -> Iterator[dict[str, Any]]:
        offset = 0
        while True:
            body = self.request(operation, "GET", path, params={**query, "offset": offset, "limit": 100}).json()
            items = body.get(key) or []
            yield from items
            offset += len(items)
            if not items or offset >= int(body.get("total") or 0):
                return
