"""Huawei Cloud ``SDK-HMAC-SHA256`` (AK/SK) request signing for httpx.

Specification: Huawei Cloud's AK/SK signing as its official Python SDK implements it
(huaweicloud/huaweicloud-sdk-python-v3, huaweicloudsdkcore/signer/signer.py).  Pure httpx + stdlib; the canonical request,
query encoding and hashing are the shared ones of providers/core/signing.py.

SdkHmacAuth -- the algorithm, in words
--------------------------------------
For every request the auth flow

1. sets ``X-Sdk-Date`` to the clock's UTC time as ``YYYYMMDDTHHMMSSZ``
   (always overwritten, so a re-sent request gets a fresh date);
2. sets ``X-Project-Id`` when a project id was given, and
   ``X-Security-Token`` when temporary credentials are used -- both *before*
   signing, so they are signed;
3. if the request has a body and a ``Content-Type`` that is neither
   ``application/json...`` nor ``application/bson...``, sets
   ``X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD``;
4. builds the canonical request, six parts joined with ``\\n``::

       METHOD
       CanonicalURI          percent-decode the whole path, split on '/',
                             RFC 3986-encode every segment, re-join with '/',
                             and append '/' unless it already ends with one
       CanonicalQuery        decoded (name, value) pairs sorted, both
                             RFC 3986-encoded, 'k=v' joined with '&'
       CanonicalHeaders      'name:trimmed value\\n' per signed header,
                             lower-case names, sorted
       SignedHeaders         those names joined with ';'
       payload hash          empty body: hex SHA-256 of b'' (e3b0...b855);
                             else the X-Sdk-Content-Sha256 value if set
                             (UNSIGNED-PAYLOAD); else hex SHA-256 of the body

   (RFC 3986 encoding: only ``A-Z a-z 0-9 - _ . ~`` stay literal, everything
   else is ``%XX`` of the UTF-8 bytes with upper-case hex.)
5. string to sign = ``SDK-HMAC-SHA256\\n<X-Sdk-Date>\\n<hex SHA-256(canonical request)>``;
6. signature = hex(HMAC-SHA256(key=SK, msg=string to sign));
7. ``Authorization: SDK-HMAC-SHA256 Access=<AK>, SignedHeaders=<list>, Signature=<hex>``
   (comma **and space** between the parts).

The vendor's official SDK test vectors (AK ``AccessKey``, SK ``SecretKey``,
GET and POST ``https://service.endpoint.myhuaweicloud.com/resources?size=1``
at 20200608T023900Z with an underscored header that must stay unsigned) are
reproduced byte for byte in tests/providers/test_fabric_signing.py, as is its
canonical-query vector.

Ambiguities in the specification and what this module does
------------------------------------------------------------
* **Which headers are signed.**  §7.2: "every header whose name contains no
  underscore" -- meaning every header the SDK itself puts on the request.  The
  SDK's HTTP library adds transport headers (``Content-Length``,
  ``Connection``, ``Accept-Encoding``) after signing, and the official POST
  vector signs only ``host;x-sdk-date`` although the request has a body.
  In httpx those transport headers are already on the request when the auth
  flow runs, so we sign every header except: names containing ``_``;
  ``authorization``; ``content-length``; ``accept-encoding``; and the
  hop-by-hop headers ``connection``, ``keep-alive``, ``proxy-authenticate``,
  ``proxy-authorization``, ``proxy-connection``, ``te``, ``trailer``,
  ``transfer-encoding``, ``upgrade`` (which proxies may drop or rewrite).
  ``Content-Type``, ``User-Agent``, ``Accept``, ``X-Project-Id`` and any
  custom header are signed.  The server uses our ``SignedHeaders`` list.
* **Canonical URI.**  Following the spec literally, the *whole* path is
  decoded before splitting, so an encoded ``%2F`` counts as a separator (the
  server canonicalises the same way).  Decoding is to bytes, so invalid UTF-8
  escapes survive unchanged; ``+`` in a path is a literal plus (``%2B``).  The
  path on the wire is not changed.
* **Query.**  ``+`` in the raw query is read as a space (httpx encodes a
  space in ``params=`` as ``+``); a bare name or empty value gives ``name=``;
  pairs are sorted by decoded name then decoded value (UTF-8 byte order ==
  code-point order) -- that covers the spec's "list values expanded and
  sorted".  Values sort as strings (the SDK sorts a list of ints numerically;
  on the wire everything is a string).  Booleans: httpx already writes
  ``true``/``false``.  As the SDK does, the wire query is rewritten to the
  strict RFC 3986 encoding -- but in its original order -- so the gateway
  never has to guess what ``+`` means.
* **UNSIGNED-PAYLOAD.**  The SDK decides it from ``Content-Type``; we do the
  same but only when there is a body: a body-less request always hashes the
  empty string (spec step 6, and what the SDK signer does for an empty body)
  and does not send the header.  ``X-Sdk-Content-Sha256`` is owned by this
  auth: a stale value from an earlier signing is removed first.
* **Date.**  The clock is truncated to whole seconds; ``X-Sdk-Date`` is
  regenerated on every run of the flow (also for a re-sent request).
"""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

