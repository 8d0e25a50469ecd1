"""Alibaba Cloud ``ACS3-HMAC-SHA256`` (signature V3) request signing for httpx.

Specification: the vendor's "Request syntax and signature method V3" page
(https://www.alibabacloud.com/help/en/sdk/product-overview/v3-request-structure-and-signature).
Pure httpx + stdlib.

Algorithm, in words
-------------------
For every request the auth flow

1. resolves the action name (``x-acs-action``, e.g. ``CreateModel``) and the
   API version (``x-acs-version``, default ``2021-02-04``);
2. takes the current UTC time from the clock, truncated to whole seconds, as
   ``x-acs-date`` in the form ``YYYY-MM-DDTHH:MM:SSZ``;
3. draws a fresh ``x-acs-signature-nonce`` from the nonce factory;
4. hashes the exact body bytes with SHA-256 (lower-case hex; a request without
   a body hashes the empty string, ``e3b0c442...b855``) and sends that value
   as ``x-acs-content-sha256``;
5. with STS credentials, adds ``x-acs-security-token`` and
   ``x-acs-accesskey-id``;
6. builds the canonical request, six parts joined with ``\\n``::

       METHOD (upper case)
       CanonicalURI          each '/'-separated path segment RFC 3986-encoded
       CanonicalQueryString  k=v pairs, sorted by name, names and values
                             RFC 3986-encoded, joined with '&' ('' if none)
       CanonicalHeaders      'name:trimmed value\\n' for every signed header,
                             names lower case, sorted
       SignedHeaders         the signed header names joined with ';'
       HashedRequestPayload  same value as x-acs-content-sha256

   RFC 3986 encoding leaves only ``A-Z a-z 0-9 - _ . ~`` literal and writes
   everything else as ``%XX`` of its UTF-8 bytes with upper-case hex (so a
   space becomes ``%20``, ``*`` becomes ``%2A``, ``~`` stays ``~``).  Because
   CanonicalHeaders ends with its own newline, an empty line precedes the
   SignedHeaders line;
7. string to sign = ``ACS3-HMAC-SHA256\\n`` + hex(SHA-256(canonical request));
8. signature = hex(HMAC-SHA256(key=AccessKeySecret, msg=string to sign));
9. ``Authorization: ACS3-HMAC-SHA256 Credential=<AK>,SignedHeaders=<list>,Signature=<hex>``
   (no spaces after the commas).

The vendor's published worked example (RunInstances on
ecs.cn-shanghai.aliyuncs.com, 2023-10-26T10:22:32Z, nonce
3156853299f313e23d1673dc12e1703d, signature 06563a9e...83c0) is reproduced
byte for byte in tests/providers/test_pai_signing.py.

Ambiguities in the specification and what this module does
------------------------------------------------------------
* **Which headers are signed.**  §7.1 notes that the written spec requires
  ``host``, ``content-type`` (when present) and every ``x-acs-*`` header,
  while the Python SDK signs every header it sends.  We sign exactly
  ``host``, ``content-type`` (if present) and all ``x-acs-*`` headers -- never
  ``authorization``, ``accept``, ``user-agent`` or transport headers such as
  ``content-length`` / ``connection``.  The server recomputes over the
  ``SignedHeaders`` list we send, so both choices verify; ours keeps headers
  that proxies or httpx may add or rewrite out of the signature.
* **Canonical URI.**  §7.1 says "the already percent-encoded path"; the vendor
  page says "encode the strings separated by ``/`` per RFC 3986".  httpx's own
  path encoding is looser than RFC 3986 (it leaves ``*``, ``!``, ``(`` ... as
  they are), so the two readings can differ.  We split the raw path on literal
  ``/``, percent-decode each segment to bytes, re-encode it strictly, and
  **rewrite the request's path on the wire to that exact string**.  The path
  the server receives and the path we signed are then identical bytes, and
  both readings of the spec give the same answer.  An encoded slash (``%2F``)
  inside a segment stays encoded; ``%7E`` becomes ``~``.  An empty path is
  ``/``.
* **Query decoding.**  httpx encodes a space in ``params=`` as ``+`` (HTML
  form convention), so ``+`` in the raw query is read as a space and a literal
  plus must arrive as ``%2B`` (httpx does that itself).  The wire query is
  re-encoded, in its original order, with the same strict RFC 3986 encoding,
  so the server never sees an ambiguous ``+``.
* **Keys encoded too.**  The vendor page encodes names and values; §7.1 notes
  the Python SDK encodes only values.  We encode both (identical for the
  alphanumeric names this API uses).
* **Sort order and repeated keys.**  Pairs are sorted by the decoded name
  (UTF-8 bytes, i.e. code-point order) *before* encoding, as the vendor page
  orders the steps.  The vendor only ever sends maps, so repeated names never
  occur there; for a repeated name we tie-break on the decoded value, which
  keeps the result deterministic.
* **Empty values.**  A parameter with an empty value, or a bare name without
  ``=``, is written ``name=`` (vendor page: "use an empty string as the
  parameter value").
* **STS.**  With a security token we send both ``x-acs-security-token`` and
  ``x-acs-accesskey-id`` (§7.1 lists both); both are ``x-acs-*`` and signed.
* **Trimming.**  Header values lose leading/trailing whitespace only; inner
  whitespace is not collapsed (the vendor page says "remove the spaces before
  and after the value").
* **Nonce on retries.**  Every run of the auth flow -- a new request, or the
  same ``httpx.Request`` object sent again by a retry loop -- overwrites
  ``x-acs-date``, ``x-acs-signature-nonce``, ``x-acs-content-sha256`` and
  ``Authorization``, so a retry never replays a nonce.
* **Action name.**  Taken from ``request.extensions["acs_action"]``, else an
  ``x-acs-action`` header already on the request, else ``action_resolver``;
  if none yields a name the request is refused with :class:`AcsSigningError`.
  The version can likewise come from ``request.extensions["acs_version"]`` or
  an existing ``x-acs-version`` header.
* ``accept: application/json`` (listed in §7.1) is left to the client; it is
  not signed either way.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from urllib.parse import unquote_to_bytes

import httpx

from providers.core import signing

# The shared parts of providers/core/signing.py, re-exported for this module's callers.
EMPTY_SHA256 = signing.EMPTY_SHA256
Clock = signing.Clock
Signature = signing.Signature
canonical_query_string = signing.canonical_query_string
rfc3986_encode = signing.rfc3986_encode

__all__ = [
    "ALGORITHM",
    "DEFAULT_API_VERSION",
    "EMPTY_SHA256",
    "AcsSignature",
    "AcsSigningError",
    "AcsV3Auth",
    "canonical_query_string",
    "canonical_uri",
    "rfc3986_encode",
]

ALGORITHM = "ACS3-HMAC-SHA256"
DEFAULT_API_VERSION = "2021-02-04"


NonceFactory = Callable[[], str]
ActionResolver = Callable[[httpx.Request], "str | None"]


class AcsSigningError(ValueError):
    """The request cannot be signed (e.g. no action name).  Never carries secrets."""


#: The intermediate and final values of one signing run (no secrets inside).
AcsSignature = Signature


# ---------------------------------------------------------------------------
# Pure helpers
# ---------------------------------------------------------------------------


def canonical_uri(raw_path: str) -> str:
    """Canonical URI of a raw (already percent-encoded) path.

    Each segment between literal ``/`` is percent-decoded to bytes and
    re-encoded with :func:`rfc3986_encode`; ``/`` separators are kept.
    """
    if not raw_path:
        return "/"
    return "/".join(rfc3986_encode(unquote_to_bytes(seg)) for seg in raw_path.split("/"))


def _default_nonce() -> str:
    return uuid.uuid4().hex


# ---------------------------------------------------------------------------
# httpx.Auth
# ---------------------------------------------------------------------------


class AcsV3Auth(signing.SigningAuth):
    """Sign httpx requests with Alibaba Cloud ``ACS3-HMAC-SHA256``.

    :param access_key_id: AccessKey ID (sent in clear in ``Authorization``).
    :param access_key_secret: AccessKey secret; never shown by ``repr``/``str``.
    :param security_token: STS token, if the key pair is temporary.
    :param action_resolver: ``f(request) -> action name | None`` used when the
        request carries neither ``extensions["acs_action"]`` nor an
        ``x-acs-action`` header.
    :param clock: ``f() -> datetime | epoch seconds``; default: system UTC time.
    :param nonce: ``f() -> str``, called once per signing; default: uuid4 hex.
    :param version: API version for ``x-acs-version``.
    """

    def __init__(
        self,
        access_key_id: str,
        access_key_secret: str,
        security_token: str | None = None,
        action_resolver: ActionResolver | None = None,
        clock: Clock | None = None,
        nonce: NonceFactory | None = None,
        *,
        version: str = DEFAULT_API_VERSION,
    ) -> None:
        signing.check_key_pair(
            "access_key_id", access_key_id, "access_key_secret", access_key_secret, security_token
        )
        self._access_key_id = access_key_id
        self._access_key_secret = access_key_secret
        self._security_token = security_token or None
        self._action_resolver = action_resolver
        self._clock = clock
        self._nonce = nonce or _default_nonce
        self._version = version

    @property
    def access_key_id(self) -> str:
        return self._access_key_id

    def __repr__(self) -> str:
        token = "'***'" if self._security_token else "None"
        return (
            f"{type(self).__name__}(access_key_id={self._access_key_id!r}, "
            f"access_key_secret='***', security_token={token}, version={self._version!r})"
        )

    # -- signing -------------------------------------------------------------

    def _resolve_action(self, request: httpx.Request) -> str:
        action = request.extensions.get("acs_action") or request.headers.get("x-acs-action")
        if not action and self._action_resolver is not None:
            action = self._action_resolver(request)
        if not action or not isinstance(action, str):
            raise AcsSigningError(
                f"no ACS action name for {request.method} {request.url.path}: set "
                "request.extensions['acs_action'], an x-acs-action header, or an action_resolver"
            )
        return action

    def sign_request(self, request: httpx.Request) -> AcsSignature:
        """Add the ``x-acs-*`` and ``Authorization`` headers to *request* in place.

        Also normalises the request path and query on the wire to their strict
        RFC 3986 form (see the module docstring).  Returns the intermediate
        values for inspection.
        """
        action = self._resolve_action(request)
        version = (
            request.extensions.get("acs_version")
            or request.headers.get("x-acs-version")
            or self._version
        )
        date = signing.utc_now(self._clock).strftime("%Y-%m-%dT%H:%M:%SZ")
        nonce = self._nonce()
        if not isinstance(nonce, str) or not nonce:
            raise AcsSigningError("nonce factory must return a non-empty string")

        payload_hash = signing.sha256_hex(signing.request_body(request))

        # Canonical URI / query, and the same strict form on the wire.
        raw_path, pairs = signing.request_target(request)
        c_uri = canonical_uri(raw_path)
        signing.set_wire_target(request, c_uri, pairs)

        headers = request.headers
        headers.pop("authorization", None)
        signing.ensure_host(request, "host")
        headers["x-acs-action"] = action
        headers["x-acs-version"] = version
        headers["x-acs-date"] = date
        headers["x-acs-signature-nonce"] = nonce
        headers["x-acs-content-sha256"] = payload_hash
        if self._security_token:
            headers["x-acs-security-token"] = self._security_token
            headers["x-acs-accesskey-id"] = self._access_key_id

        names = [
            name
            for name in (key.lower() for key in headers.keys())
            if name in ("host", "content-type") or name.startswith("x-acs-")
        ]
        canonical, signed_headers = signing.canonical_request(
            request.method, c_uri, pairs, headers, names, payload_hash
        )
        string_to_sign = f"{ALGORITHM}\n{signing.sha256_hex(canonical)}"
        signature = signing.hmac_sha256_hex(self._access_key_secret, string_to_sign)
        authorization = (
            f"{ALGORITHM} Credential={self._access_key_id},"
            f"SignedHeaders={signed_headers},Signature={signature}"
        )
        return self.finish(request, canonical, signed_headers, string_to_sign, signature, authorization)
