"""Authentication for the Fabric emulator: the IAM token API and SDK-HMAC-SHA256 verification.

Tokens are stateless: ``MIIemu<payload>.<mac>`` where the payload (base64url JSON) names the user,
project, issue and expiry times and a fingerprint of the user's password, and the MAC is an
HMAC-SHA256 under the ``token_secret`` setting. So tokens survive a restart and an admin reset
(like real IAM tokens, which live outside the service), and changing a user's password in the
``users`` setting invalidates that user's tokens, as the vendor documents.

``SDK-HMAC-SHA256`` carries no nonce: the only replay bound is the X-Sdk-Date window
(``signature_skew_s``, 15 minutes), so an identical signed request replayed inside the window is
accepted, as it would be by the vendor.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import time
from calendar import timegm
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, unquote

from emulator.core.store import Store
from emulator.fabric.errors import AKSK_ERROR, AKSK_MSG, FabricError, IamError, aksk_error, token_error
from emulator.fabric.models import iso, setting


# -- identities -------------------------------------------------------------------------------
def user_info(store: Store, user_name: str) -> dict[str, Any]:
    users = setting(store, "users")
    return {"domain_name": setting(store, "domain_name"), "domain_id": setting(store, "domain_id"),
            "user_name": user_name, "user_id": users[user_name]["user_id"]}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _pw_fingerprint(secret: str, password: str) -> str:
    return hashlib.sha256(f"{secret}\0{password}".encode()).hexdigest()[:16]


def _mac(secret: str, payload: str) -> str:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


# -- POST /v3/auth/tokens ---------------------------------------------------------------------
def issue_token(store: Store, body: Any, base_url: str) -> tuple[str, dict[str, Any]]:
    """Check a password identity with a project scope; return (token, response body)."""
    try:
        auth = body["auth"]
        identity = auth["identity"]
        methods = identity["methods"]
        user = identity["password"]["user"]
        name, password, domain = user["name"], user["password"], user["domain"]
    except (KeyError, TypeError):
        raise IamError(400, "The request body is invalid: a password identity "
                       "(auth.identity.password.user{name,password,domain}) is required.") from None
    if not isinstance(methods, list) or "password" not in methods:
        raise IamError(400, "The request body is invalid: identity.methods must contain \"password\".")
    users = setting(store, "users")
    domain_ok = isinstance(domain, dict) and (
        domain.get("name") == setting(store, "domain_name") or domain.get("id") == setting(store, "domain_id"))
    if not domain_ok or not isinstance(name, str) or name not in users or not isinstance(password, str) \
            or not hmac.compare_digest(password.encode(), str(users[name]["password"]).encode()):
        raise IamError(401, "The username or password is wrong.")
    project = (auth.get("scope") or {}).get("project") if isinstance(auth.get("scope"), dict) else None
    if not isinstance(project, dict):
        raise IamError(400, "The request body is invalid: a project scope (auth.scope.project) is required.")
    project_name, project_id = setting(store, "project_name"), setting(store, "project_id")
    if project.get("name") != project_name and project.get("id") != project_id:
        raise IamError(401, "The project does not exist or the user has no access to it.")

    secret = setting(store, "token_secret")
    now = time.time()
    exp = now + float(setting(store, "token_ttl_s"))
    payload = _b64(json.dumps({"u": name, "p": project_id, "iat": now, "exp": exp,
                               "pw": _pw_fingerprint(secret, users[name]["password"]),
                               "n": secrets.token_hex(8)}, separators=(",", ":")).encode())
    token = f"MIIemu{payload}.{_mac(secret, payload)}"
    domain_obj = {"name": setting(store, "domain_name"), "id": setting(store, "domain_id")}
    stamp = lambda ts: iso(ts).replace("Z", f".{int(ts % 1 * 1e6):06d}Z")  # noqa: E731
    body_out = {"token": {
        "expires_at": stamp(exp),
        "issued_at": stamp(now),
        "methods": ["password"],
        "user": {"name": name, "id": users[name]["user_id"], "domain": domain_obj, "password_expires_at": ""},
        "project": {"name": project_name, "id": project_id, "domain": domain_obj},
        "roles": [{"name": "te_admin", "id": "0"}],
        "catalog": [{"type": "fabric", "name": "fabric", "id": "fabric", "endpoints": [
            {"id": "fabric-public", "interface": "public", "region": project_name, "region_id": project_name,
             "url": f"{base_url.rstrip('/')}/fabric"}]}],
    }}
    return token, body_out


def check_token(store: Store, token: str) -> dict[str, Any]:
    if setting(store, "accept_any_token"):
        users = setting(store, "users")
        return user_info(store, next(iter(users)))
    if not token.startswith("MIIemu") or "." not in token:
        raise token_error("The token is unknown.")
    payload, _, mac = token[len("MIIemu"):].rpartition(".")
    secret = setting(store, "token_secret")
    if not hmac.compare_digest(mac, _mac(secret, payload)):
        raise token_error("The token is unknown.")
    try:
        claims = json.loads(_unb64(payload))
    except ValueError:
        raise token_error("The token is unknown.") from None
    if time.time() >= claims["exp"]:
        raise token_error("The token has expired; obtain a new one from IAM.")
    users = setting(store, "users")
    u = users.get(claims["u"])
    if u is None or claims["pw"] != _pw_fingerprint(secret, u["password"]) \
            or claims["p"] != setting(store, "project_id"):
        raise token_error("The token is no longer valid (user, password or project changed).")
    return user_info(store, claims["u"])


# -- SDK-HMAC-SHA256 --------------------------------------------------------------------------
ALGORITHM = "SDK-HMAC-SHA256"
_AUTH = re.compile(r"SDK-HMAC-SHA256\s+Access=([^,\s]+),\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-fA-F]+)\s*")
_DATE = re.compile(r"\d{8}T\d{6}Z")


def _enc(text: str) -> str:
    """RFC 3986 encoding: letters, digits and -_.~ kept, everything else %XX (upper-case hex)."""
    return quote(text, safe="~")


def canonical_uri(raw_path: str) -> str:
    """Decode, split on '/', encode each segment, re-join, end with '/'.

    The spec says "always append a trailing /"; a path that already ends with '/' is taken to
    keep its single slash (guess; no route here ends with '/').
    """
    uri = "/".join(_enc(seg) for seg in unquote(raw_path).split("/"))
    return uri if uri.endswith("/") else uri + "/"


def canonical_query(raw_query: str) -> str:
    """Decoded (name, value) pairs sorted first, then encoded (as the vendor SDK does): ``a-b`` sorts
    before ``a/b`` although ``a%2Fb`` would sort first once encoded."""
    pairs = sorted(parse_qsl(raw_query, keep_blank_values=True))
    return "&".join(f"{_enc(k)}={_enc(v)}" for k, v in pairs)


def _text(raw: str) -> str:
    """A header value or path as sent: UTF-8 bytes (the server hands them over as latin-1 text)."""
    data = raw.encode("latin-1")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return raw


def payload_hash(body: bytes, content_sha256: str | None) -> str:
    """The SDK's rule: an empty body always hashes as the empty string; otherwise the value of
    ``X-Sdk-Content-Sha256`` when sent (``UNSIGNED-PAYLOAD``), else the body's SHA-256."""
    if not body:
        return hashlib.sha256(b"").hexdigest()
    if content_sha256:
        return content_sha256
    return hashlib.sha256(body).hexdigest()


