"""ESD ("Extension for Stable Diffusion on AWS") v1.5.0 REST API, emulated from specs/esd.md.

Where the spec is silent or loose, the rules follow the v1.5.0 product source (the public
awslabs/stable-diffusion-aws-extension repository, tag v1.5.0): the API Gateway request models in
infrastructure/src/api/<family>/*.ts (``schemas.SCHEMAS``) and the Lambda handlers in
middleware_api/lambda/ (``schemas.DATACLASSES`` and the handlers in ``models``). Each rule names
its source file in a comment; no source code is copied.

Mounted under ``/esd``; the API hangs off the stage: ``http://127.0.0.1:<port>/esd/prod/<route>``.
Presigned URLs point back at the emulator: ``/esd/_s3/<bucket>/<key>?X-Amz-...&X-Amz-Signature=...``.

Modules (the layout of ``emulator/__init__.py``): ``errors`` (EsdError, S3Error, the fault envelope),
``models`` (the store-backed rules: identity, checkpoints, endpoints, inferences, trainings,
datasets; operations take plain arguments), ``routes`` (the wire format, the Lambda and API Gateway
envelopes, and the §1.3 check order), ``schemas`` (API Gateway request models with the validator's
wording, and the Lambda's dataclasses), ``s3`` (objects, multipart uploads, presigned URLs, PNG
results).

Stored kinds (see ``/_admin/objects/esd``): role, user, checkpoint, checkpoint_download (URL mode in
flight), endpoint, endpoint_tombstone (physical name still deleting), inference, training, dataset,
dataset_item, upload (multipart upload), blob (object metadata; bytes live in ``<db>.esd-blobs/``).
Built-ins (seed): roles ``IT Operator`` and ``byoc`` (creator ``ESD``, six ``*:all`` permissions),
user ``api`` (role ``IT Operator``, no password).

Async work is lazy: each document carries ``_pending`` steps with due times, applied at the start of
every request and before admin reads. Due times are fixed when the work is queued, so change timing
settings before creating objects. Fields starting with ``_`` are bookkeeping and never on the wire.

Settings (``PUT /_admin/settings/esd``), defaults in ``models.DEFAULT_SETTINGS``:
  api_key                         valid ``x-api-key`` (``emulator.defaults.ESD_API_KEY``)
  bucket, region, account_id      appear in s3:// locations and SageMaker error texts
  presign_expires_seconds         lifetime of presigned URLs (3600)
  s3_min_part_bytes               S3's minimum size of non-final parts; 0 here, 5 MiB on AWS
  gateway_timeout_seconds         API Gateway integration timeout (29): real-time starts slower than
                                  this answer 504 while the job still completes
  checkpoint_download_seconds     URL-mode "download" (1.0)
  checkpoint_rename_seconds       background rename (0.5)
  endpoint_create_seconds         Creating -> InService/Failed (2.0)
  endpoint_delete_seconds         how long a deleted physical name stays taken in SageMaker (0)
  endpoint_fail_instance_types    instance types whose endpoints end Failed with endpoint_fail_error
  endpoint_fail_error             the error text then stored in the record
  endpoint_instance_limit         account limit of instances per type (20) -> ResourceLimitExceeded
  endpoint_instance_type_limits   per-type limits ({"ml.g4dn.16xlarge": 0})
  inference_async_seconds         inprogress -> succeed/failed (1.0)
  inference_realtime_seconds      duration of a real-time start (0.2)
  inference_fail_task_types       task types whose jobs fail (sagemakerRaw set)
  training_phase_seconds          duration of each training phase (0.5)
  training_statuses               secondary statuses walked before the end
                                  (["Starting","Downloading","Training","Uploading"]); put e.g.
                                  "LaunchingMLInstances" in to provoke the list-crash quirk
  training_fail_models            base model file names whose trainings end "Failed"
  training_no_output_models       ... end "Fail" (completed without output)
  training_fail_instance_types    CreateTrainingJob fails (ResourceLimitExceeded 400): no training
                                  record, but the output checkpoint is left behind (as in 1.5.0)

Guesses beyond the spec:
  * Gateway-made replies (403 Forbidden / Missing Authentication Token, 400 validation, 504) carry
    ``x-amzn-ErrorType`` and no ``x-api-version`` or CORS headers; only Lambda replies have those.
  * Validator wording other than the spec's quoted ones (too long, pattern, enum, minItems, maximum)
    follows the draft-4 validator's usual messages; all errors are listed, joined by ", ", in [].
    A body that is not JSON -> 400 ``{"statusCode":400,"message":"Invalid request body"}``.
    An empty body counts as ``{}`` for validation; if that passes, the Lambda's ``json.loads(None)``
    TypeError is the 400.
  * Dataclass names other than CreateEndpointEvent (CreateRoleEvent, UpsertUserEvent,
    CreateCheckPointEvent, UpdateCheckPointEvent, CreateInferenceEvent, DatasetCreateEvent, ...).
  * 204 replies have no body (the Lambda writes one, HTTP forbids it). CORS pre-flight OPTIONS on
    every resource answers 204 without an API key.
  * ``username`` header case cannot be checked over HTTP (servers lower-case names); any case works.
    ``Authorization`` is only used when it starts with ``Bearer ``.
  * POST /roles (roles/create_role.py): with ``initial``, no header user -> 401; an unknown one ->
    400 ``user: "<u>" not exist``; no ``role:*`` permission -> 400 ``'role'`` (a KeyError). Without
    ``role:all``, overwriting any existing role -> 400 ``'list' object has no attribute 'items'``.
  * GET /users shows ``*`` for users without password even with ``show_password``.
  * A user whose ``roles`` is empty: every permission check is a 400 (ExpressionAttributeValues text).
  * GET /checkpoints: ``status``/``types`` act as the scan filter; when it matches nothing the reply
    has ``pages:0``; otherwise ``pages = total // per_page + 1`` even when visibility leaves 0.
  * DynamoDB scan order is emulated as key order (uuid order looks random, like hash order);
    ``last_evaluated_key`` is returned whenever a page is full (so a last full page is followed by an
    empty one). The inference list pages on (createTime, id) descending. Bad ``limit`` (<1) or a
    start key without the table's key -> 400 with DynamoDB's ValidationException text.
  * Endpoint ``startTime``/``endTime`` and inference times are UTC ``YYYY-MM-DD HH:MM:SS.ffffff``.
    On InService, ``current_instance_count`` becomes the requested initial count. ``Updating`` and
    other SageMaker statuses are never produced by the API (patch them in through the admin surface).
    ``custom_extensions`` is stored de-duplicated and comma-joined.
  * ResourceLimitExceeded counts the initial instance counts of live endpoints of the same type;
    the text follows SageMaker's usual wording. "Cannot create already existing model" uses the
    model name ``esd-model-<type>-<short>`` in the ARN; it fires while a record with the same
    physical name exists (or a tombstone, see endpoint_delete_seconds).
  * Starting an inference whose endpoint record is gone -> 400 ValidationException "Endpoint ... not found".
    Missing/invalid uploaded parameters make the job fail (async: status failed; real-time: 400 with
    the raw text, status unchanged). A finished job produces ``batch_size*n_iter`` (max 8) 32x32 PNGs
    plus ``out/<id>/result/<id>_param.json``; ``inference_info_name`` is that file's name.
  * URL checkpoints are not downloaded: a small placeholder object is written after the delay. The
    ``params.creator`` check runs when the request is accepted. File-mode completion is idempotent for
    an upload already completed (the same parts again -> 200; the completed parts' ETags and sizes are
    kept for that check); a wrong ETag or part -> 400 with S3's InvalidPart ClientError text.
  * Object bytes are deleted from disk with the last object or part that refers to them (an admin
    delete of a ``blob`` document leaves its bytes until the next S3 delete or reset sweeps them).
  * A request body, ``payload_string`` or inference parameter file nested deeper than 64 levels is
    treated as malformed JSON (``emulator/core/jsonbody.py``; the vendor documents no limit).
  * Trainings (trainings/create_training_job.py, common/util.py ``query_data``): missing *or falsy*
    model, dataset, fm_type, output_name, save_every_n_epochs, max_train_epochs -> 400 ``Missing
    <dotted path>`` in that order; a falsy training_instance_type falls back to ml.g4dn.2xlarge;
    ``s3_toml_path`` is ``<input>/kohya_config_cloud.toml`` (``_xl`` for sd_xl); the reply's params
    keep every key sent. Guesses: ``sagemakerTrainName`` = ``kohya-<id8>-<epoch>``; the list-crash
    check looks at every scanned job (before visibility filtering).
  * Datasets (datasets/*.py, libs/data_types.py): ``s3`` is ``s3://<bucket>/dataset/<name>[/<prefix>]``;
    uploads go to ``.../<filename>``; an item's ``key`` is its sort key ``<timestamp>_<name>``, its
    ``preview_url`` points at ``.../<item name>``, its params gain ``original_file_name``; the list is
    newest first. PUT status updates items too; unknown dataset on PUT is checked before the status.
  * Injected faults with 502/503/504 use the gateway body ``{"message": ...}``; other statuses the
    Lambda envelope ``{"statusCode", "message"}``.
"""

from emulator.core.platform import Platform
from emulator.core.store import Store
from emulator.esd.errors import error_body
from emulator.esd.models import DEFAULT_SETTINGS, backend
from emulator.esd.routes import build_router


def _seed(store: Store) -> None:
    backend(store).seed()


def _refresh(store: Store) -> None:
    backend(store).tick()


platform = Platform(
    name="esd",
    build_router=build_router,
    error_body=error_body,
    default_settings=DEFAULT_SETTINGS,
    seed=_seed,
    refresh=_refresh,
)

__all__ = ["platform"]
