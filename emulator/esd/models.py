"""ESD state and rules (the moto-style backend): identity, checkpoints, endpoints, inferences,
trainings and datasets, stored as JSON documents in the shared SQLite ``Store``.

Documents hold the vendor's own record fields; fields starting with ``_`` are the emulator's
bookkeeping (pending transitions, the requested instance count...) and never go on the wire.
Asynchronous work is a ``_pending`` list of ``{"at": epoch, "do": action, ...}`` entries on a
document, applied lazily by ``tick()`` at the start of every request (and before admin reads).
"""

from __future__ import annotations

import base64
import json
import random
import re
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import unquote, urlparse

from emulator import defaults
from emulator.core import jsonbody
from emulator.core.store import Store
from emulator.esd.errors import EsdError, S3Error, bad_request
from emulator.esd.s3 import S3, make_png, parse_s3_uri
from emulator.esd.schemas import DATASET_ITEM, MULTIPART_FILE

P = "esd"

DEFAULT_SETTINGS: dict[str, Any] = {
    "api_key": defaults.ESD_API_KEY,
    "bucket": "esd-emulator-bucket",
    "region": "us-east-1",
    "account_id": "123456789012",
    "presign_expires_seconds": 3600,
    "s3_min_part_bytes": 0,
    "gateway_timeout_seconds": 29.0,
    "checkpoint_download_seconds": 1.0,
    "checkpoint_rename_seconds": 0.5,
    "endpoint_create_seconds": 2.0,
    "endpoint_delete_seconds": 0.0,
    "endpoint_fail_instance_types": [],
    "endpoint_fail_error": "Failed. Reason: The primary container for production variant prod did not pass "
                           "the ping health check. Please check CloudWatch logs for this endpoint.",
    "endpoint_instance_limit": 20,
    "endpoint_instance_type_limits": {"ml.g4dn.16xlarge": 0},
    "inference_async_seconds": 1.0,
    "inference_realtime_seconds": 0.2,
    "inference_fail_task_types": [],
    "training_phase_seconds": 0.5,
    "training_statuses": ["Starting", "Downloading", "Training", "Uploading"],
    "training_fail_models": [],
    "training_no_output_models": [],
    "training_fail_instance_types": [],
}

BUILTIN_PERMISSIONS = ["train:all", "checkpoint:all", "inference:all", "sagemaker_endpoint:all", "user:all",
                       "role:all"]
DEFAULT_ROLE = "IT Operator"
CHECKPOINT_STATUSES = ["Initial", "Active", "Disabled"]
CHECKPOINT_EXTENSIONS = (".pt", ".pth", ".ckpt", ".safetensors", ".yaml")
TASK_TYPES_EXTRA = ["extra-single-image", "extra-batch-images", "rembg"]
TASK_TYPES_SD = ["txt2img", "img2img"]
TRAINING_ENUM = {"Initial", "Training", "Complete", "Fail", "Failed", "Stopped", "Starting", "Downloading",
                 "Uploading", "Completed", "Pending"}
DATASET_STATUSES = ["Initialed", "Enabled", "Disabled"]
INFERENCE_FIELDS = ["InferenceJobId", "startTime", "createTime", "completeTime", "status", "taskType",
                    "inference_type", "owner_group_or_role", "image_names", "inference_info_name",
                    "sagemakerRaw", "payload_string", "params"]


# -- what an operation receives and returns ---------------------------------------------------------
@dataclass(frozen=True)
class Caller:
    """Who calls, as the two identity headers carry it (spec §2.5); resolved only when an operation
    needs it, so the Lambda's order of failures is kept."""

    username: str | None = None
    authorization: str | None = None


@dataclass
class Reply:
    """A Lambda response: ``statusCode``, ``data`` and ``message`` of the envelope."""

    status: int
    data: Any = None
    message: str | None = None


@dataclass
class GatewayReply:
    """A response API Gateway makes itself, such as a 504 timeout."""

    status: int
    message: str


@dataclass
class Later:
    """Wait ``seconds`` without holding the store, then run ``then`` (inside a transaction)."""

    seconds: float
    then: Callable[[], Reply | GatewayReply]


# -- small helpers ------------------------------------------------------------------------------------


