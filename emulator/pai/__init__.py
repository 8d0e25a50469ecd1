"""Emulated Alibaba Cloud PAI model registry: AIWorkSpace 2021-02-04, ROA style (shared/specs/pai.md).

Route prefix
    Mounted under ``/pai``: the vendor path ``/api/v1/models`` is
    ``http://127.0.0.1:<port>/pai/api/v1/models``. All 14 operations of the spec's route table
    (§2) are served; any other path under ``/pai`` answers ``404 InvalidAction.NotFound`` in the
    vendor envelope.

Files
    The layout of ``emulator/__init__.py``: ``errors.py`` PaiError and the error envelope,
    ``models.py`` the store logic and vendor rules, ``routes.py`` the wire format; plus ``auth.py``
    request-signature verification, ``openapi.py`` what ``/openapi.json`` declares for each
    operation (path, query, header and body parameters; documentation only). Nothing here imports from ``providers``.

Settings (``PUT /_admin/settings/pai``; an admin reset restores the defaults)
    access_keys          {AccessKeyId: AccessKeySecret} accepted by the signature check. Default
                         ``{PAI_ACCESS_KEY_ID: PAI_ACCESS_KEY_SECRET}`` of ``emulator.defaults``.
    verify_signatures    True; False skips the whole signature check (spec §7.2 "offer a mode
                         that skips verification").
    max_clock_skew_s     900: ``x-acs-date`` (V3) or ``date`` (legacy) further than this from the
                         server clock -> ``400 InvalidTimeStamp.Expired``.
    nonce_retention_s    1800: how long a used ``x-acs-signature-nonce`` is remembered (in SQLite,
                         so across restarts). Twice the skew window, so a replay whose date is
                         still acceptable is always caught.
    region_id            "cn-hangzhou": ``HostId`` of errors is ``aiworkspace.<region>.aliyuncs.com``
                         (injected faults always use cn-hangzhou; they are rendered without settings).
    default_workspace_id "100001": WorkspaceId of a model created without one.
    workspaces           []: when non-empty, the only workspace ids CreateModel accepts; any other
                         -> 404 ``100400008`` (the spec's workspace not-found code).
    owner_id, user_id    "1234567890123456": ``OwnerId``/``UserId`` stamped on new objects.
    unique_model_names   False: True rejects a second model with the same name in a workspace.
    strict_model_delete  False: True refuses DeleteModel while the model has versions.
    not_found_status     404: HTTP status of the not-found codes (the spec says 400 or 404).

Signatures (spec §7)
    ``ACS3-HMAC-SHA256`` and legacy ``acs AK:sig`` (HMAC-SHA1) are both verified against what the
    server received: method, the raw path *including* the ``/pai`` prefix, the query string, the
    headers the client lists in ``SignedHeaders`` (V3) or every ``x-acs-*`` header (legacy), and
    the body bytes. Failures: missing/malformed Authorization -> 400 ``IncompleteSignature``;
    unknown key -> 404 ``InvalidAccessKeyId.NotFound``; bad date format -> 400
    ``InvalidTimeStamp.Format``; skew -> 400 ``InvalidTimeStamp.Expired``; body hash mismatch ->
    400 ``InvalidParameter.ContentSHA256`` (legacy ``Content-MD5``: ``InvalidParameter.ContentMD5``);
    mismatch -> 400 ``SignatureDoesNotMatch`` whose Message ends with
    ``server string to sign is:<string>`` (the canonical request is logged); replay -> 400
    ``SignatureNonceUsed``.

Guesses beyond the spec (each marked [I] there or not covered at all)
    Signing
    - Check order: Authorization shape, ``x-acs-action``/``x-acs-version``, access key, date,
      body hash, signature, nonce. A rejected request does not use up its nonce; any accepted
      one does, even if the operation then fails. Nonces are scoped per access key and kept
      outside the object documents (``Store.claim_nonce``); an admin reset of ``pai`` forgets them.
    - V3 canonical query: pairs sorted by decoded name then value, then RFC 3986-encoded
      (names too); an empty value is written ``name=``; ``+`` in a received query reads as a space.
    - V3 requires ``x-acs-date``, ``x-acs-signature-nonce`` and ``x-acs-content-sha256``, and
      every received ``x-acs-*`` header plus ``host`` must be in SignedHeaders (the vendor doc
      says they "must be signed"); otherwise 400 IncompleteSignature. The list may name more
      headers (the Python SDK signs all it sends). A listed header that was not sent counts as
      an empty value. Parts of the Authorization header may be followed by spaces.
    - Both schemes require ``x-acs-action`` and ``x-acs-version``: missing -> 400
      MissingParameter; an action that does not name the route -> 404 InvalidAction.NotFound;
      a version other than 2021-02-04 -> 400 InvalidVersion.
    - Legacy scheme: ``date`` is required, the nonce is optional (checked when sent), and
      ``Content-MD5`` is checked when sent. The resource part uses decoded query values.
    - STS tokens (``x-acs-security-token``) are not modelled; the header is just signed data.
    - Header values are read as the UTF-8 the signer signed (the server hands their bytes over as
      latin-1 text); bytes that are not valid UTF-8 are kept as latin-1 (``auth.header_text``).
    Models
    - ModelId ``model-`` + 18 of ``[a-z0-9]``; RequestId an upper-case UUID4; times ISO 8601 UTC
      with milliseconds and ``Z``.
    - ``Labels`` and ``Tag`` are kept apart: ``Labels`` (and the label routes) feed the
      ``Labels`` list, ``Tag`` feeds ``Tags``. Both lists are always rendered (``[]`` when
      empty), except that GetModel omits ``Tags`` (its SDK class lacks the field); ListModels
      items carry it. Unset optional scalars are omitted, not rendered as null.
    - Labels: Key non-empty, Value may be empty; a label whose key already exists replaces the
      value (create-labels upserts; duplicates within one request: last wins). DeleteXLabels
      without ``LabelKeys`` -> 400 MissingParameter; keys not present are ignored.
    - Missing required field (ModelName, Uri) -> 400 MissingParameter; anything malformed
      (wrong JSON type, ModelName outside 1..127 chars, enum value outside the spec's list,
      label rules, bad Uri, bad VersionName, Metrics > 8192 bytes, Options not a string,
      non-JSON body, a body or ``Tag``/``Conditions`` query nested deeper than 64 levels)
      -> 400 InvalidParameter. FrameworkType matches case-insensitively and is
      stored as sent. Uri: ``http(s)://`` or ``oss://`` with a non-empty host part (the oss
      endpoint is not required). SourceId is not parsed.
    - Updates: omitted or null = unchanged; fields the spec calls not updatable (WorkspaceId,
      Labels, Tag; Uri, FormatType, FrameworkType, VersionName) are ignored, not rejected.
      UpdateModel and the label routes move GmtModifiedTime; creating or deleting a version
      moves its model's GmtModifiedTime too.
    - Duplicate VersionName (and duplicate ModelName under ``unique_model_names``, and
      DeleteModel with versions under ``strict_model_delete``) -> 400 InvalidParameter.
    - DeleteModel cascades to the versions by default.
    - Auto version names: ``0.1.0`` when the model has no versions, otherwise the highest
      existing major.minor with the minor bumped (``1.2.0`` -> ``1.3.0``).
    - ``LatestVersion`` is the version with the newest GmtCreateTime (ties: the later created);
      ``GmtLatestVersionModifiedTime`` is that version's GmtModifiedTime. Both are omitted when
      the model has no versions.
    Lists
    - PageNumber/PageSize must be integers >= 1 (else InvalidParameter); no PageSize maximum;
      a page past the end is empty with the true TotalCount. Order ASC/DESC (any case); SortBy
      other than GmtCreateTime -> InvalidParameter. Equal timestamps keep creation order.
    - ListModels: ModelName is a case-insensitive substring match; Label and Query likewise
      (Query over ModelName, Domain, Task, label keys and values); WorkspaceId, Domain, Task,
      Origin, ModelType are exact. Without ``Provider`` only models with no Provider (the
      caller's own) are listed; with it, only that provider's. API-created models never have a
      Provider (set one through the admin patch to emulate public models). ``Tag`` (JSON list)
      keeps models having every given Key/Value (an empty Value matches the key alone).
      ``Conditions`` (JSON list) supports Equal, NotEqual, LessThan, LessThanOrEqual,
      GreaterThan, GreaterThanOrEqual, Like, In on any Model field, numerically when the field is
      a number. ``Collections`` is accepted and ignored.
    - ListModelVersions: VersionName, FormatType, SourceType, SourceId, ApprovalStatus exact;
      FrameworkType case-insensitive; Label substring as above. A missing model -> 201900002.
    Errors
    - Not-found: ``201900002`` (model) / ``201900003`` (version) with ``not_found_status``.
    - The envelope also carries ``Recommend`` (the spec says newer gateways add it; clients
      must not need it). ``x-acs-request-id`` repeats the RequestId on every response.
"""

from __future__ import annotations

from emulator.core.platform import Platform
from emulator.pai.errors import error_body
from emulator.pai.models import DEFAULT_SETTINGS
from emulator.pai.routes import build_router

platform = Platform(
    name="pai",
    build_router=build_router,
    error_body=error_body,
    default_settings=DEFAULT_SETTINGS,
)

__all__ = ["platform"]
