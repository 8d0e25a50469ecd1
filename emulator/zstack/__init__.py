"""Emulated ZStack Cloud / AIOS REST API: sessions, API jobs, model centers, models and model services.

An independent reading of ``shared/specs/zstack.md`` (§6 and §10) and the AddModel seed page;
imports nothing from ``providers``.

Route prefix
------------
Mounted under ``/zstack``, which is ZStack's own context path: the vendor URL
``http://<mn>:8080/zstack/v1/ai/models`` is ``http://127.0.0.1:<port>/zstack/v1/ai/models``.

=======  ============================================  =============================================
PUT      /zstack/v1/accounts/login                     200 {"inventory": session}; body {"logInByAccount": {...}}
GET      /zstack/v1/accounts/sessions/{uuid}/valid     200 {"valid": bool}
DELETE   /zstack/v1/accounts/sessions/{uuid}           200, empty body (logout; no auth needed)
GET      /zstack/v1/api-jobs/{uuid}                    202 empty / 200 result / 503 {"error"} / 404 text
POST     /zstack/v1/ai/model-centers                   202 job; body {"param": {...}, "systemTags", "userTags"}
GET      /zstack/v1/ai/model-centers[/{uuid}]          200 {"inventories": [...]} (q grammar)
PUT      /zstack/v1/ai/model-centers/{uuid}            202 job; body {"updateModelCenter": {...}}
DELETE   /zstack/v1/ai/model-centers/{uuid}            202 job; ?deleteMode=Permissive|Enforcing
POST     /zstack/v1/ai/models                          202 job; body {"param": {...}, "systemTags", "userTags"}
GET      /zstack/v1/ai/models[/{uuid}]                 200 {"inventories": [...]} (q grammar)
PUT      /zstack/v1/ai/models/{uuid}                   202 job; body {"updateModel": {...}}
DELETE   /zstack/v1/ai/models/{uuid}                   202 job; ?deleteMode=Permissive|Enforcing
POST     /zstack/v1/ai/model-services                  202 job; body {"param": {...}, "systemTags", "userTags"}
GET      /zstack/v1/ai/model-services[/{uuid}]         200 {"inventories": [...]} (q grammar)
PUT      /zstack/v1/ai/model-services/{uuid}           202 job; body {"updateModelService": {...}}
DELETE   /zstack/v1/ai/model-services/{uuid}           202 job; ?deleteMode=Permissive|Enforcing
=======  ============================================  =============================================

Model services are definitions only (AddModelService, UpdateModelService, DeleteModelService, the
Java SDK's actions): ``deployModelService``, instance groups and clones are not served (404).
``/openapi.json`` declares every route's body (with its wrapper key), query parameters (``q``,
paging, ``deleteMode``) and auth headers (emulator/zstack/openapi.py). Bodies are parsed with
emulator/core/jsonbody.py: deep nesting is a plain-text 400, never a 500.

Anything else answers ``404 no api mapping to <path>`` (plain text), as RestServer does.

Auth
----
``Authorization: OAuth <session uuid>`` from the login, whose ``password`` must be the lower-case
hex SHA-512 of the account's password (``accounts`` setting holds clear text; a clear-text password
fails like a wrong one: 503 ``ID.1000``). ``Authorization: ZStack <AccessKeyId>:<signature>`` with
``Date``: signature = base64(HMAC-SHA1(secret, ``METHOD\\nDATE\\n/v1/<path after /v1/>``)).
Missing header → 400 text ``missing header 'Authorization'``; another scheme → 400 text
``Authorization type must be 'OAuth'``. A bad session is not rejected at the HTTP layer: queries
answer 503 ``ID.1001``, mutating APIs 202 and then a job ending 503 ``ID.1001``.

Jobs
----
Every POST/PUT/DELETE on the model routes is an API job: 202 ``{"location":
"<location_base>/v1/api-jobs/<uuid>", "apiTimeout": <ms>}``. ``X-Job-UUID`` (exactly 32 chars,
else 400 text) chooses the job uuid; reusing one → 400 text ``Duplicate job uuid[<uuid>]``. A job
runs ``job_delay_s`` after submission (executed on the next request that looks: no background
thread), then the poll answers 200 with ``{"inventory": ...}`` (delete: empty body) or 503 with
``{"error": {code, description, details, elaboration, opaque, cause}}``. Finished jobs are kept
``job_retention_s``, then the poll answers 404 ``the job has been expired``; an unknown job uuid →
404 ``no job[uuid:<uuid>] found``. Other methods on the job URL → 405 text. ``X-Web-Hook: <url>``:
when the job ends (on time, even if nobody polls) the emulator POSTs the poll's answer there with
``X-Job-UUID`` and ``X-Job-Success: true|false``, retrying ``webhook_attempts`` times every
``webhook_interval_s`` on a non-2xx answer.

Settings (``PUT /_admin/settings/zstack``)
-------------------------------------------
``accounts`` ({ZSTACK_ACCOUNT: ZSTACK_PASSWORD}), ``access_keys`` ({ZSTACK_ACCESS_KEY_ID:
ZSTACK_ACCESS_KEY_SECRET}; both from ``emulator.defaults``), ``session_timeout_s`` (7200), ``job_delay_s`` (1.0;
0 = the API answers 200 with its result directly, no job to poll), ``job_retention_s`` (10800),
``api_timeout_ms`` (1800000), ``location_base`` (null: the emulator's own scheme, host, port and
``/zstack`` as the request reached it, so a client that follows ``location`` as given stays on the
address it used; set e.g. "http://172.20.0.10:8080/zstack" to play a management node that hands out
an internal address, which clients must rewrite, as the official SDKs do),
``max_clock_skew_s`` (900), ``delete_missing_succeeds`` (true), ``require_zone_uuid`` (false),
``webhook_attempts`` (15), ``webhook_interval_s`` (2.0).

Admin: kinds ``model_center``, ``model``, ``model_service`` (inventories plus internal ``_`` keys),
``session`` and ``job`` (bookkeeping). Deleting a ``session`` document expires that session.

Guesses beyond the spec
-----------------------
- Error codes: ``SYS.1007`` for missing/too long/invalid fields (message ``field[<name>] ...``),
  ``SYS.1003`` for a missing model center or object (``Unable to find ModelCenterVO[uuid:...]``),
  ``SYS.1006`` when a Permissive delete of a model center finds models (Enforcing deletes them with
  it), ``ID.1000`` for a bad login, ``ID.1001`` for an invalid/expired session. Descriptions and
  details are my wording.
- Wrong JSON types (TypeVerifier) are a synchronous 400 plain text before any job exists; every
  other validation happens when the job runs (503 on the poll). A create body without ``param``
  (e.g. ``params``) has its fields ignored and fails on the job with a required-field error.
- AccessKey: a bad ``Date`` → 400 text, skew > ``max_clock_skew_s`` → 403 text
  ``requestTimeTooSkewed``, unknown key or wrong signature → 401 text (the spec does not say).
  The signed path is the decoded path from ``/v1`` on; the query string is not signed.
- Deleting a missing uuid succeeds (``successIfResourceNotExisting``); setting
  ``delete_missing_succeeds=false`` gives ``SYS.1003`` instead. An unknown ``deleteMode`` → 400 text.
- AddModel: name ≤ 255, installPath/modelCenterUuid ≤ 2048, description ≤ 255 (UpdateModel's
  maxLength in the Java SDK: a description AddModel took must stay updatable); ``size`` ≥ 0;
  ``resourceUuid`` must be 32 lower-case hex and unused (SYS.1007). ``type`` of an added model is
  ``Custom``. ``recommendedGpuNum`` ("2", "1,2") is rendered as a list of ints ([2], [1, 2]) when
  it is a comma list of digits, else as the string sent. ``shareMode``, ``token``, ``tagUuids``,
  ``defaultModelServiceUuid``, ``systemTags`` and ``userTags`` are stored but not in the inventory.
  ``modelServiceUuids`` and ``defaultModelServiceUuid`` must name existing model services
  (``SYS.1003 Unable to find ModelServiceVO``); each binding appears as a ``modelServiceRefs`` item
  with the Java SDK's ModelServiceRefInventory keys: ``uuid``, ``modelUuid``, ``modelServiceUuid``,
  ``isDefault`` (confirmed, not a guess). ``size`` is taken to be MiB (the seed's 102400 for a 32B
  model is absurd in bytes): ``artifactSizeBytes`` = size × 2^20; ``versionSemver`` is the version
  when it reads as x.y.z (a leading ``v`` dropped); ``isLatestVersion`` is true; the other
  inventory fields (``artifactChecksum``, ``architectureType``, ``frameworkVersion``,
  ``requiredAccelerator``, ``pipelineTag``, ``extraGpuMemRequest``, ``minGpuMemory``,
  ``recommendedGpuMemory``) are null until an admin PATCH sets them (the platform fills them by
  scanning the files). UpdateModel takes ``modelClassifications`` (a list of strings: a guess).
- AddModelService: required name (≤ 255), yaml, modelCenterUuid (must exist), requestCpu and
  requestMemory (≥ 1), installPath, startCommand; ``type`` ∈ Endpoint (default), FineTune,
  ModelEval, App; ``source`` ∈ Other (default), Bentoml, HuggingFace; description ≤ 2048;
  ``modelUuids`` must exist and bind those models; ``architectureImages`` appear as
  ``modelServiceImages`` and their ``cpuArchitecture`` values as ``cpuArchitectures``;
  ``zoneUuid``, ``tagUuids`` and the tags are stored, not shown. The service's
  ``modelServiceRefs`` are the bindings its models hold. UpdateModelService changes name,
  description, yaml, requestCpu, requestMemory, gpuComputeCapability, startCommand, pythonVersion,
  type and framework (whose validValues there are source's: Other, Bentoml, HuggingFace, as in the
  SDK); dockerImage/vmImageUuid are stored. A Permissive delete refuses (SYS.1006) while models
  are bound; Enforcing unbinds them. Deleting a model center also counts its services.
- AddModelCenter: managementIp must be an IP address, managementPort in 1..65535, ``status``
  is ``Connected``, ``capacity`` a fixed 10 TiB; ``zoneUuid`` is optional (``require_zone_uuid``)
  and not in the inventory.
- Update: ``null`` / absent fields are unchanged; non-updatable fields are ignored; ``lastOpDate``
  moves only when something changed.
- Queries: ``=`` is exact; LIKE (``~=``) is case-insensitive (MySQL's default collation); ``>``/``<``
  compare numerically when the field is a number; an unknown field → 400 text ``Invalid query
  parameter``; ``groupBy`` is ignored. ``count=true`` → ``{"total": N}``.
- Timestamps: Gson's default format in UTC (the real server uses its local zone).
- Web hooks: delivered from a background thread; a hook whose job is still pending when the
  emulator restarts is delivered only when a later request settles the job.
- Not emulated: model-service deployment (deployModelService, instance groups, clones), batch
  delete, unbind, sub-user/IAM2 login, ``X-JSON-Schema``/``schema`` in replies.
"""

from __future__ import annotations

from emulator.core.platform import Platform
from emulator.core.store import Store
from emulator.zstack.errors import error_body
from emulator.zstack.models import DEFAULT_SETTINGS, ZStackBackend
from emulator.zstack.routes import build_router


def _settle(store: Store) -> None:
    ZStackBackend(store).settle()


platform = Platform(
    name="zstack",
    build_router=build_router,
    error_body=error_body,
    default_settings=DEFAULT_SETTINGS,
    refresh=_settle,
)

__all__ = ["platform"]
