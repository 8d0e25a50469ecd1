"""The PAI model-registry client (AIWorkSpace 2021-02-04, ROA): ACS3 signing, envelopes, paging."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
from pydantic import model_validator

from providers.core import (
    ApiClient,
    ClientSettings,
    PlatformSettings,
    RuleError,
    VendorError,
    endpoint_setting,
    setting,
)
from providers.pai.auth import AcsV3Auth

NOT_FOUND_CODES = {"201900002", "201900003"}  # model, version


class PaiSettings(PlatformSettings):
    namespace = "pai"
    access_key_id: str = setting(config="accessKeyId", min_length=1,
                                 env=["ALIBABA_CLOUD_ACCESS_KEY_ID", "ALICLOUD_ACCESS_KEY"])
    access_key_secret: str = setting(config="accessKeySecret", secret=True, min_length=1,
                                     env=["ALIBABA_CLOUD_ACCESS_KEY_SECRET", "ALICLOUD_SECRET_KEY"])
    security_token: str | None = setting(None, config="securityToken", secret=True,
                                         env=["ALIBABA_CLOUD_SECURITY_TOKEN", "ALICLOUD_SECURITY_TOKEN"])
    region: str | None = setting(None, config="region", env=["ALIBABA_CLOUD_REGION_ID", "ALICLOUD_REGION"],
                                 description="e.g. cn-hangzhou: the endpoint is aiworkspace.<region>.aliyuncs.com")
    endpoint: str | None = endpoint_setting(None, config="endpoint", env=["PAI_ENDPOINT"], emulator_path="/pai",
                                            description="overrides the regional endpoint")
    timeout_s: float = setting(30.0, config="timeoutSeconds", env=["PAI_TIMEOUT_SECONDS"], gt=0)

    @model_validator(mode="after")
    def _target(self) -> PaiSettings:
        if self.region is not None:  # some published endpoint maps carry a tab
            object.__setattr__(self, "region", self.region.strip() or None)
        if not self.endpoint and not self.region:
            raise RuleError("endpoint", "not set, and no pai:region to derive it from "
                                        "(set pai:region for https://aiworkspace.<region>.aliyuncs.com)")
        return self

    @property
    def base_url(self) -> str:
        return self.endpoint or f"https://aiworkspace.{self.region}.aliyuncs.com"


class PaiClient(ApiClient):
    platform = "pai"

    def __init__(self, settings: PaiSettings, **kwargs: Any) -> None:
        super().__init__(
            ClientSettings(base_url=settings.base_url, timeout_s=settings.timeout_s),
            AcsV3Auth(settings.access_key_id, settings.access_key_secret, settings.security_token),
            secrets=settings.secrets(),
            **kwargs,
        )

    def request_extensions(self, operation: str) -> dict[str, Any]:
        return {"acs_action": operation}  # signed as x-acs-action

    def parse_error(self, response: httpx.Response) -> VendorError:
        try:
            body = response.json()
        except ValueError:
            return VendorError(message=response.text[:500] or response.reason_phrase)
        if not isinstance(body, dict):
            return VendorError(message=str(body)[:500])
        return VendorError(code=str(body.get("Code") or body.get("code") or "") or None,
                           message=body.get("Message") or body.get("message"),
                           request_id=body.get("RequestId") or body.get("requestId"))

    def is_not_found(self, response: httpx.Response, error: VendorError) -> bool:
        return response.status_code == 404 or error.code in NOT_FOUND_CODES

    # -- models
    def create_model(self, body: dict[str, Any]) -> str:
        return self.request("CreateModel", "POST", "/api/v1/models", json=body).json()["ModelId"]

    def get_model(self, model_id: str) -> dict[str, Any]:
        return self.request("GetModel", "GET", f"/api/v1/models/{model_id}").json()

    def update_model(self, model_id: str, body: dict[str, Any]) -> None:
        self.request("UpdateModel", "PUT", f"/api/v1/models/{model_id}", json=body)

    def delete_model(self, model_id: str) -> None:
        self.request("DeleteModel", "DELETE", f"/api/v1/models/{model_id}")

    def list_models(self, **query: Any) -> Iterator[dict[str, Any]]:
        yield from self._pages("ListModels", "/api/v1/models", "Models", query)

    def set_model_labels(self, model_id: str, old: dict[str, str], new: dict[str, str]) -> None:
        self._reconcile_labels("Model", f"/api/v1/models/{model_id}/labels", old, new)

    # -- versions
    def create_version(self, model_id: str, body: dict[str, Any]) -> str:
        return self.request("CreateModelVersion", "POST", f"/api/v1/models/{model_id}/versions",
                            json=body).json()["VersionName"]

    def get_version(self, model_id: str, version: str) -> dict[str, Any]:
        return self.request("GetModelVersion", "GET", f"/api/v1/models/{model_id}/versions/{version}").json()

    def update_version(self, model_id: str, version: str, body: dict[str, Any]) -> None:
        self.request("UpdateModelVersion", "PUT", f"/api/v1/models/{model_id}/versions/{version}", json=body)

    def delete_version(self, model_id: str, version: str) -> None:
        self.request("DeleteModelVersion", "DELETE", f"/api/v1/models/{model_id}/versions/{version}")

    def list_versions(self, model_id: str, **query: Any) -> Iterator[dict[str, Any]]:
        yield from self._pages("ListModelVersions", f"/api/v1/models/{model_id}/versions", "Versions", query)

    def set_version_labels(self, model_id: str, version: str, old: dict[str, str], new: dict[str, str]) -> None:
        self._reconcile_labels("ModelVersion", f"/api/v1/models/{model_id}/versions/{version}/labels", old, new)

    # -- helpers
    def _pages(self, operation: str, path: str, key: str, query: dict[str, Any]) -> Iterator[dict[str, Any]]:
        page, seen = 1, 0
        while True:
            body = self.request(operation, "GET", path, params={**query, "PageNumber": page, "PageSize": 100}).json()
            items = body.get(key) or []
            yield from items
            seen += len(items)
            if not items or seen >= int(body.get("TotalCount") or 0):
                return
            page += 1

    def _reconcile_labels(self, kind: str, path: str, old: dict[str, str], new: dict[str, str]) -> None:
        """Remove keys that went away or changed value, then add the new and changed ones."""
        stale = sorted(k for k in old if k not in new or old[k] != new[k])
        fresh = [{"Key": k, "Value": v} for k, v in sorted(new.items()) if old.get(k) != v]
        if stale:
            self.request(f"Delete{kind}Labels", "DELETE", path, params={"LabelKeys": ",".join(stale)})
        if fresh:
            self.request(f"Create{kind}Labels", "POST", path, json={"Labels": fresh}, idempotent=True)


def labels_of(obj: dict[str, Any], hide: str | None = None) -> dict[str, str]:
    return {label["Key"]: label.get("Value", "") for label in obj.get("Labels") or [] if label.get("Key") != hide}


def labels_body(labels: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in sorted(labels.items())]
