"""The ESD REST client: auth headers, envelopes, pagination. One method per vendor call."""

from __future__ import annotations

import email.utils
import random
import re
import time
from collections.abc import Generator, Iterator
from typing import Any

import httpx

from providers.core import (
    ApiClient,
    ClientSettings,
    PlatformSettings,
    ProviderError,
    VendorError,
    endpoint_setting,
    setting,
)

PER_PAGE = 100  # checkpoint list page size (the Lambda pages in memory after a full scan)
S3_ATTEMPTS = 6  # tries of one presigned upload (429, 5xx and connection errors are retried)


class EsdSettings(PlatformSettings):
    namespace = "esd"
    base_url: str = endpoint_setting(config="apiUrl", env=["ESD_API_URL"], emulator_path="/esd/prod",
                                     description="API Gateway stage URL, e.g. https://<api-id>.execute-api.<region>.amazonaws.com/prod")
    api_key: str = setting(config="apiKey", env=["ESD_API_KEY"], secret=True, min_length=1)
    username: str = setting("api", config="username", env=["ESD_USERNAME"], min_length=1)
    timeout_s: float = setting(30.0, config="timeoutSeconds", env=["ESD_TIMEOUT_SECONDS"], gt=0)


class EsdAuth(httpx.Auth):
    """``x-api-key`` for API Gateway and ``username`` for the Lambda's permission check."""

    def __init__(self, api_key: str, username: str) -> None:
        self._api_key = api_key
        self._username = username

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["x-api-key"] = self._api_key
        request.headers["username"] = self._username
        yield request

    def __repr__(self) -> str:
        return f"EsdAuth(api_key=***, username={self._username!r})"