def now_str(t: float | None = None) -> str:
    return datetime.fromtimestamp(time.time() if t is None else t, timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")


def public(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if not k.startswith("_")}


def decimalize(value: Any) -> Any:
    """Numbers read back from DynamoDB are Decimals, which the handlers serialise as strings."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, list):
        return [decimalize(v) for v in value]
    if isinstance(value, dict):
        return {k: decimalize(v) for k, v in value.items()}
    return value


def visible(owners: list[str] | None, username: str | None, roles: Iterable[str]) -> bool:
    """The visibility predicate of spec §2.6."""
    if not owners or "*" in owners:
        return True
    if username and username in owners:
        return True
    return bool(set(owners) & set(roles))


def encode_key(key: dict[str, Any]) -> str:
    return base64.b64encode(json.dumps(key).encode()).decode()


def decode_key(cursor: str) -> dict[str, Any]:
    return jsonbody.loads(base64.b64decode(cursor))


def parse_int(value: str | None, default: int) -> int:
    """``int(get_query_param(event, name, default))`` as the list handlers write it: an absent parameter
    is the default, a present one is converted, so ``?limit=`` is a 400 ``invalid literal for int()...``."""
    return default if value is None else int(value)


def dynamo_limit(limit: int, op: str) -> None:
    if limit < 1:
        raise bad_request(
            f"An error occurred (ValidationException) when calling the {op} operation: 1 validation error "
            f"detected: Value '{limit}' at 'limit' failed to satisfy constraint: Member must have value "
            f"greater than or equal to 1")


def bad_start_key(op: str) -> EsdError:
    return bad_request(f"An error occurred (ValidationException) when calling the {op} operation: "
                       f"The provided starting key is invalid: The provided key element does not match the schema")


def scan_page(rows: list[dict[str, Any]], key: str, limit: int,
              start: str | None) -> tuple[list[dict[str, Any]], str | None]:
    """One page of a DynamoDB Scan over a table whose partition key is ``key``: rows in key order,
    after the start key, ``limit`` of them (applied before any filtering), and the cursor."""
    dynamo_limit(limit, "Scan")
    rows = sorted(rows, key=lambda r: r[key])
    if start:
        cursor = decode_key(start)
        if key not in cursor:
            raise bad_start_key("Scan")
        rows = [r for r in rows if r[key] > cursor[key]]
    page = rows[:limit]
    return page, (encode_key({key: page[-1][key]}) if len(page) == limit else None)


def path_only(url: str) -> str:
    """``/esd/_s3/...?...`` of an absolute URL the emulator made: what a stored record keeps."""
    parts = urlparse(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def at_base(base_url: str, path: str) -> str:
    """A stored path on the address the current request reached (records made before paths were
    stored may hold an absolute URL: their path is kept, their host replaced)."""
    return base_url.rstrip("/") + path_only(path)


def url_basename(url: str) -> str:
    return unquote(urlparse(url).path.rstrip("/").rsplit("/", 1)[-1])


class EsdBackend:
    """Every operation of the route table, as store reads and writes under the Lambda's rules."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.s3 = S3(store)

    # -- settings and storage shorthands ------------------------------------------------------------
    def setting(self, key: str) -> Any:
        return self.store.setting(P, key, DEFAULT_SETTINGS[key])

    @property
    def bucket(self) -> str:
        return self.setting("bucket")

    def get(self, kind: str, id: str) -> dict[str, Any] | None:
        return self.store.get(P, kind, id)

    def put(self, kind: str, id: str, doc: dict[str, Any]) -> None:
        self.store.put(P, kind, id, doc)

    def all(self, kind: str) -> list[dict[str, Any]]:
        return self.store.list(P, kind)

    def presign(self, base_url: str, method: str, key: str, **kw: Any) -> str:
        return self.s3.presign(base_url, method, self.bucket, key, int(self.setting("presign_expires_seconds")),
                               **kw)

    # -- seeding ------------------------------------------------------------------------------------
    def seed(self) -> None:
        """The stack's custom resource: built-in roles and the ``api`` user (spec §2.3)."""
        if not self.store.dump(P).get(P, {}).get("blob"):
            self.s3.wipe()
        for name in (DEFAULT_ROLE, "byoc"):
            self.put("role", name, {"role_name": name, "permissions": list(BUILTIN_PERMISSIONS), "creator": "ESD"})
        self.put("user", defaults.ESD_USERNAME, {"username": defaults.ESD_USERNAME, "roles": [DEFAULT_ROLE],
                                                 "creator": "ESD"})

    # -- lazy transitions ---------------------------------------------------------------------------
    def tick(self) -> None:
        now = time.time()
        with self.store.transaction():
            for kind in ("endpoint_tombstone", "checkpoint_download", "checkpoint", "endpoint", "inference",
                         "training"):
                for doc in self.all(kind):
                    pending = doc.get("_pending") or []
                    if not pending or pending[0]["at"] > now:
                        continue
                    self._advance(kind, doc, now)

    def _advance(self, kind: str, doc: dict[str, Any], now: float) -> None:
        id_ = self._id_of(kind, doc)
        while doc.get("_pending") and doc["_pending"][0]["at"] <= now:
            step = doc["_pending"].pop(0)
            getattr(self, f"_do_{step['do']}")(doc, step)
            if doc.get("_gone"):
                self.store.delete(P, kind, id_)
                return
        self.put(kind, id_, doc)

    ID_FIELDS = {"endpoint": "EndpointDeploymentJobId", "inference": "InferenceJobId", "checkpoint": "id",
                 "training": "id", "checkpoint_download": "_id", "endpoint_tombstone": "endpoint_name"}

    def _id_of(self, kind: str, doc: dict[str, Any]) -> str:
        return doc[self.ID_FIELDS[kind]]

    # =============================================================================================
    # identity
    # =============================================================================================
    def resolve_username(self, caller: Caller) -> str | None:
        name = caller.username
        if name:
            return name
        auth = caller.authorization
        if auth and auth.startswith("Bearer "):
            token = auth[len("Bearer "):].strip()
            return base64.b16decode(token).decode("utf-8")  # lower-case hex -> binascii.Error -> 400
        return None

    def roles_of(self, username: str) -> list[str]:
        user = self.get("user", username)
        return list(user.get("roles") or []) if user else []

    def permissions_of(self, username: str) -> set[str]:
        perms: set[str] = set()
        for r in self.roles_of(username):
            role = self.get("role", r)
            if role:
                perms.update(role.get("permissions") or [])
        return perms

    def permission_map(self, username: str) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for p in sorted(self.permissions_of(username)):
            resource, action = p.split(":")
            out.setdefault(resource, []).append(action)
        return out

    def check_permission(self, caller: Caller, accepted: list[str]) -> str:
        """Spec §2.5: 401 without a (known) user, 403 without any accepted permission."""
        username = self.resolve_username(caller)
        if not username:
            raise EsdError(401, "Unauthorized")
        user = self.get("user", username)
        if user is None:
            raise EsdError(401, "Unauthorized")
        if not user.get("roles"):
            raise bad_request("An error occurred (ValidationException) when calling the Scan operation: "
                              "ExpressionAttributeValues must not be empty")
        if not set(accepted) & self.permissions_of(username):
            raise EsdError(403, f"User {username} has no permissions: {accepted!r}")
        return username

    def query_user(self, name: str) -> dict[str, Any]:
        user = self.get("user", name)
        if user is None:
            raise bad_request(f'user: "{name}" not exist')
        return user

    def roles_created_by(self, username: str) -> list[str]:
        return [r["role_name"] for r in self.all("role") if r.get("creator") == username]

    # =============================================================================================
    # ping, roles, users
    # =============================================================================================
    def ping(self) -> Reply:
        return Reply(200, message="pong")

    def list_roles(self, caller: Caller, role: str | None) -> Reply:
        username = self.check_permission(caller, ["role:all", "role:list"])
        perms = self.permissions_of(username)
        mine = set(self.roles_of(username))
        only = role or None  # roles/list_roles.py: an empty value lists all
        roles = []
        for r in self.all("role"):
            if only is not None and r["role_name"] != only:
                continue
            if "role:all" not in perms and r.get("creator") != username and r["role_name"] not in mine:
                continue
            roles.append({"role_name": r["role_name"], "creator": r.get("creator"),
                          "permissions": r.get("permissions", [])})
        roles.sort(key=lambda r: r["role_name"], reverse=True)
        return Reply(200, {"roles": roles, "previous_evaluated_key": "not_applicable", "last_evaluated_key": None})

    def create_role(self, caller: Caller, body: dict[str, Any] | None) -> Reply:
        """middleware_api/lambda/roles/create_role.py. With ``initial`` only the header user is needed
        (libs/utils.py ``get_user_name``: none -> 401); then ``get_permissions_by_username`` (unknown
        user -> 400 ``user: "<u>" not exist``) and ``creator_permissions['role']`` (no role permission ->
        KeyError, 400 ``'role'``). Without ``role:all``, ``_get_role_by_name`` deserialises the query's
        list of rows as one row, so overwriting any existing role fails with that AttributeError text."""
        body = body or {}
        if body.get("initial"):
            username = self.resolve_username(caller)
            if not username:
                raise EsdError(401, "Unauthorized")
        else:
            username = self.check_permission(caller, ["role:all", "role:create"])
        self.query_user(username)
        pmap = self.permission_map(username)
        role_actions = pmap["role"]
        name = body["role_name"]
        if "all" not in role_actions:
            if self.get("role", name) is not None:
                raise AttributeError("'list' object has no attribute 'items'")
            for p in body["permissions"]:
                resource, action = p.split(":")
                held = pmap.get(resource, [])
                if "all" not in held and action not in held:
                    raise bad_request(f"creator {username} have not permission to create role with permission: [{p}]")
        self.put("role", name, {"role_name": name, "permissions": list(body["permissions"]), "creator": username})
        return Reply(201, message="role created")

    def delete_roles(self, caller: Caller, body: dict[str, Any] | None) -> Reply:
        names = list(dict.fromkeys((body or {})["role_name_list"]))
        if DEFAULT_ROLE in names:
            raise bad_request("cannot delete default role")
        for name in names:
            for user in self.all("user"):
                if name in (user.get("roles") or []):
                    user["roles"] = [r for r in user["roles"] if r != name]
                    self.put("user", user["username"], user)
            self.store.delete(P, "role", name)
        return Reply(204, message="roles deleted")

    def list_users(self, caller: Caller, username: str | None, show_password: str | None) -> Reply:
        only = username or None  # users/list_users.py: an empty value lists all
        show = bool(show_password)
        username = self.check_permission(caller, ["user:all", "user:list"])
        perms = self.permissions_of(username)
        users = []
        for u in self.all("user"):
            if only is not None and u["username"] != only:
                continue
            if "user:all" not in perms and u.get("creator") != username and u["username"] != username:
                continue
            if u.get("password"):
                password = self._decrypt(u["password"]) if show else "********"
            else:
                password = "*"
            role_perms: set[str] = set()
            for r in u.get("roles") or []:
                role = self.get("role", r)
                if role:
                    role_perms.update(role.get("permissions") or [])
            users.append({"username": u["username"], "roles": u.get("roles") or [], "creator": u.get("creator"),
                          "permissions": sorted(role_perms), "password": password})
        users.sort(key=lambda u: u["username"], reverse=True)
        return Reply(200, {"users": users, "previous_evaluated_key": "not_applicable",
                           "last_evaluated_key": "not_applicable"})

    @staticmethod
    def _encrypt(plain: str) -> str:
        # Stands in for the KMS ciphertext: opaque in the store, recoverable for show_password.
        return "kms:" + base64.b64encode(plain.encode()).decode()

    @staticmethod
    def _decrypt(cipher: str) -> str:
        return base64.b64decode(cipher.removeprefix("kms:")).decode()

    def _check_assignable(self, creator: str, pmap: dict[str, list[str]], role_name: str) -> None:
        role = self.get("role", role_name)
        if role is None:
            raise bad_request(f'user roles "{role_name}" not exist')
        for p in role.get("permissions") or []:
            resource, action = p.split(":")
            held = pmap[resource]  # a resource the caller lacks entirely is a KeyError -> 400 "'<resource>'"
            if "all" not in held and action not in held:
                raise EsdError(403, f"creator has no permission to assign permission [{p}] to others")

    def create_user(self, caller: Caller, body: dict[str, Any] | None) -> Reply:
        body = body or {}
        name = body["username"]
        if body.get("initial"):
            self.put("user", name, {"username": name, "roles": [DEFAULT_ROLE], "creator": "ESD",
                                    "password": self._encrypt(body["password"])})
            # users/create_user.py: ``all_roles`` is the fixed pair [Default_Role, 'byoc'], whatever
            # roles exist.
            return Reply(201, {"user": {"username": name, "roles": [DEFAULT_ROLE]},
                               "all_roles": [DEFAULT_ROLE, "byoc"]}, "Created")
        creator = self.check_permission(caller, ["user:all"])
        if self.get("user", creator) is None:
            raise bad_request(f"creator {creator} not exist")
        roles = body.get("roles")
        if roles is None:
            raise TypeError("'NoneType' object is not iterable")
        pmap = self.permission_map(creator)
        # users/create_user.py: the requested roles that exist are checked first, in table (key) order;
        # only then is a requested role that does not exist a 400.
        for r in sorted(set(roles)):
            if self.get("role", r) is not None:
                self._check_assignable(creator, pmap, r)
        for r in roles:
            if self.get("role", r) is None:
                raise bad_request(f'user roles "{r}" not exist')
        self.put("user", name, {"username": name, "roles": list(roles), "creator": creator,
                                "password": self._encrypt(body["password"])})
        return Reply(201, message="Created")

    def delete_users(self, caller: Caller, body: dict[str, Any] | None) -> Reply:
        names = (body or {})["user_name_list"]
        # users/delete_users.py: ``user:all``, then create_user's ``_check_action_permission`` per name,
        # which a ``user:all`` holder always passes: no role checks, missing names are no-ops.
        self.check_permission(caller, ["user:all"])
        for name in names:
            self.store.delete(P, "user", name)
        return Reply(204, message="Users Deleted")

    # =============================================================================================
    # checkpoints
    # =============================================================================================
    def _all_checkpoint_names(self) -> set[str]:
        names: set[str] = set()
        for c in self.all("checkpoint"):
            names.update(c.get("checkpoint_names") or [])
        return names

    @staticmethod
    def _exists_message(name: str) -> str:
        return f"{name} already exists, please use another or rename/delete exists"

    def list_checkpoints(self, caller: Caller, page: str | None, per_page: str | None, username: str | None,
                         status: list[str], types: list[str], roles: list[str]) -> Reply:
        me = self.check_permission(caller, ["checkpoint:all", "checkpoint:list"])
        page_no = parse_int(page, 1)
        page_size = parse_int(per_page, 10)
        param_user = username
        if param_user:
            user_roles = list(self.query_user(param_user).get("roles") or [])
        else:
            user_roles = ["*"]
        statuses = status
        wanted_roles = roles
        rows = [c for c in self.all("checkpoint")
                if (not statuses or c["checkpoint_status"] in statuses)
                and (not types or c["checkpoint_type"] in types)]
        if not rows:
            return Reply(200, {"page": page_no, "per_page": page_size, "pages": 0, "total": 0, "checkpoints": []})
        see_all = "user:all" in self.permissions_of(me)
        seen_roles = user_roles + self.roles_created_by(me)
        out = []
        for c in rows:
            owners = c.get("allowed_roles_or_users") or []
            if not see_all and not visible(owners, param_user, seen_roles):
                continue
            if wanted_roles and not set(owners) & set(wanted_roles):
                continue
            out.append(c)
        out.sort(key=lambda c: c["timestamp"], reverse=True)
        total = len(out)
        items = [{
            "id": c["id"], "s3Location": c["s3_location"], "type": c["checkpoint_type"],
            "status": c["checkpoint_status"], "name": c.get("checkpoint_names") or [], "created": c["timestamp"],
            "params": c.get("params") or {}, "allowed_roles_or_users": c.get("allowed_roles_or_users") or [],
        } for c in out[(page_no - 1) * page_size: page_no * page_size]]
        return Reply(200, {"page": page_no, "per_page": page_size, "pages": total // page_size + 1, "total": total,
                           "checkpoints": decimalize(items)})

    def create_checkpoint(self, caller: Caller, body: dict[str, Any] | None, base_url: str) -> Reply:
        body = body or {}
        filenames = body.get("filenames")
        # checkpoints/create_checkpoint.py: permission first, then the name check reads each item's
        # ``filename`` (a missing one is a KeyError, 400 "'filename'"), and only the presigning builds
        # ``MultipartFileReq`` from each item (libs/common_tools.py), after the URL branch.
        username = self.check_permission(caller, ["checkpoint:all", "checkpoint:create"])
        ctype = body["checkpoint_type"]
        params = dict(body.get("params") or {})
        urls = body.get("urls")
        existing = self._all_checkpoint_names()
        for f in filenames or []:
            if f["filename"].strip() in existing:
                raise bad_request(self._exists_message(f["filename"]))
        for u in urls or []:
            if url_basename(u).strip() in existing:
                raise bad_request(self._exists_message(url_basename(u)))
        if urls:
            creator = params.get("creator")
            allowed = bool(creator) and self.get("user", creator) is not None and bool(
                {"checkpoint:all", "checkpoint:create"} & self.permissions_of(creator))
            for url in dict.fromkeys(urls):
                name = url_basename(url)
                if not allowed or not name.endswith(CHECKPOINT_EXTENSIONS):
                    continue  # the background job silently does nothing
                job_id = str(uuid.uuid4())
                self.put("checkpoint_download", job_id, {
                    "_id": job_id, "url": url, "name": name, "checkpoint_type": ctype, "params": params,
                    "creator": creator,
                    "_pending": [{"at": time.time() + float(self.setting("checkpoint_download_seconds")),
                                  "do": "download"}],
                })
            return Reply(202, message="Checkpoint creation in progress, please check later")
        if filenames is None:
            raise TypeError("'NoneType' object is not iterable")
        filenames = [MULTIPART_FILE.parse(f) for f in filenames]
        cid = str(uuid.uuid4())
        prefix = f"{ctype}/checkpoint/custom/{cid}"
        multipart: dict[str, Any] = {}
        presigned: dict[str, list[str]] = {}
        for f in filenames:
            key = f"{prefix}/{f['filename']}"
            upload_id = self.s3.create_multipart_upload(self.bucket, key)
            multipart[f["filename"]] = {"upload_id": upload_id, "bucket": self.bucket, "key": key}
            presigned[f["filename"]] = [self.presign(base_url, "PUT", key, upload_id=upload_id, part_number=n)
                                        for n in range(1, int(f["parts_number"]) + 1)]
        params.update({"creator": username, "created": now_str(), "multipart_upload": multipart})
        doc = {
            "id": cid, "checkpoint_type": ctype, "s3_location": f"s3://{self.bucket}/{prefix}",
            "checkpoint_status": "Initial", "checkpoint_names": [f["filename"] for f in filenames],
            "params": params, "timestamp": round(time.time(), 6),
            "allowed_roles_or_users": self.roles_of(username), "version": "v1.0",
        }
        self.put("checkpoint", cid, doc)
        return Reply(201, {
            "checkpoint": {"id": cid, "type": ctype, "s3_location": doc["s3_location"], "status": "Initial",
                           "params": params},
            "s3PresignUrl": presigned,
        })

    def _do_download(self, doc: dict[str, Any], step: dict[str, Any]) -> None:
        cid = str(uuid.uuid4())
        prefix = f"{doc['checkpoint_type']}/checkpoint/custom/{cid}"
        self.s3.put_object(self.bucket, f"{prefix}/{doc['name']}",
                           f"emulated download of {doc['url']}\n".encode())
        self.put("checkpoint", cid, {
            "id": cid, "checkpoint_type": doc["checkpoint_type"], "s3_location": f"s3://{self.bucket}/{prefix}",
            "checkpoint_status": "Active", "checkpoint_names": [doc["name"]],
            "params": {**doc["params"], "creator": doc["creator"], "created": now_str(step["at"])},
            "timestamp": round(step["at"], 6), "allowed_roles_or_users": self.roles_of(doc["creator"]),
            "version": "v1.0",
        })
        doc["_gone"] = True

    def update_checkpoint(self, caller: Caller, id: str, body: dict[str, Any] | None) -> Reply:
        body = body or {}
        cid = id
        ckpt = self.get("checkpoint", cid)
        if ckpt is None:
            raise EsdError(404, f"checkpoint not found with id {cid}")
        status, name, tags = body.get("status"), body.get("name"), body.get("multi_parts_tags")
        if status:
            if not tags:
                raise bad_request("multi parts tags is empty")
            if status not in CHECKPOINT_STATUSES:
                raise KeyError(status)
            uploads = (ckpt.get("params") or {}).get("multipart_upload") or {}
            for filename, parts in tags.items():
                if filename not in uploads:
                    continue
                up = uploads[filename]
                ordered = sorted(parts, key=lambda p: p["PartNumber"])
                try:
                    self.s3.complete_multipart_upload(up["bucket"], up["key"], up["upload_id"], ordered,
                                                      int(self.setting("s3_min_part_bytes")))
                except S3Error as e:
                    raise bad_request(e.client_error()) from None
            previous = ckpt["checkpoint_status"]
            ckpt["checkpoint_status"] = status
            self.put("checkpoint", cid, ckpt)
            return Reply(200, {"checkpoint": {"id": cid, "type": ckpt["checkpoint_type"],
                                              "s3_location": ckpt["s3_location"], "status": previous,
                                              "params": ckpt.get("params") or {}}})
        if name:
            if ckpt["checkpoint_status"] != "Active":
                raise bad_request("only active can update name")
            names = ckpt.get("checkpoint_names") or []
            if names and names[0] == name:
                return Reply(200, message="no need to update")
            if name in self._all_checkpoint_names():
                raise bad_request(self._exists_message(name))
            ckpt.setdefault("_pending", []).append({
                "at": time.time() + float(self.setting("checkpoint_rename_seconds")), "do": "rename", "name": name})
            self.put("checkpoint", cid, ckpt)
            return Reply(202, message="rename is processing, please wait")
        return Reply(200, message="OK")

    def _do_rename(self, doc: dict[str, Any], step: dict[str, Any]) -> None:
        names = doc.get("checkpoint_names") or []
        bucket, prefix = parse_s3_uri(doc["s3_location"])
        if names:
            old_key, new_key = f"{prefix}/{names[0]}", f"{prefix}/{step['name']}"
            if self.s3.head_object(bucket, old_key) is not None:
                self.s3.copy_object(bucket, old_key, new_key)
                self.s3.delete_object(bucket, old_key)
        doc["checkpoint_names"] = [step["name"]]

    def delete_checkpoints(self, caller: Caller, body: dict[str, Any] | None) -> Reply:
        for cid in dict.fromkeys((body or {})["checkpoint_id_list"]):
            ckpt = self.get("checkpoint", cid)
            if ckpt is None:
                continue
            bucket, prefix = parse_s3_uri(ckpt["s3_location"])
            self.s3.delete_prefix(bucket, prefix + "/")
            self.store.delete(P, "checkpoint", cid)
        return Reply(204, message="checkpoints deleted")

    # =============================================================================================
    # endpoints
    # =============================================================================================
    ENDPOINT_FIELDS = ["EndpointDeploymentJobId", "endpoint_name", "endpoint_type", "endpoint_status",
                       "autoscaling", "max_instance_number", "min_instance_number", "current_instance_count",
                       "instance_type", "owner_group_or_role", "startTime", "endTime", "error", "status",
                       "custom_extensions"]

    def _endpoint_record(self, doc: dict[str, Any]) -> dict[str, Any]:
        return {k: doc.get(k) for k in self.ENDPOINT_FIELDS}

    def list_endpoints(self, caller: Caller, limit: str | None, exclusive_start_key: str | None,
                       endpointDeploymentJobId: str | None, username: str | None) -> Reply:
        me = self.check_permission(caller, ["sagemaker_endpoint:all", "sagemaker_endpoint:list"])
        page_size = parse_int(limit, 10)
        start = exclusive_start_key
        by_id = endpointDeploymentJobId
        param_user = username
        roles: list[str] = []
        if param_user:
            roles = list(self.query_user(param_user).get("roles") or [])
        roles += self.roles_created_by(me)
        see_all = "sagemaker_endpoint:all" in self.permissions_of(me)

        def ok(e: dict[str, Any]) -> bool:
            return see_all or (bool(param_user) and visible(e.get("owner_group_or_role"), param_user, roles))

        lek = None
        if by_id:
            page = [e for e in self.all("endpoint") if e["EndpointDeploymentJobId"] == by_id]
        else:
            page, lek = scan_page(self.all("endpoint"), "EndpointDeploymentJobId", page_size, start)
        out = [self._endpoint_record(e) for e in page if ok(e)]
        out.sort(key=lambda e: e["startTime"] or "", reverse=True)
        return Reply(200, {"endpoints": decimalize(out), "last_evaluated_key": lek})

    def _sagemaker_error(self, code: str, op: str, message: str) -> EsdError:
        return bad_request(f"An error occurred ({code}) when calling the {op} operation: {message}")

    def create_endpoint(self, caller: Caller, body: dict[str, Any] | None) -> Reply:
        body = body or {}
        if body.get("custom_extensions") and body.get("custom_docker_image_uri"):
            raise bad_request("custom_extensions and custom_docker_image_uri cannot be used together")
        self.check_permission(caller, ["sagemaker_endpoint:all", "sagemaker_endpoint:create"])
        ep_id = str(uuid.uuid4())
        etype = body["endpoint_type"]
        short = body.get("endpoint_name") or ep_id[:7]
        name = f"esd-{etype.lower()}-{short}"
        if etype == "Serverless":
            raise bad_request("Serverless endpoint is not supported yet")
        count = body["initial_instance_count"]
        # endpoints/create_endpoint.py: these texts name the requested ``endpoint_name`` (None when unset),
        # not the physical name, which is only made after them.
        if int(count) < 1:
            raise bad_request(f"initial_instance_count should be at least 1: {body.get('endpoint_name')}")
        if body["autoscaling_enabled"] and etype == "Real-time" and int(float(body["min_instance_number"])) < 1:
            raise bad_request(f"min_instance_number should be at least 1 for real-time endpoint: "
                              f"{body.get('endpoint_name')}")
        exts = [e for e in dict.fromkeys(re.split(r"[ ,\n]", body.get("custom_extensions") or "")) if e]
        if len(exts) >= 3:
            raise bad_request("custom_extensions should be at most 3")
        live = [e for e in self.all("endpoint") if e.get("endpoint_status") != "Deleted"]
        for role in body["assign_to_roles"]:
            if any(role in (e.get("owner_group_or_role") or []) for e in live):
                raise bad_request(f"role [{role}] has a valid endpoint already, not allow to have another one")
        region, account = self.setting("region"), self.setting("account_id")
        if any(e["endpoint_name"] == name for e in self.all("endpoint")) or self.get("endpoint_tombstone", name):
            raise self._sagemaker_error(
                "ValidationException", "CreateModel",
                f'Cannot create already existing model "arn:aws:sagemaker:{region}:{account}:model/'
                f'esd-model-{etype.lower()}-{short}"')
        itype = body["instance_type"]
        limit = int(self.setting("endpoint_instance_type_limits").get(itype, self.setting("endpoint_instance_limit")))
        used = sum(int(float(e.get("_initial_instance_count") or 0)) for e in live if e.get("instance_type") == itype
                   and e.get("endpoint_status") in ("Creating", "InService", "Updating"))
        delta = int(count)
        if used + delta > limit:
            raise self._sagemaker_error(
                "ResourceLimitExceeded", "CreateEndpoint",
                f"The account-level service limit '{itype} for endpoint usage' is {limit} Instances, with current "
                f"utilization of {used} Instances and a request delta of {delta} Instances. Please use AWS Service "
                f"Quotas to request an increase for this quota. If AWS Service Quotas is not available, contact "
                f"AWS support to request an increase for this quota.")
        record = {
            "EndpointDeploymentJobId": ep_id, "endpoint_name": name, "endpoint_type": etype,
            "endpoint_status": "Creating", "autoscaling": body["autoscaling_enabled"],
            "max_instance_number": body["max_instance_number"], "min_instance_number": body["min_instance_number"],
            "current_instance_count": "0", "instance_type": itype,
            "owner_group_or_role": list(body["assign_to_roles"]), "startTime": now_str(), "endTime": None,
            "error": None, "status": None, "custom_extensions": ",".join(exts),
        }
        fails = itype in (self.setting("endpoint_fail_instance_types") or [])
        self.put("endpoint", ep_id, {
            **record, "_initial_instance_count": count,
            "_pending": [{"at": time.time() + float(self.setting("endpoint_create_seconds")),
                          "do": "endpoint_failed" if fails else "endpoint_in_service"}],
        })
        return Reply(202, record, f"Endpoint deployment started: {name}")

    def _do_endpoint_in_service(self, doc: dict[str, Any], step: dict[str, Any]) -> None:
        doc["endpoint_status"] = "InService"
        if not doc.get("endTime"):
            doc["endTime"] = now_str(step["at"])
        doc["current_instance_count"] = int(float(doc.get("_initial_instance_count") or 1))

    def _do_endpoint_failed(self, doc: dict[str, Any], step: dict[str, Any]) -> None:
        doc["endpoint_status"] = "Failed"
        doc["error"] = self.setting("endpoint_fail_error")
        doc["current_instance_count"] = 0

    def _do_forget(self, doc: dict[str, Any], step: dict[str, Any]) -> None:
        doc["_gone"] = True

    def delete_endpoints(self, caller: Caller, body: dict[str, Any] | None) -> Reply:
        names = (body or {})["endpoint_name_list"]
        linger = float(self.setting("endpoint_delete_seconds"))
        for name in names:
            for e in self.all("endpoint"):
                if e["endpoint_name"] != name:
                    continue
                self.store.delete(P, "endpoint", e["EndpointDeploymentJobId"])
                if linger > 0:
                    # SageMaker is still deleting: the physical name stays taken for a while.
                    self.put("endpoint_tombstone", name, {
                        "endpoint_name": name, "_pending": [{"at": time.time() + linger, "do": "forget"}]})
        return Reply(204, message="Endpoints Deleted")

    # =============================================================================================
    # inferences
    # =============================================================================================
    def _param_key(self, job: dict[str, Any]) -> str:
        return parse_s3_uri(job["params"]["input_body_s3"])[1]

    def _result_prefix(self, job_id: str) -> str:
        return f"out/{job_id}/result/"

    def create_inference(self, caller: Caller, body: dict[str, Any] | None, base_url: str) -> Reply | Later:
        body = body or {}
        payload = body.get("payload_string")
        if payload:
            try:
                jsonbody.loads(payload)
            except ValueError:
                raise bad_request("payload_string must be valid json string") from None
        username = self.check_permission(caller, ["inference:all", "inference:create"])
        task = body["task_type"]
        if task not in TASK_TYPES_SD + TASK_TYPES_EXTRA:
            raise bad_request(f"task type {task} should be in {TASK_TYPES_EXTRA} or {TASK_TYPES_SD}")
        itype = body["inference_type"]
        wanted = body.get("sagemaker_endpoint_name")
        if wanted:
            matches = [e for e in self.all("endpoint") if e["endpoint_name"] == wanted]
            if not matches:
                raise IndexError("list index out of range")
            endpoint = matches[0]
            if endpoint["endpoint_status"] != "InService":
                raise bad_request(f"sagemaker endpoint is not ready with status: {endpoint['endpoint_status']}")
        else:
            roles = self.roles_of(username)
            candidates = [e for e in self.all("endpoint")
                          if e["endpoint_status"] in ("InService", "Updating") and e["endpoint_type"] == itype
                          and visible(e.get("owner_group_or_role"), username, roles)]
            if not candidates:
                raise bad_request(f'no available {itype} endpoints for user "{username}"')
            endpoint = random.choice(candidates)
        models = body.get("models") or {}
        used_models: dict[str, list[dict[str, Any]]] = {}
        reply_models: list[dict[str, Any]] = []
        if task in TASK_TYPES_SD:
            missing = []
            active = [c for c in self.all("checkpoint") if c["checkpoint_status"] == "Active"]
            # inferences/create_inference_job.py ``_get_checkpoint_by_name``: VAE "None"/"Automatic" stand
            # for a pseudo checkpoint (id "VAE", location "None"); a used model is named by the found
            # checkpoint's first name.
            for ctype, names in models.items():
                for n in names or []:
                    if ctype == "VAE" and n in ("None", "Automatic"):
                        hit: dict[str, Any] | None = {"id": "VAE", "checkpoint_names": [n], "s3_location": "None"}
                    else:
                        hit = next((c for c in active if c["checkpoint_type"] == ctype
                                    and n in (c.get("checkpoint_names") or [])), None)
                    if hit is None:
                        missing.append(f"checkpoint with name {n}, type {ctype} is not found")
                        continue
                    used_models.setdefault(ctype, []).append(
                        {"id": hit["id"], "model_name": hit["checkpoint_names"][0], "s3": hit["s3_location"],
                         "type": ctype})
                    reply_models.append({"id": hit["id"], "name": hit["checkpoint_names"], "type": ctype})
            if missing:
                raise bad_request(" ".join(missing))
        job_id = str(uuid.uuid4())
        key = f"{task}/infer_v2/{job_id}/api_param.json"
        # Only a request without payload_string gets an upload URL (an empty string gets none, and the
        # job is not started either).
        upload_url = self.presign(base_url, "PUT", key) if payload is None else None
        job: dict[str, Any] = {
            "InferenceJobId": job_id, "status": "created", "taskType": task, "inference_type": itype,
            "owner_group_or_role": [username], "createTime": now_str(), "startTime": now_str(),
            "params": {
                # Stored without scheme and host: each reader gets it on the address it used (at_base).
                "input_body_s3": f"s3://{self.bucket}/{key}",
                "input_body_presign_url": path_only(upload_url) if upload_url else None,
                "sagemaker_inference_endpoint_id": endpoint["EndpointDeploymentJobId"],
                "sagemaker_inference_endpoint_name": endpoint["endpoint_name"],
                "sagemaker_inference_instance_type": endpoint["instance_type"],
            },
        }
        if task in TASK_TYPES_SD:  # only txt2img/img2img record the models they use
            job["params"]["used_models"] = used_models
        if payload is not None:
            job["payload_string"] = payload
        self.put("inference", job_id, job)
        if payload:
            return self._start(base_url, job)
        data: dict[str, Any] = {"id": job_id, "type": task, "api_params_s3_location": job["params"]["input_body_s3"],
                                "api_params_s3_upload_url": upload_url}
        if task in TASK_TYPES_SD:
            data["models"] = reply_models
        return Reply(201, {"inference": data})

    def start_inference(self, caller: Caller, id: str, base_url: str) -> Reply | Later:
        self.check_permission(caller, ["inference:all"])
        job_id = id
        job = self.get("inference", job_id)
        if job is None:
            raise bad_request(f"InferenceJobId {job_id} not found")
        return self._start(base_url, job)

    def _start(self, base_url: str, job: dict[str, Any]) -> Reply | Later:
        name = job["params"]["sagemaker_inference_endpoint_name"]
        async_ = job["inference_type"] == "Async"
        if not any(e["endpoint_name"] == name for e in self.all("endpoint")):
            account = self.setting("account_id")
            op = "InvokeEndpointAsync" if async_ else "InvokeEndpoint"
            raise self._sagemaker_error("ValidationException", op,
                                        f"Endpoint {name} of account {account} not found.")
        job_id = job["InferenceJobId"]
        for k in ("completeTime", "image_names", "inference_info_name", "sagemakerRaw"):
            job.pop(k, None)
        job["startTime"] = now_str()
        if async_:
            output_path = f"s3://{self.bucket}/sagemaker_output/{uuid.uuid4()}.out"
            job["status"] = "inprogress"
            job["params"]["output_path"] = output_path
            job["_pending"] = [{"at": time.time() + float(self.setting("inference_async_seconds")),
                                "do": "inference_finish"}]
            self.put("inference", job_id, job)
            return Reply(202, {"inference": {"inference_id": job_id, "status": "inprogress", "endpoint_name": name,
                                             "output_path": output_path}})
        delay = float(self.setting("inference_realtime_seconds"))
        timeout = float(self.setting("gateway_timeout_seconds"))
        self.put("inference", job_id, job)
        if delay > timeout:
            job["_pending"] = [{"at": time.time() + delay, "do": "inference_finish"}]
            self.put("inference", job_id, job)
            return Later(timeout, lambda: GatewayReply(504, "Endpoint request timed out"))

        def finish() -> Reply:
            current = self.get("inference", job_id)
            if current is None:
                raise bad_request(f"InferenceJobId {job_id} not found")
            error = self._run_inference(current, time.time())
            self.put("inference", job_id, current)
            if error:
                raise bad_request(error)
            return Reply(200, self._inference_view(current, base_url))

        return Later(delay, finish)

    def _do_inference_finish(self, doc: dict[str, Any], step: dict[str, Any]) -> None:
        error = self._run_inference(doc, step["at"])
        if error and doc["inference_type"] == "Async":
            doc["status"] = "failed"

    def _run_inference(self, job: dict[str, Any], at: float) -> str | None:
        """The model server: reads the parameters, writes images. Returns the raw error text on failure."""
        job_id = job["InferenceJobId"]
        if job.get("payload_string"):
            raw: str | None = job["payload_string"]
        else:
            meta = self.s3.head_object(self.bucket, self._param_key(job))
            raw = self.s3.get_object(self.bucket, self._param_key(job))[1].decode("utf-8", "replace") if meta else None
        error = None
        params: dict[str, Any] = {}
        if raw is None:
            error = json.dumps({"error": f"api_param.json not found: {job['params']['input_body_s3']}"})
        else:
            try:
                params = jsonbody.loads(raw)
                if not isinstance(params, dict):
                    raise ValueError("parameters are not a JSON object")
            except ValueError as e:
                error = json.dumps({"error": f"invalid parameters: {e}"})
        if error is None and job["taskType"] in (self.setting("inference_fail_task_types") or []):
            error = json.dumps({"error": "InternalServerError", "detail": "model failed (emulated)"})
        if error:
            job["sagemakerRaw"] = error
            job["completeTime"] = now_str(at)
            return error
        count = 1
        if job["taskType"] in TASK_TYPES_SD:
            try:
                count = max(1, min(8, int(params.get("batch_size", 1)) * int(params.get("n_iter", 1))))
            except (TypeError, ValueError):
                count = 1
        prefix = self._result_prefix(job_id)
        names = []
        for i in range(count):
            png = make_png(32, 32, f"{job_id}/{i}/{params.get('prompt', '')}/{params.get('seed', '')}".encode())
            self.s3.put_object(self.bucket, f"{prefix}image_{i}.png", png, "image/png")
            names.append(f"image_{i}.png")
        info = {"parameters": params, "info": {"infotexts": [str(params.get("prompt", ""))] * count}}
        self.s3.put_object(self.bucket, f"{prefix}{job_id}_param.json", json.dumps(info).encode(),
                           "application/json")
        job.update({"status": "succeed", "completeTime": now_str(at), "image_names": names,
                    "inference_info_name": f"{job_id}_param.json"})
        return None

    def _inference_view(self, job: dict[str, Any], base_url: str) -> dict[str, Any]:
        prefix = self._result_prefix(job["InferenceJobId"])
        expires = int(self.setting("presign_expires_seconds"))
        imgs = [self.s3.presign(base_url, "GET", self.bucket, prefix + n, expires) for n in job.get("image_names") or []]
        out = [self.s3.presign(base_url, "GET", self.bucket, f"{prefix}{job['InferenceJobId']}_param.json", expires)]
        return decimalize({"img_presigned_urls": imgs, "output_presigned_urls": out,
                           **self._job_at_base(public(job), base_url)})

    @staticmethod
    def _job_at_base(job: dict[str, Any], base_url: str) -> dict[str, Any]:
        """The stored upload URL on the reader's own address (the job record keeps only its path)."""
        params = job.get("params")
        if isinstance(params, dict) and params.get("input_body_presign_url"):
            job = {**job, "params": {**params,
                                     "input_body_presign_url": at_base(base_url, params["input_body_presign_url"])}}
        return job

    def get_inference(self, caller: Caller, id: str, base_url: str) -> Reply:
        job_id = id
        job = self.get("inference", job_id)
        if job is None:
            raise EsdError(404, f"inference with id {job_id} not found")
        return Reply(200, self._inference_view(job, base_url))

    def list_inferences(self, caller: Caller, type: str | None, limit: str | None, exclusive_start_key: str | None,
                        username: str | None, base_url: str) -> Reply:
        task = "txt2img" if type is None else type  # inferences/list_inferences.py: only an absent type defaults
        page_size = parse_int(limit, 10)
        start = exclusive_start_key
        param_user = username
        roles = list(self.query_user(param_user).get("roles") or []) if param_user else []
        dynamo_limit(page_size, "Query")
        if task == "":  # the index's key may not be empty (DynamoDB's wording; guess)
            raise bad_request("An error occurred (ValidationException) when calling the Query operation: One or "
                              "more parameter values are not valid. The AttributeValue for a key attribute cannot "
                              "contain an empty string value. IndexName: taskType-createTime-index, IndexKey: "
                              "taskType")
        rows = sorted((j for j in self.all("inference") if j["taskType"] == task),
                      key=lambda j: (j["createTime"], j["InferenceJobId"]), reverse=True)
        if start:
            key = decode_key(start)
            if not {"InferenceJobId", "createTime"} <= set(key):
                raise bad_start_key("Query")
            rows = [j for j in rows if (j["createTime"], j["InferenceJobId"]) < (key["createTime"],
                                                                                  key["InferenceJobId"])]
        page = rows[:page_size]
        lek = None
        if len(page) == page_size:
            last = page[-1]
            lek = encode_key({"InferenceJobId": last["InferenceJobId"], "taskType": last["taskType"],
                              "createTime": last["createTime"]})
        out = [self._job_at_base({k: j.get(k) for k in INFERENCE_FIELDS}, base_url) for j in page
               if not param_user or visible(j.get("owner_group_or_role"), param_user, roles)]
        return Reply(200, {"inferences": decimalize(out), "last_evaluated_key": lek})

    def delete_inferences(self, caller: Caller, body: dict[str, Any] | None) -> Reply:
        for job_id in dict.fromkeys((body or {})["inference_id_list"]):
            job = self.get("inference", job_id)
            if job is None:
                continue
            self.s3.delete_object(self.bucket, self._param_key(job))
            self.s3.delete_prefix(self.bucket, f"out/{job_id}/")
            self.store.delete(P, "inference", job_id)
        return Reply(204, message="inferences deleted")

    # =============================================================================================
    # trainings
    # =============================================================================================
    # Paths checked by the v1.5.0 Lambda with ``query_data`` (middleware_api/lambda/common/util.py):
    # a missing *or falsy* value (``""``, ``0``, ``null``...) is a 400 ``Missing <dotted path>``, in this
    # order. ``training_instance_type`` is not among them: a falsy one falls back to the stack's default.
    REQUIRED_TRAINING_PATHS = (("training_params", "model"), ("training_params", "dataset"),
                               ("training_params", "fm_type"), ("config_params", "saving_arguments", "output_name"),
                               ("config_params", "saving_arguments", "save_every_n_epochs"),
                               ("config_params", "training_arguments", "max_train_epochs"))
    DEFAULT_TRAINING_INSTANCE_TYPE = "ml.g4dn.2xlarge"  # infrastructure/src/api/trainings/create-training-job.ts
    TOML_FILES = {"sd_1_5": "kohya_config_cloud.toml", "sd_xl": "kohya_config_cloud_xl.toml"}  # common/const.py

    @staticmethod
    def _query_data(data: dict[str, Any], path: tuple[str, ...]) -> Any:
        value: Any = data
        for key in path:
            value = value.get(key)
            if not value:
                raise ValueError(f"Missing {'.'.join(path)}")
        return value

    def create_training(self, caller: Caller, body: dict[str, Any] | None) -> Reply:
        """middleware_api/lambda/trainings/create_training_job.py (``_create_training_job``): permission,
        the kohya check, the ``query_data`` paths above, the model (first checkpoint name), the dataset
        (its info row), then fm_type. The reply's ``params`` is the request's, with ``model`` and
        ``dataset`` replaced by ``s3_model_path``/``s3_data_path`` and ``s3_toml_path`` added."""
        body = body or {}
        username = self.check_permission(caller, ["train:all"])
        lora_type = body["lora_train_type"]
        if lora_type.lower() != "kohya":
            raise bad_request(f"Invalid lora train type: {lora_type}, the valid value is kohya.")
        params = json.loads(json.dumps(body["params"]))
        model, dataset_name, fm_type, output_name, save_every, max_epochs = (
            self._query_data(params, path) for path in self.REQUIRED_TRAINING_PATHS)
        config = params["config_params"]
        config["saving_arguments"]["save_every_n_epochs"] = int(save_every)
        config["training_arguments"]["max_train_epochs"] = int(max_epochs)
        tp = params["training_params"]
        base = None
        for c in self.all("checkpoint"):
            if c["checkpoint_names"][0] == model:  # an empty names list fails here, as in 1.5.0
                base = c
                break
        if base is None:
            raise bad_request("Model not found")
        del tp["model"]
        tp["s3_model_path"] = f"{base['s3_location']}/{model}"
        if self.get("dataset", dataset_name) is None:
            raise bad_request("Dataset not found")
        del tp["dataset"]
        tp["s3_data_path"] = f"s3://{self.bucket}/dataset/{dataset_name}"  # get_dataset_location: no prefix
        if fm_type.lower() not in self.TOML_FILES:
            raise bad_request(f"Invalid fm_type {fm_type}, the valid values are sd_1_5 and sd_xl.")
        job_id = str(uuid.uuid4())
        train_prefix = f"kohya/train/{job_id}"
        input_location = f"s3://{self.bucket}/{train_prefix}/input"
        output_location = f"s3://{self.bucket}/{train_prefix}/output"
        toml_key = f"{train_prefix}/input/{self.TOML_FILES[fm_type.lower()]}"
        self.s3.put_object(self.bucket, toml_key, self._toml(config).encode(), "application/toml")
        tp["s3_toml_path"] = f"s3://{self.bucket}/{toml_key}"
        params["training_type"] = lora_type.lower()
        # 1.5.0 compares the module string with an Enum member, which never matches: any
        # additional_network.network_module makes the output checkpoint "Stable-diffusion".
        network = config.get("additional_network")
        ckpt_type = "Stable-diffusion" if isinstance(network, dict) and "network_module" in network else "Lora"
        created = round(time.time(), 6)
        self.put("checkpoint", job_id, {
            "id": job_id, "checkpoint_type": ckpt_type, "s3_location": output_location,
            "checkpoint_status": "Initial", "checkpoint_names": [output_name],
            "params": {"creator": username, "created": now_str(created)}, "timestamp": created,
            "allowed_roles_or_users": self.roles_of(username), "version": "v1.0",
        })
        itype = tp.get("training_instance_type") or self.DEFAULT_TRAINING_INSTANCE_TYPE
        if itype in (self.setting("training_fail_instance_types") or []):
            # The record was created and is deleted again; the output checkpoint is left behind.
            self.s3.delete_prefix(self.bucket, f"{train_prefix}/input/")
            raise self._sagemaker_error(
                "ResourceLimitExceeded", "CreateTrainingJob",
                f"The account-level service limit '{itype} for training job usage' is 0 Instances, with current "
                f"utilization of 0 Instances and a request delta of 1 Instances. Please use AWS Service Quotas to "
                f"request an increase for this quota. If AWS Service Quotas is not available, contact AWS support "
                f"to request an increase for this quota.")
        resp_params = params
        phase = float(self.setting("training_phase_seconds"))
        t = time.time()
        pending = []
        for i, status in enumerate(self.setting("training_statuses") or []):
            pending.append({"at": t + phase * (i + 1), "do": "training_status", "status": status})
        if model in (self.setting("training_fail_models") or []):
            result = "Failed"
        elif model in (self.setting("training_no_output_models") or []):
            result = "Fail"
        else:
            result = "Completed"
        pending.append({"at": t + phase * (len(pending) + 1), "do": "training_finish", "result": result})
        self.put("training", job_id, {
            "id": job_id, "checkpoint_id": job_id, "job_status": "Training", "model_id": "kohya",
            "params": resp_params, "timestamp": created, "train_type": "Stable-diffusion",
            "allowed_roles_or_users": [username], "input_location": input_location,
            "output_location": output_location, "sagemaker_train_name": f"kohya-{job_id[:8]}-{int(created)}",
            "_output_name": output_name, "_pending": pending,
        })
        # _start_training_job replies with the request's own params (numbers stay numbers: only values read
        # back from DynamoDB are Decimals) and ``created`` as str(timestamp).
        return Reply(201, {"id": job_id, "status": "Training", "created": str(created), "params": resp_params,
                           "input_location": input_location, "output_location": output_location})

    @staticmethod
    def _toml(config: dict[str, Any]) -> str:
        lines = []
        for section, values in config.items():
            lines.append(f"[{section}]")
            if isinstance(values, dict):
                lines += [f"{k} = {json.dumps(v)}" for k, v in values.items()]
        return "\n".join(lines) + "\n"

    def _do_training_status(self, doc: dict[str, Any], step: dict[str, Any]) -> None:
        doc["job_status"] = step["status"]

    def _do_training_finish(self, doc: dict[str, Any], step: dict[str, Any]) -> None:
        result = step["result"]
        doc["job_status"] = result
        if result != "Completed":
            return
        ckpt = self.get("checkpoint", doc["checkpoint_id"])
        name = f"{doc['_output_name']}.safetensors"
        bucket, prefix = parse_s3_uri(doc["output_location"])
        self.s3.put_object(bucket, f"{prefix}/{name}", f"emulated LoRA {doc['id']}\n".encode())
        if ckpt is not None:
            ckpt["checkpoint_status"] = "Active"
            ckpt["checkpoint_names"] = [name]
            self.put("checkpoint", ckpt["id"], ckpt)

    def get_training(self, caller: Caller, id: str) -> Reply:
        self.check_permission(caller, ["train:all"])
        job_id = id
        job = self.get("training", job_id)
        if job is None:
            raise EsdError(404, f"Job with id {job_id} not found")
        keys = ("id", "checkpoint_id", "job_status", "model_id", "params", "timestamp", "train_type")
        return Reply(200, decimalize({k: job.get(k) for k in keys}))

    def list_trainings(self, caller: Caller, limit: str | None, exclusive_start_key: str | None) -> Reply:
        username = self.check_permission(caller, ["train:all"])
        page_size = parse_int(limit, 10)
        start = exclusive_start_key
        page, lek = scan_page(self.all("training"), "id", page_size, start)
        if not page:
            return Reply(200, {"trainings": []})
        for j in page:
            if j["job_status"] not in TRAINING_ENUM:
                raise KeyError(j["job_status"])
        roles = self.roles_of(username)
        out = [{
            "id": j["id"], "modelName": "not_applied", "status": j["job_status"], "trainType": j["train_type"],
            "created": j["timestamp"], "sagemakerTrainName": j.get("sagemaker_train_name"), "params": j["params"],
        } for j in page if visible(j.get("allowed_roles_or_users"), username, roles)]
        return Reply(200, {"trainings": decimalize(out), "last_evaluated_key": lek})

    def delete_trainings(self, caller: Caller, body: dict[str, Any] | None) -> Reply:
        ids = (body or {})["training_id_list"]
        self.check_permission(caller, ["train:all"])
        for job_id in dict.fromkeys(ids):
            job = self.get("training", job_id)
            if job is None:
                continue
            bucket, prefix = parse_s3_uri(job["input_location"])
            self.s3.delete_prefix(bucket, prefix + "/")
            model_path = ((job.get("params") or {}).get("training_params") or {}).get("s3_model_path")
            if model_path:
                # 1.5.0 bug: the base model file is deleted along with the job's input.
                self.s3.delete_object(*parse_s3_uri(model_path))
            self.store.delete(P, "training", job_id)
        return Reply(204, message="training jobs deleted")

    # =============================================================================================
    # datasets
    # =============================================================================================
    # Datasets follow middleware_api/lambda/datasets/*.py and libs/data_types.py (DatasetInfo,
    # DatasetItem). Object keys: the info's ``get_s3_key()`` is ``dataset/<name>[/<prefix>]``; uploads go
    # to ``<that>/<filename>``; an item's own key (``get_s3_key(prefix)``, behind ``preview_url``) is
    # ``dataset/<name>[/<prefix>]/<item name>``. An item's ``key`` on the wire is its sort key
    # ``<timestamp>_<name>``, and its params gain ``original_file_name``.
    @staticmethod
    def _dataset_s3_key(name: str, prefix: str) -> str:
        return f"dataset/{name}/{prefix}" if prefix else f"dataset/{name}"

    def _dataset_visible(self, ds: dict[str, Any], username: str, roles: list[str]) -> bool:
        """datasets/list_datasets.py, get_dataset.py: owners, when there are any, decide; a dataset with
        no owners (legacy data) is shown to ``user:all`` holders only."""
        owners = ds.get("allowed_roles_or_users")
        if owners:
            return visible(owners, username, roles)
        return "user:all" in self.permissions_of(username)

    def create_dataset(self, caller: Caller, body: dict[str, Any] | None, base_url: str) -> Reply:
        """datasets/create_dataset.py"""
        body = body or {}
        items = [DATASET_ITEM.parse(i) for i in body["content"]]
        username = self.check_permission(caller, ["train:all"])
        name = body["dataset_name"]
        prefix = body.get("prefix") or ""
        base = self._dataset_s3_key(name, prefix)
        now = time.time()
        timestamp = repr(round(now, 6))
        self.put("dataset", name, {
            "dataset_name": name, "dataset_status": "Initialed", "timestamp": round(now, 6), "prefix": prefix,
            "params": body.get("params") or {}, "allowed_roles_or_users": self.roles_of(username),
        })
        urls: dict[str, str] = {}
        for item in items:
            params = dict(item.get("params") or {})
            params["original_file_name"] = item["filename"]
            sort_key = f"{timestamp}_{item['name']}"
            self.put("dataset_item", f"{name}/{sort_key}", {
                "dataset_name": name, "sort_key": sort_key, "name": item["name"], "type": item["type"],
                "params": params, "data_status": "Initialed",
            })
            urls[item["filename"]] = self.presign(base_url, "PUT", f"{base}/{item['filename']}")
        return Reply(201, {"datasetName": name, "s3PresignUrl": urls})

    def _dataset_items(self, name: str) -> list[dict[str, Any]]:
        return sorted((i for i in self.all("dataset_item") if i["dataset_name"] == name),
                      key=lambda i: i["sort_key"])

    def update_dataset(self, caller: Caller, id: str, body: dict[str, Any] | None) -> Reply:
        body = body or {}
        self.check_permission(caller, ["train:all"])
        name = id
        ds = self.get("dataset", name)
        if ds is None:
            raise EsdError(404, f"dataset {name} is not found")
        status = body["status"]
        if status not in DATASET_STATUSES:
            raise KeyError(status)
        ds["dataset_status"] = status
        self.put("dataset", name, ds)
        for item in self._dataset_items(name):
            item["data_status"] = status
            self.put("dataset_item", f"{name}/{item['sort_key']}", item)
        return Reply(200, {"datasetName": name, "status": status})

    def list_datasets(self, caller: Caller, limit: str | None, exclusive_start_key: str | None,
                      dataset_status: str | None) -> Reply:
        username = self.check_permission(caller, ["train:all"])
        page_size = parse_int(limit, 10)
        start = exclusive_start_key
        status = dataset_status
        page, lek = scan_page(self.all("dataset"), "dataset_name", page_size, start)
        if not page:
            return Reply(200, {"datasets": []})
        roles = self.roles_of(username)
        out = [{"datasetName": d["dataset_name"],
                "s3": f"s3://{self.bucket}/{self._dataset_s3_key(d['dataset_name'], d.get('prefix') or '')}",
                "status": d["dataset_status"], "timestamp": d["timestamp"], **(d.get("params") or {})}
               for d in page if (not status or d["dataset_status"] == status)
               and self._dataset_visible(d, username, roles)]
        out.sort(key=lambda d: d["timestamp"], reverse=True)  # datasets/list_datasets.py sort_datasets
        return Reply(200, {"datasets": decimalize(out), "last_evaluated_key": lek})

    def get_dataset(self, caller: Caller, id: str, base_url: str) -> Reply:
        username = self.check_permission(caller, ["train:all"])
        name = id
        ds = self.get("dataset", name)
        if ds is None:
            raise EsdError(404, f"dataset {name} is not found")
        if not self._dataset_visible(ds, username, self.roles_of(username)):
            raise EsdError(403, "no permission to view dataset")
        prefix = ds.get("prefix") or ""
        data = [{"key": i["sort_key"], "name": i["name"], "type": i["type"],
                 "preview_url": self.presign(base_url, "GET", f"{self._dataset_s3_key(name, prefix)}/{i['name']}"),
                 "dataStatus": i["data_status"], **(i.get("params") or {})} for i in self._dataset_items(name)]
        return Reply(200, decimalize({
            "dataset_name": name, "datasetName": name, "prefix": ds.get("prefix", ""),
            "s3": f"s3://{self.bucket}/{self._dataset_s3_key(name, prefix)}",
            "status": ds["dataset_status"], "timestamp": ds["timestamp"], "data": data, **(ds.get("params") or {}),
        }))

    def delete_datasets(self, caller: Caller, body: dict[str, Any] | None) -> Reply:
        for name in dict.fromkeys((body or {})["dataset_name_list"]):
            if self.get("dataset", name) is None:
                continue
            for item in self._dataset_items(name):
                self.store.delete(P, "dataset_item", f"{name}/{item['sort_key']}")
            self.s3.delete_prefix(self.bucket, f"dataset/{name}/")
            self.store.delete(P, "dataset", name)
        return Reply(204, message="datasets deleted")


_backends: dict[int, EsdBackend] = {}


def backend(store: Store) -> EsdBackend:
    """One backend per store (the router, the seed and the admin refresh share it)."""
    if id(store) not in _backends:
        _backends[id(store)] = EsdBackend(store)
    return _backends[id(store)]