@dataclass(frozen=True)
class Received:
    """What the server received, as plain values: the signature is checked against these."""

    method: str
    raw_path: str  # as received, prefix included, no query (latin-1 text of the bytes)
    raw_query: str
    headers: Mapping[str, list[str]]  # lower-case name -> every value sent, in order
    body: bytes

    def header(self, name: str, default: str | None = None) -> str | None:
        values = self.headers.get(name)
        return values[0] if values else default


def verify_signature(store: Store, received: Received, authorization: str) -> dict[str, Any]:
    m = _AUTH.fullmatch(authorization.strip())
    if m is None:
        raise aksk_error("the Authorization header is not a valid SDK-HMAC-SHA256 authorization")
    ak, signed_list, signature = m.group(1), m.group(2), m.group(3).lower()
    date = received.header("x-sdk-date", "") or ""
    if not _DATE.fullmatch(date):
        raise aksk_error("the X-Sdk-Date header is missing or not in YYYYMMDDTHHMMSSZ format")
    try:
        signed_at = timegm(time.strptime(date, "%Y%m%dT%H%M%SZ"))
    except ValueError:
        raise aksk_error("the X-Sdk-Date header is not a valid date") from None
    if abs(time.time() - signed_at) > float(setting(store, "signature_skew_s")):
        raise aksk_error("the request has expired: X-Sdk-Date is more than 15 minutes from the server time")
    keys = setting(store, "access_keys")
    entry = keys.get(ak)
    if entry is None:
        raise aksk_error(f"the access key {ak} does not exist")
    signed = sorted({h.strip().lower() for h in signed_list.split(";") if h.strip()})
    lines = []
    for name in signed:
        values = received.headers.get(name) or []
        if not values:
            raise aksk_error(f"the signed header {name} is missing from the request")
        lines.append(f"{name}:{','.join(_text(v).strip() for v in values)}\n")
    canonical = "\n".join([
        received.method.upper(),
        canonical_uri(_text(received.raw_path)),
        canonical_query(received.raw_query),
        "".join(lines),
        ";".join(signed),
        payload_hash(received.body, received.header("x-sdk-content-sha256")),
    ])
    string_to_sign = f"{ALGORITHM}\n{date}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    expected = hmac.new(str(entry["secret_key"]).encode(), string_to_sign.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature):
        raise aksk_error("the signature does not match (verify aksk signature fail)")
    project = received.header("x-project-id")
    if project is not None and project != setting(store, "project_id"):
        raise aksk_error(f"the project {project} does not exist or the user has no access to it")
    user = entry.get("user")
    if user not in setting(store, "users"):
        raise aksk_error(f"the access key {ak} belongs to no user")
    return user_info(store, user)


def authenticate(store: Store, received: Received) -> dict[str, Any]:
    """The caller (a User dict) of a model route: X-Auth-Token, else an SDK-HMAC-SHA256 signature."""
    token = received.header("x-auth-token")
    if token:
        return check_token(store, token)
    authorization = received.header("authorization")
    if authorization:
        return verify_signature(store, received, authorization)
    raise FabricError(401, AKSK_ERROR, f"{AKSK_MSG}: no X-Auth-Token or Authorization header",
                      "Authenticate with an IAM token (X-Auth-Token) or an AK/SK signature.")