import httpx

from providers.core import signing

# The shared parts of providers/core/signing.py, re-exported for this module's callers.
EMPTY_SHA256 = signing.EMPTY_SHA256
Clock = signing.Clock
Signature = signing.Signature
canonical_query_string = signing.canonical_query_string
rfc3986_encode = signing.rfc3986_encode

ALGORITHM = "SDK-HMAC-SHA256"
DATE_FORMAT = "%Y%m%dT%H%M%SZ"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"

#: Headers never signed (besides names containing "_"): see module docstring.
UNSIGNED_HEADERS = frozenset(
    {
        "authorization",
        "content-length",
        "accept-encoding",
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)

#: The intermediate and final values of one signing run (no secrets inside).
SdkSignature = Signature


def canonical_uri(raw_path: str) -> str:
    """Huawei canonical URI: decode, split on ``/``, encode segments, trailing ``/``."""
    decoded = unquote_to_bytes(raw_path or "/")
    uri = "/".join(rfc3986_encode(seg) for seg in decoded.split(b"/"))
    return uri if uri.endswith("/") else uri + "/"


class SdkHmacAuth(signing.SigningAuth):
    """Sign httpx requests with Huawei Cloud ``SDK-HMAC-SHA256`` (AK/SK).

    :param ak: access key id (sent in clear in ``Authorization``).
    :param sk: secret key; never shown by ``repr``/``str``.
    :param project_id: if set, sent (and signed) as ``X-Project-Id``.
    :param clock: ``f() -> datetime | epoch seconds``; default: system UTC time.
    :param security_token: for temporary AK/SK, sent (and signed) as
        ``X-Security-Token``.
    """

    def __init__(
        self,
        ak: str,
        sk: str,
        project_id: str | None = None,
        clock: Clock | None = None,
        *,
        security_token: str | None = None,
    ) -> None:
        signing.check_key_pair("ak", ak, "sk", sk, security_token)
        self._ak = ak
        self._sk = sk
        self._project_id = project_id or None
        self._clock = clock
        self._security_token = security_token or None

    @property
    def ak(self) -> str:
        return self._ak

    @property
    def project_id(self) -> str | None:
        return self._project_id

    def __repr__(self) -> str:
        token = "'***'" if self._security_token else "None"
        return (
            f"{type(self).__name__}(ak={self._ak!r}, sk='***', "
            f"project_id={self._project_id!r}, security_token={token})"
        )

    def sign_request(self, request: httpx.Request) -> SdkSignature:
        """Add ``X-Sdk-Date`` (etc.) and ``Authorization`` to *request* in place."""
        body = signing.request_body(request)

        headers = request.headers
        headers.pop("authorization", None)
        headers.pop("x-sdk-content-sha256", None)
        signing.ensure_host(request)
        date = signing.utc_now(self._clock).strftime(DATE_FORMAT)
        headers["X-Sdk-Date"] = date
        if self._project_id:
            headers["X-Project-Id"] = self._project_id
        if self._security_token:
            headers["X-Security-Token"] = self._security_token
        content_type = headers.get("content-type")
        if (
            body
            and content_type
            and not content_type.startswith("application/json")
            and not content_type.startswith("application/bson")
        ):
            headers["X-Sdk-Content-Sha256"] = UNSIGNED_PAYLOAD

        if not body:
            payload_hash = EMPTY_SHA256
        else:
            payload_hash = headers.get("x-sdk-content-sha256") or signing.sha256_hex(body)

        raw_path, pairs = signing.request_target(request)
        signing.set_wire_target(request, raw_path, pairs)

        names = [
            name
            for name in (key.lower() for key in headers.keys())
            if "_" not in name and name not in UNSIGNED_HEADERS
        ]
        canonical, signed_headers = signing.canonical_request(
            request.method, canonical_uri(raw_path), pairs, headers, names, payload_hash
        )
        string_to_sign = f"{ALGORITHM}\n{date}\n{signing.sha256_hex(canonical)}"
        signature = signing.hmac_sha256_hex(self._sk, string_to_sign)
        authorization = (
            f"{ALGORITHM} Access={self._ak}, SignedHeaders={signed_headers}, Signature={signature}"
        )
        return self.finish(request, canonical, signed_headers, string_to_sign, signature, authorization)
