"""Emulated Alibaba Cloud AI Creation Workshop (智作工坊) model sync, behind its API Gateway
(shared/specs/workshop.md; the seed page "Model sync"). Imports nothing from ``providers``.

Route prefix
    Mounted under ``/workshop``: the vendor's ``https://openai.edu-aliyun.com/scc/spSdModelSync`` is
    ``http://127.0.0.1:<port>/workshop/scc/spSdModelSync``.

    ====  ==========================  =========================================================
    POST  /workshop/scc/allocate_token  ``{name?, tokenExpiredAt?, sceneRoleId?}`` ->
                                        ``data: {apiToken, tokenExpiredAt, usedSessionTimeInSeconds}``
    POST  /workshop/scc/spSdModelSync   the seed's JSON body + ``apiToken`` (body or query) ->
                                        ``data: {modelId, modelVersionId, modelFileId, status}`` or a list
    ====  ==========================  =========================================================

    The vendor documents no read and no delete: neither is served. Other methods on these paths
    answer the gateway's 405 ``I405UM``; other paths its 404 ``I404NF``.

Files
    The layout of ``emulator/__init__.py``: ``errors.py`` the service's and the gateway's errors
    and the error envelope; ``models.py`` the store and the rules (document layout in its
    docstring); ``routes.py`` the wire format; plus ``gateway.py`` signature verification.

Test-only reads (outside the vendor surface)
    The shared admin surface: ``GET /_admin/objects/workshop`` lists ``token`` and ``model``
    documents (due listing transitions applied first); ``/_admin/objects/workshop/model/<owner>/<modelId>``
    reads one, ``PATCH``/``DELETE`` there change it behind the client's back (e.g. a console edit).
    ``<owner>`` is ``<AppKey>/user:<token name>``.

Settings (``PUT /_admin/settings/workshop``; an admin reset restores the defaults)
    apps                 {AppKey: AppSecret} the gateway accepts. Default
                         ``{WORKSHOP_APP_KEY: WORKSHOP_APP_SECRET}`` of ``emulator.defaults``.
    verify_signatures    True; False skips the gateway check (the AppKey header still names the app).
    max_clock_skew_s     900: ``X-Ca-Timestamp`` further than this from the server clock -> 400 A400IT.
    nonce_retention_s    1800: how long a used ``X-Ca-Nonce`` is remembered (SQLite, per AppKey).
    token_ttl_s          86400: lifetime of a token allocated without ``tokenExpiredAt``.
    queue_delay_s        0: a new file stays Not listed (0) this long before Listing (5).
    listing_delay_s      2.0: how long Listing (5) lasts before Listed (10) / Listing failed (-10).
    fail_pattern         "fail": a regular expression (case-insensitive) searched in ``downloadUrl``;
                         a match ends the listing in -10. Empty: nothing fails.
    uploaded_hashes      []: file hashes already uploaded to the platform: such files are Listed at once.
    sync_reply           "auto": ``data`` is one object when the tree has one file and a list (one
                         item per file, in request order) otherwise; "object": always one object
                         (the first version's primary file, the overall status); "list": always a list.
    callback_url         null: where to POST the model listing result event (schema invented, below).
    errors_on_http_200   True: business errors come as HTTP 200 with ``errCode`` set (the SDK checks
                         the envelope on any status); False: on 400 / 401.

Guesses (the spec marks these [I] or [?], or is silent)
    Gateway
    - Required: ``X-Ca-Key`` and ``X-Ca-Signature`` (missing -> 400 I400MH "Header `X-Ca-Key` is
      Required"). Optional and checked when sent: ``X-Ca-Timestamp`` (ms; not a number -> 400
      I400HD; skew -> 400 A400IT "Invalid Timestamp"), ``X-Ca-Nonce`` (reused -> 400 A400NU
      "Nonce Used"), ``Content-MD5`` (mismatch -> 400 I400HD). ``X-Ca-Signature-Method``
      HmacSHA256 or HmacSHA1 (absent: HmacSHA1, the gateway's default). Unknown AppKey -> 400 A400IK
      "Invalid AppKey". Mismatch -> 403 A403IS "Invalid Signature, Server StringToSign:`...`" with
      line breaks written ``#``. I400MH, I400HD, I405UM and A403IS follow the gateway's published
      table; A400IK, A400IT, A400NU and I404NF are invented in its style.
    - Signed-header names are lower-cased and sorted; a listed header that was not sent counts as
      empty. The query is sorted by key, values decoded, a key without value written bare.
      Check order: key/signature present, AppKey, method, timestamp, Content-MD5, signature,
      nonce (a rejected request does not burn its nonce).
    Tokens
    - A named token maps to the end user ``<AppKey>/user:<name>``: every token allocated under
      the same name owns the same models. An anonymous token is its own owner.
      ``tokenExpiredAt`` must be a 13-digit future timestamp. Unknown token (or another app's)
      -> ``InvalidApiToken``; expired -> ``ApiTokenExpired`` (both 401 when not on HTTP 200).
    Model sync
    - ``apiToken`` is read from the JSON body, else the query. The session parameters of the
      page (roleId, sessionMode, expiredInSeconds, customResourceConfigId) are accepted and
      ignored, except that sessionMode must be 10 or 20. ``/openapi.json`` declares them (query and
      body), the bodies and the gateway headers (emulator/workshop/openapi.py). Bodies are parsed
      with emulator/core/jsonbody.py: deep nesting is ``InvalidParameter``, never a 500.
    - Required per the seed: modelId, name, modelType, sourceType; modelVersionId, name,
      baseModel; cover, coverFile.width/height; file name, aliasName, downloadUrl, hash, sizeKb.
      Also required (the page calls the structure complete): at least one version, one cover and
      one file per version. Enums exactly as the seed spells them. Version ids and names unique
      within a model, file names within a version; more than one ``isPrimary`` file ->
      InvalidParameter (none is accepted). Unknown fields are ignored. Codes: ``MissingParameter``,
      ``InvalidParameter`` (400 when not on HTTP 200).
    - The sync replaces the whole tree: versions and files left out are dropped. Platform ids
      (``modelId``/``modelVersionId``/``modelFileId`` of the reply) are the platform's own,
      kept per modelVersionId and file name. A file whose hash and downloadUrl are unchanged
      keeps its listing; a changed one starts again (a failed file is retried only then).
    - The model listing result event: ``POST callback_url`` with ``{eventType:
      "ModelListingResult", eventId, eventTime, modelId, modelVersionId, modelFileId, status,
      sourceModelId, sourceModelVersionId, fileName, errMessage}``, once per file reaching 10 or
      -10 after a listing (not for files that were already uploaded).
"""

from __future__ import annotations

from emulator.core.platform import Platform
from emulator.core.store import Store
from emulator.workshop.errors import error_body
from emulator.workshop.models import DEFAULT_SETTINGS, WorkshopBackend
from emulator.workshop.routes import build_router


def _refresh(store: Store) -> None:
    WorkshopBackend(store).refresh()


platform = Platform(
    name="workshop",
    build_router=build_router,
    error_body=error_body,
    default_settings=DEFAULT_SETTINGS,
    refresh=_refresh,
)

__all__ = ["platform"]
