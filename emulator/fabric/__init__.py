"""Huawei Cloud DataArts Fabric model API (v1) and the IAM token API it authenticates with.

An independent reading of ``shared/specs/fabric.md`` (and the vendor's "Creating a Model" seed page);
imports nothing from ``providers``.

Route prefix
------------
Everything is under ``/fabric``: ``http://127.0.0.1:<port>/fabric/<spec path>``.

=======  ====================================================================  =======
POST     /fabric/v3/auth/tokens                                                201 + X-Subject-Token
GET      /fabric/v1/base-models                                                200
POST     /fabric/v1/workspaces/{workspace_id}/models                           200 {id, version_id}
GET      /fabric/v1/workspaces/{workspace_id}/models                           200 {total, models}
PUT      /fabric/v1/workspaces/{workspace_id}/models/{model_id}                200 ModelInfo
DELETE   /fabric/v1/workspaces/{workspace_id}/models/{model_id}                200, empty body
GET      /fabric/v1/workspaces/{workspace_id}/models/{model_id}/versions       200 {total, versions}
DELETE   /fabric/v1/workspaces/{workspace_id}/models/{model_id}/versions/{id}  202, empty body
=======  ====================================================================  =======

There is no get-one model or version route (as at the vendor): any other method/path answers 404
``common.01000001`` "response status exception, code: 404" (the seed page's 404 example).
Every response carries ``X-Request-Id``. Every route but the token API needs auth: an
``X-Auth-Token`` from the token API, or an ``SDK-HMAC-SHA256`` signature (both accepted everywhere;
the token is checked first when both are sent).

Settings (``PUT /_admin/settings/fabric``)
-------------------------------------------
``create_delay_s`` (1.0)          a created model and its first version appear in ListModels /
                                  ListModelVersions only after this many seconds.
``version_delay_s`` (1.0)         same for a version added by UpdateModelDefinition.
``new_version_becomes_current`` (true)  an added version becomes ``current_version`` once it appears.
``not_found_status`` (400)        status of "does not exist" (code ``dataartsfabric.00010009``); 404 allowed.
``workspaces`` (["emulator-workspace"])  existing workspace ids; ``"*"`` accepts any id of 1-36
                                  letters, digits and hyphens. Others → 400 ``dataartsfabric.00010003``.
``obs_buckets`` ([])              buckets that exist for ``model_path``; empty = every bucket exists.
                                  A missing bucket → 400 ``dataartsfabric.00010004``.
``token_ttl_s`` (86400)           token lifetime (vendor: 24 h); shorten it to exercise refresh.
``signature_skew_s`` (900)        accepted |server time - X-Sdk-Date| (vendor: 15 min).
``accept_any_token`` (false)      true: any non-empty X-Auth-Token passes, as the first user.
``token_secret``                  MAC key of the emulator's tokens; changing it revokes every token.
``domain_name``, ``domain_id``, ``project_name``, ``project_id``: the ``FABRIC_DOMAIN_*`` and
``FABRIC_PROJECT_*`` values of ``emulator.defaults``.
``users``  {FABRIC_USERNAME: {"password": FABRIC_PASSWORD, "user_id": FABRIC_USER_ID}}
``access_keys``  {FABRIC_ACCESS_KEY: {"secret_key": FABRIC_SECRET_KEY, "user": FABRIC_USERNAME}}
(the names are constants of ``emulator.defaults``).

Admin hooks (``PATCH /_admin/objects/fabric/<kind>/<id>``)
----------------------------------------------------------
``version``: ``{"in_use_by": ["svc-1"]}`` marks a version in use by inference services (refuses
DeleteModelVersion and CleanupModel); ``{"failed": true}`` marks it failed (cannot become current).
``model``: ``{"in_use_by": [...]}`` marks the whole model in use; ``{"visibility": "PUBLIC"}``
publishes it (the API cannot). Kinds: ``model``, ``version``, ``base_model`` (seeded).

Auth details
------------
Token API: body ``{"auth": {"identity": {"methods": ["password"], "password": {"user": {"name",
"password", "domain": {"name"|"id"}}}}, "scope": {"project": {"name"|"id"}}}}`` → 201, token in
``X-Subject-Token``, body ``{"token": {expires_at, issued_at, methods, user, project, roles, catalog}}``.
Bad or expired tokens on model routes → 401 ``APIG.1002`` "Incorrect token or token resolution failed"
(seed page), with the reason in ``solution_msg``. Tokens are stateless (MAC'd), survive restart and
reset, and are revoked when the user's password in ``users`` changes.

AK/SK: the canonical request is rebuilt from what was received, by the vendor SDK's rules (method;
URI-decoded path split on "/", each segment RFC 3986-encoded, trailing "/" added; the decoded query
pairs sorted, then encoded; the headers named in SignedHeaders, lower-case ``name:trimmed value\\n``
with values read as UTF-8, sorted; SignedHeaders joined by ";"; for an empty body the SHA-256 of the
empty string, otherwise the value of ``X-Sdk-Content-Sha256`` when sent (``UNSIGNED-PAYLOAD``), else
the hex SHA-256 of the body), then
``SDK-HMAC-SHA256\\n<X-Sdk-Date>\\n<hex sha256(canonical)>`` is HMAC-SHA256'd with the SK. Failures
(malformed Authorization, missing/bad/skewed X-Sdk-Date, unknown AK, signed header absent, signature
mismatch, X-Project-Id other than ``project_id``), and no credentials at all, → 401 ``APIGW.0301``
"Incorrect IAM authentication information: <reason>". The scheme has **no nonce**: a signed request
replayed within the 15-minute window is accepted (only the date window bounds replay).

Guesses beyond the spec
-----------------------
- Error codes not in the spec: ``dataartsfabric.00010001`` invalid parameter, ``…00010010`` duplicate
  model or version name, ``…00010011`` in use by inference services, ``…00010012`` failed version
  cannot be current, ``…00010013`` current version cannot be deleted (all 400), ``APIGW.0301`` for
  AK/SK failures. Malformed JSON, JSON nested deeper than 64 levels, or a non-string description → 400
  ``common.01000001`` (seed example); on the token API → the IAM-style 400 below.
  Messages are my own wording.
- Operations on a model or version that is still being created (update, delete, set current, add a
  version while another is being created) → 500 ``dataartsfabric.00000001`` "still running, try later".
  ListModelVersions of a model still being created → not found.
- Duplicate model names are per workspace, case-sensitive, and include models still being created;
  version names are unique within a model.
- ListModels ``visibility``: empty = own models (any visibility); PRIVATE = own private; PUBLIC = anyone's
  public; ALL = own + anyone's public. "Own" = ``create_user.user_id`` is the caller. Ownership
  affects listing only. ``name`` filters are case-insensitive substrings; name filters accept the
  name character set (letters, digits, ``-_.`` and space), lengths as documented (1-128 models,
  4-32 versions). ``type``, ``id``, ``version_id`` are exact.
- ListModelVersions is newest first. ListBaseModels serves four invented base model types.
- ``version.config`` and ``llm_model_config`` optional (seed page); ``base_model_type`` required in it and
  must be a ListBaseModels value; ``model_path`` optional but must be ``obs://<bucket>/<path>`` (bucket
  3-63 lower-case letters, digits, ``.`` and ``-``; non-empty object path);
  ``local_model_path`` accepted and echoed. ``cap_white_list`` is always ``[]``. ``visibility`` in a
  body is ignored. Version description has no length limit; model description ≤ 1024.
- Update: ``null`` fields are ignored; ``current_version_id`` is applied before a new ``version`` is
  added; update_time/update_user change only if something changed. The new version becomes current
  when it appears (setting above); the update's response still shows the old current version.
- DeleteModelVersion refuses the current version. CleanupModel deletes every version. Both return
  empty bodies.
- Token API errors: ``{"error": {"code": "401", "message", "title"}, "error_code": 401, "error_msg",
  "title"}`` (shape of the seed page's 403 example). A project scope is required (400 otherwise).
- AK/SK: a ``+`` in the received query string is read as a space (form encoding), so ``a+b`` and
  ``a%20b`` both canonicalise to ``a%20b``; repeated query keys all take part in the signature.
  Whitespace after the commas of the Authorization header is optional. SignedHeaders is sorted and
  lower-cased before use. Temporary credentials (``X-Security-Token``) are not emulated.
- Timestamps are ISO 8601 UTC ``YYYY-MM-DDTHH:MM:SSZ`` (token times carry microseconds).
"""

from __future__ import annotations

from emulator.core.platform import Platform
from emulator.fabric.errors import error_body
from emulator.fabric.models import DEFAULT_SETTINGS, seed
from emulator.fabric.routes import build_router

platform = Platform(
    name="fabric",
    build_router=build_router,
    error_body=error_body,
    default_settings=DEFAULT_SETTINGS,
    seed=seed,
)