class EsdClient(ApiClient):
    platform = "esd"

    def __init__(self, settings: EsdSettings, **kwargs: Any) -> None:
        super().__init__(
            ClientSettings(base_url=settings.base_url, timeout_s=settings.timeout_s),
            EsdAuth(settings.api_key, settings.username),
            secrets=settings.secrets(),
            **kwargs,
        )
        self.username = settings.username
        # The platform's clock, estimated from the Date header of every reply (seconds to add to
        # ours). Creation-time windows ("created by this very operation") use the server's clock.
        self.clock_offset_s = 0.0
        self.http.event_hooks["response"].append(self._note_server_clock)
        # Presigned S3 URLs carry their own signature: no API key, no username header.
        self.s3 = httpx.Client(timeout=httpx.Timeout(300.0, connect=10.0))

    def _note_server_clock(self, response: httpx.Response) -> None:
        try:
            server = email.utils.parsedate_to_datetime(response.headers["date"]).timestamp()
        except (KeyError, TypeError, ValueError):
            return
        # Date has whole seconds (truncated): the server's clock is in [server, server + 1).
        self.clock_offset_s = server + 0.5 - time.time()

    def server_now(self) -> float:
        """The platform's current epoch time as far as we can tell (within about half a second)."""
        return time.time() + self.clock_offset_s

    def parse_error(self, response: httpx.Response) -> VendorError:
        # Lambda: {"statusCode": 400, "message": "..."}; API Gateway: {"message": "..."}.
        try:
            body = response.json()
        except ValueError:
            return VendorError(message=response.text[:500] or response.reason_phrase)
        if isinstance(body, dict) and "message" in body:
            return VendorError(message=str(body["message"]))
        return VendorError(message=str(body)[:500])

    @staticmethod
    def data(response: httpx.Response) -> dict[str, Any]:
        try:
            return response.json().get("data") or {}
        except ValueError:
            return {}

    @classmethod
    def connect(cls, settings: EsdSettings) -> EsdClient:
        """A client whose URL and API key are known to work: a wrong stage URL or key fails here,
        once per provider process, with the gateway's own answer."""
        client = cls(settings)
        client.ping()
        return client

    # -- connection check
    def ping(self) -> str:
        return self.request("Ping", "GET", "/ping").json().get("message", "")

    # -- roles
    def get_role(self, name: str) -> dict[str, Any] | None:
        roles = self.data(self.request("ListRoles", "GET", "/roles", params={"role": name})).get("roles", [])
        return next((r for r in roles if r.get("role_name") == name), None)

    def put_role(self, name: str, permissions: list[str]) -> None:
        # An upsert on the platform: a retry after a lost reply is harmless.
        self.request("CreateRole", "POST", "/roles", json={"role_name": name, "permissions": permissions},
                     idempotent=True)

    def delete_roles(self, names: list[str]) -> None:
        self.request("DeleteRoles", "DELETE", "/roles", json={"role_name_list": names})

    # -- users
    def get_user(self, username: str) -> dict[str, Any] | None:
        users = self.data(self.request("ListUsers", "GET", "/users", params={"username": username})).get("users", [])
        return next((u for u in users if u.get("username") == username), None)

    def put_user(self, username: str, password: str, roles: list[str]) -> None:
        self.request("CreateUser", "POST", "/users",
                     json={"username": username, "password": password, "roles": roles}, idempotent=True)

    def delete_users(self, names: list[str]) -> None:
        self.request("DeleteUsers", "DELETE", "/users", json={"user_name_list": names})

    # -- checkpoints
    def iter_checkpoints(self, *, types: str | None = None, status: list[str] | None = None,
                         not_before: float | None = None) -> Iterator[dict[str, Any]]:
        """Checkpoints, newest first, filtered server-side by type and status where given.

        The list is sorted by ``created`` descending, so ``not_before`` (an epoch time) stops the
        paging at the first older checkpoint: a lookup then costs pages of what was created since,
        not of everything the platform holds.
        """
        page = 1
        while True:
            params: dict[str, Any] = {"page": page, "per_page": PER_PAGE, "username": self.username}
            if types:
                params["types"] = types
            if status:
                params["status"] = status
            data = self.data(self.request("ListCheckpoints", "GET", "/checkpoints", params=params))
            items = data.get("checkpoints") or []
            for item in items:
                if not_before is not None and _epoch(item.get("created")) < not_before:
                    return
                yield item
            # `pages` is off by one on the platform; stop on a short page instead.
            if len(items) < PER_PAGE:
                return
            page += 1

    def find_checkpoint(self, *, id: str | None = None, file_name: str | None = None, types: str | None = None,
                        status: list[str] | None = None, not_before: float | None = None) -> dict[str, Any] | None:
        for ckpt in self.iter_checkpoints(types=types, status=status, not_before=not_before):
            if (id and ckpt.get("id") == id) or (file_name and file_name in (ckpt.get("name") or [])):
                return ckpt
        return None

    def create_checkpoint(self, body: dict[str, Any]) -> httpx.Response:
        return self.request("CreateCheckpoint", "POST", "/checkpoints", json=body, expect=(201, 202))

    def update_checkpoint(self, id: str, body: dict[str, Any]) -> httpx.Response:
        return self.request("UpdateCheckpoint", "PUT", f"/checkpoints/{id}", json=body, expect=(200, 202))

    def delete_checkpoints(self, ids: list[str]) -> None:
        self.request("DeleteCheckpoints", "DELETE", "/checkpoints", json={"checkpoint_id_list": ids})

    # -- endpoints
    def get_endpoint(self, deployment_id: str) -> dict[str, Any] | None:
        data = self.data(self.request("ListEndpoints", "GET", "/endpoints",
                                      params={"endpointDeploymentJobId": deployment_id}))
        return next((e for e in data.get("endpoints") or []
                     if e.get("EndpointDeploymentJobId") == deployment_id), None)

    def iter_endpoints(self) -> Iterator[dict[str, Any]]:
        cursor = None
        while True:
            params: dict[str, Any] = {"limit": 50}
            if cursor:
                params["exclusive_start_key"] = cursor
            data = self.data(self.request("ListEndpoints", "GET", "/endpoints", params=params))
            yield from data.get("endpoints") or []
            cursor = data.get("last_evaluated_key")
            if not cursor:
                return

    def find_endpoint(self, physical_name: str) -> dict[str, Any] | None:
        return next((e for e in self.iter_endpoints() if e.get("endpoint_name") == physical_name), None)

    def create_endpoint(self, body: dict[str, Any]) -> dict[str, Any]:
        return self.data(self.request("CreateEndpoint", "POST", "/endpoints", json=body, expect=(202,)))

    def delete_endpoints(self, physical_names: list[str]) -> None:
        self.request("DeleteEndpoints", "DELETE", "/endpoints", json={"endpoint_name_list": physical_names})

    # -- datasets
    def get_dataset(self, name: str) -> dict[str, Any]:
        return self.data(self.request("GetDataset", "GET", f"/datasets/{name}"))

    def create_dataset(self, body: dict[str, Any]) -> dict[str, Any]:
        return self.data(self.request("CreateDataset", "POST", "/datasets", json=body, expect=(201,)))

    def set_dataset_status(self, name: str, status: str) -> None:
        self.request("UpdateDataset", "PUT", f"/datasets/{name}", json={"status": status})

    def delete_datasets(self, names: list[str]) -> None:
        self.request("DeleteDatasets", "DELETE", "/datasets", json={"dataset_name_list": names})

    # -- trainings
    def create_training(self, body: dict[str, Any]) -> dict[str, Any]:
        return self.data(self.request("CreateTraining", "POST", "/trainings", json=body, expect=(201,)))

    def get_training(self, id: str) -> dict[str, Any]:
        return self.data(self.request("GetTraining", "GET", f"/trainings/{id}"))

    def delete_trainings(self, ids: list[str]) -> None:
        self.request("DeleteTrainings", "DELETE", "/trainings", json={"training_id_list": ids})

    # -- inferences
    def create_inference(self, body: dict[str, Any]) -> dict[str, Any]:
        return self.data(self.request("CreateInference", "POST", "/inferences", json=body, expect=(201,)))

    def start_inference(self, id: str) -> httpx.Response:
        # Starting runs the job again every time: never retried blindly.
        return self.request("StartInference", "PUT", f"/inferences/{id}/start", expect=(200, 202, 504),
                            idempotent=False)

    def iter_inferences(self, task_type: str, *, limit: int = 20) -> Iterator[dict[str, Any]]:
        """Inference jobs of one task type, newest ``createTime`` first (the list is a query on the
        task-type/create-time index, so a caller can stop as soon as the jobs get too old)."""
        cursor = None
        while True:
            params: dict[str, Any] = {"type": task_type, "limit": limit}
            if cursor:
                params["exclusive_start_key"] = cursor
            data = self.data(self.request("ListInferences", "GET", "/inferences", params=params))
            yield from data.get("inferences") or []
            cursor = data.get("last_evaluated_key")
            if not cursor:
                return

    def get_inference(self, id: str) -> dict[str, Any]:
        return self.data(self.request("GetInference", "GET", f"/inferences/{id}"))

    def delete_inferences(self, ids: list[str]) -> None:
        self.request("DeleteInferences", "DELETE", "/inferences", json={"inference_id_list": ids})

    # -- presigned S3 URLs
    def s3_put(self, url: str, content: bytes, what: str) -> str:
        """PUT bytes to a presigned URL; returns the ETag.

        A PUT of the same bytes to the same URL is idempotent, so throttling (429), 5xx and
        connection errors are retried with jittered exponential backoff (honouring Retry-After);
        any other answer (an expired or bad signature is a 403) fails at once.
        """
        policy = self.settings.retry
        last = ""
        for attempt in range(1, S3_ATTEMPTS + 1):
            retry_after: float | None = None
            try:
                r = self.s3.put(url, content=content)
            except httpx.TransportError as exc:
                last = f"{type(exc).__name__}: {exc}"
            else:
                if r.status_code == 200:
                    return r.headers.get("ETag", "")
                last = f"HTTP {r.status_code}: {_s3_error(r)}"
                if r.status_code != 429 and r.status_code < 500:
                    break
                retry_after = _retry_after(r.headers.get("Retry-After"))
            if attempt < S3_ATTEMPTS:
                delay = (min(retry_after, policy.max_retry_after_s) if retry_after is not None
                         else random.uniform(0, min(policy.max_delay_s, policy.base_delay_s * 2 ** attempt)))
                self._sleep(delay)
        raise ProviderError(f"esd upload of {what} to a presigned URL failed: {self.redact(last)}")


def _epoch(value: Any) -> float:
    """Epoch seconds the platform sends as strings ("1711094400.123456"); unparsable = very old."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("-inf")


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


def _s3_error(r: httpx.Response) -> str:
    """S3 answers in XML: keep the code and message, drop the rest (never the presigned URL)."""
    code = re.search(r"<Code>([^<]*)</Code>", r.text)
    message = re.search(r"<Message>([^<]*)</Message>", r.text)
    if code or message:
        return " ".join(m.group(1) for m in (code, message) if m)
    return r.text[:200] or r.reason_phrase
