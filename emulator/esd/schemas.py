"""Request models of the ESD API Gateway and the Lambda's dataclass parsing (spec §1.3 steps 3 and 4).

API Gateway validates bodies with a JSON-schema draft-4 validator whose messages we reproduce here
(``object has missing required properties (["x"])``, ``string "" is too short (length: 0, required
minimum: 1)``...). The Lambda then builds a ``@dataclass`` from the body, so unknown fields raise
Python's ``TypeError`` text. Both are data, so the same schemas also document the routes in /docs.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

# -- JSON-schema subset with API Gateway's validator wording -----------------------------------------


def _js(value: Any) -> str:
    """Compact JSON, the way the validator prints values inside its messages."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _type_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _allowed(schema_type: str) -> list[str]:
    # "number" admits integers, and the validator lists both.
    return ["integer", "number"] if schema_type == "number" else [schema_type]


def _num(n: float) -> str:
    return _js(n)


def validate(schema: dict[str, Any], value: Any) -> list[str]:
    """All validation errors of ``value``, in the validator's words (empty list = valid)."""
    errors: list[str] = []
    _validate(schema, value, errors)
    return errors


def _validate(schema: dict[str, Any], value: Any, errors: list[str]) -> None:
    t = schema.get("type")
    if t is not None and _type_of(value) not in _allowed(t):
        errors.append(
            f"instance type ({_type_of(value)}) does not match any allowed primitive type "
            f"(allowed: {_js(_allowed(t))})"
        )
        return
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"instance value ({_js(value)}) not found in enum (possible values: {_js(schema['enum'])})")
    kind = _type_of(value)
    if kind == "string":
        n = len(value)
        if "minLength" in schema and n < schema["minLength"]:
            errors.append(f"string {_js(value)} is too short (length: {n}, required minimum: {schema['minLength']})")
        if "maxLength" in schema and n > schema["maxLength"]:
            errors.append(f"string {_js(value)} is too long (length: {n}, maximum allowed: {schema['maxLength']})")
        if "pattern" in schema and re.search(schema["pattern"], value) is None:
            errors.append(f"ECMA 262 regex {_js(schema['pattern'])} does not match input string {_js(value)}")
    elif kind in ("integer", "number"):
        if "minimum" in schema and value < schema["minimum"]:
            errors.append(
                f"numeric instance is lower than the required minimum "
                f"(minimum: {_num(schema['minimum'])}, found: {_num(value)})"
            )
        if "maximum" in schema and value > schema["maximum"]:
            errors.append(
                f"numeric instance is greater than the required maximum "
                f"(maximum: {_num(schema['maximum'])}, found: {_num(value)})"
            )
    elif kind == "array":
        n = len(value)
        if "minItems" in schema and n < schema["minItems"]:
            errors.append(
                f"array is too short: must have at least {schema['minItems']} elements but instance has {n} elements"
            )
        if "maxItems" in schema and n > schema["maxItems"]:
            errors.append(
                f"array is too long: must have at most {schema['maxItems']} elements but instance has {n} elements"
            )
        if "items" in schema:
            for item in value:
                _validate(schema["items"], item, errors)
    elif kind == "object":
        missing = sorted(k for k in schema.get("required", []) if k not in value)
        if missing:
            errors.append(f"object has missing required properties ({_js(missing)})")
        for name, sub in schema.get("properties", {}).items():
            if name in value:
                _validate(sub, value[name], errors)


# -- building blocks ----------------------------------------------------------------------------------

STR1 = {"type": "string", "minLength": 1}
NAME_PATTERN = "^[A-Za-z][A-Za-z0-9_-]*$"


def _obj(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    s: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        s["required"] = required
    return s


def _list_of(item: dict[str, Any], lo: int, hi: int) -> dict[str, Any]:
    return {"type": "array", "items": item, "minItems": lo, "maxItems": hi}


CHECKPOINT_TYPES = ["Stable-diffusion", "embeddings", "Lora", "hypernetworks", "ControlNet", "VAE"]
ENDPOINT_TYPES = ["Real-time", "Serverless", "Async"]

# -- the request models, one per method that has one --------------------------------------------------
# Each follows the API Gateway model of the ESD v1.5.0 product source (the public
# awslabs/stable-diffusion-aws-extension repository, tag v1.5.0), file named in the comment:
# infrastructure/src/api/<family>/<operation>.ts, its ``createModel()`` schema.

SCHEMAS: dict[str, dict[str, Any]] = {
    # roles/create-role.ts: no ``creator`` property (the dataclass takes one, the model does not check it)
    "create_role": _obj({"role_name": STR1, "permissions": _list_of(STR1, 1, 20)}, ["role_name", "permissions"]),
    # roles/delete-roles.ts
    "delete_roles": _obj({"role_name_list": _list_of(STR1, 1, 100)}, ["role_name_list"]),
    # users/create-user.ts: role names minLength 1; no ``creator`` property
    "create_user": _obj(
        {"username": STR1, "password": STR1, "initial": {"type": "boolean"}, "roles": _list_of(STR1, 1, 20)},
        ["username"],
    ),
    # users/delete-users.ts
    "delete_users": _obj({"user_name_list": _list_of(STR1, 1, 100)}, ["user_name_list"]),
    # checkpoints/create-chekpoint.ts (sic): filename items without ``required``; urls minLength 1
    "create_checkpoint": _obj(
        {
            "checkpoint_type": {"type": "string", "enum": CHECKPOINT_TYPES},
            "filenames": _list_of(
                _obj({"filename": STR1, "parts_number": {"type": "integer", "minimum": 1, "maximum": 100}}),
                1,
                20,
            ),
            "urls": _list_of(STR1, 1, 20),
            "params": _obj({"message": {"type": "string"}, "creator": {"type": "string"}}),
        },
        ["checkpoint_type"],
    ),
    # checkpoints/update-chekpoint.ts
    "update_checkpoint": _obj(
        {
            "status": STR1,
            "name": {"type": "string", "minLength": 1, "maxLength": 20, "pattern": NAME_PATTERN},
            "multi_parts_tags": {"type": "object"},
        }
    ),
    # checkpoints/delete-checkpoints.ts: ids minLength 1
    "delete_checkpoints": _obj({"checkpoint_id_list": _list_of(STR1, 1, 100)}, ["checkpoint_id_list"]),
    # endpoints/create-endpoint.ts: assign_to_roles items have no minLength there
    "create_endpoint": _obj(
        {
            "endpoint_name": {"type": "string", "maxLength": 20},
            "endpoint_type": {"type": "string", "enum": ENDPOINT_TYPES},
            "instance_type": {"type": "string"},
            "initial_instance_count": {"type": "number", "minimum": 1},
            "min_instance_number": {"type": "number", "minimum": 0},
            "max_instance_number": {"type": "number"},
            "autoscaling_enabled": {"type": "boolean"},
            "assign_to_roles": _list_of({"type": "string"}, 1, 10),
            "creator": {"type": "string"},
            "custom_docker_image_uri": {"type": "string"},
            "cool_down_time": {"type": "string", "enum": ["15 minutes", "1 hour", "6 hours", "1 day"]},
        },
        ["endpoint_type", "instance_type", "initial_instance_count", "autoscaling_enabled", "assign_to_roles",
         "creator"],
    ),
    # endpoints/delete-endpoints.ts
    "delete_endpoints": _obj({"endpoint_name_list": _list_of(STR1, 1, 10)}, ["endpoint_name_list"]),
    # inferences/create-inference-job.ts
    "create_inference": _obj(
        {
            "task_type": STR1,
            "inference_type": {"type": "string", "enum": ENDPOINT_TYPES},
            "models": _obj({"embeddings": {"type": "array"}}),
            "payload_string": {"type": "string"},
            "custom_extensions": {"type": "string"},
        },
        ["task_type", "inference_type", "models"],
    ),
    # inferences/delete-inference-jobs.ts: ids minLength 1
    "delete_inferences": _obj({"inference_id_list": _list_of(STR1, 1, 100)}, ["inference_id_list"]),
    # trainings/create-training-job.ts: the inner strings have no minLength; the Lambda refuses falsy
    # values itself (middleware_api/lambda/common/util.py ``query_data``, see Esd.create_training)
    "create_training": _obj(
        {
            "lora_train_type": STR1,
            "params": _obj(
                {
                    "training_params": _obj(
                        {k: {"type": "string"} for k in ("training_instance_type", "model", "dataset", "fm_type")},
                        ["training_instance_type", "model", "dataset", "fm_type"],
                    ),
                    "config_params": _obj(
                        {
                            "saving_arguments": _obj(
                                {"output_name": {"type": "string"}, "save_every_n_epochs": {"type": "integer"}},
                                ["output_name", "save_every_n_epochs"],
                            ),
                            "training_arguments": _obj({"max_train_epochs": {"type": "integer"}},
                                                       ["max_train_epochs"]),
                        },
                        ["saving_arguments", "training_arguments"],
                    ),
                },
                ["training_params", "config_params"],
            ),
        },
        ["lora_train_type", "params"],
    ),
    # trainings/delete-training-jobs.ts: ids minLength 1
    "delete_trainings": _obj({"training_id_list": _list_of(STR1, 1, 100)}, ["training_id_list"]),
    # datasets/create-dataset.ts: content items list no ``required`` keys (the Lambda's DataUploadEvent
    # needs all four); creator minLength 1; no ``prefix`` property (the dataclass takes one, unchecked)
    "create_dataset": _obj(
        {
            "dataset_name": {"type": "string", "minLength": 1, "maxLength": 20, "pattern": NAME_PATTERN},
            "content": _list_of(
                _obj({"filename": STR1, "name": STR1, "type": STR1, "params": {"type": "object"}}),
                1,
                100,
            ),
            "creator": STR1,
            "params": _obj({"description": {"type": "string"}}),
        },
        ["dataset_name", "content", "creator"],
    ),
    # datasets/update-dataset.ts: status minLength 1
    "update_dataset": _obj({"status": STR1}, ["status"]),
    # datasets/delete-datasets.ts
    "delete_datasets": _obj(
        {"dataset_name_list": _list_of(
            {"type": "string", "minLength": 1, "maxLength": 20, "pattern": NAME_PATTERN}, 1, 10)},
        ["dataset_name_list"],
    ),
}

# -- the Lambda's dataclasses --------------------------------------------------------------------------


@dataclass(frozen=True)
class Dataclass:
    """What ``SomeEvent(**body)`` accepts: required fields first, then fields with defaults."""

    name: str
    required: tuple[str, ...]
    optional: dict[str, Any] = field(default_factory=dict)
    tolerant: bool = False  # handler reads single keys instead of building a dataclass

    def parse(self, body: dict[str, Any]) -> dict[str, Any]:
        """Returns the body with defaults filled in, or raises TypeError with Python's own wording."""
        if self.tolerant:
            return dict(body)
        known = set(self.required) | set(self.optional)
        for key in body:
            if key not in known:
                raise TypeError(f"{self.name}.__init__() got an unexpected keyword argument '{key}'")
        missing = [k for k in self.required if k not in body]
        if missing:
            quoted = [f"'{m}'" for m in missing]
            if len(quoted) == 1:
                names = quoted[0]
            elif len(quoted) == 2:
                names = f"{quoted[0]} and {quoted[1]}"
            else:
                names = ", ".join(quoted[:-1]) + f", and {quoted[-1]}"
            plural = "argument" if len(missing) == 1 else "arguments"
            raise TypeError(f"{self.name}.__init__() missing {len(missing)} required positional {plural}: {names}")
        return {**self.optional, **body}


# Names, required fields and defaults of the dataclass each v1.5.0 handler builds from the body
# (middleware_api/lambda/<family>/<handler>.py); ``TypeError`` texts name the class.
DATACLASSES: dict[str, Dataclass] = {
    # roles/create_role.py
    "create_role": Dataclass("UpsertRoleEvent", ("role_name", "permissions"), {"initial": False, "creator": ""}),
    # roles/delete_roles.py
    "delete_roles": Dataclass("DeleteRolesEvent", ("role_name_list",)),
    # users/create_user.py
    "create_user": Dataclass(
        "UpsertUserEvent", ("username", "password"), {"initial": False, "roles": None, "creator": ""}
    ),
    # users/delete_users.py reads the key itself (no dataclass)
    "delete_users": Dataclass("DeleteUsersEvent", ("user_name_list",), tolerant=True),
    # checkpoints/create_checkpoint.py
    "create_checkpoint": Dataclass(
        "CreateCheckPointEvent", ("checkpoint_type", "params"), {"filenames": None, "urls": None}
    ),
    # checkpoints/update_checkpoint.py
    "update_checkpoint": Dataclass(
        "UpdateCheckPointEvent", (), {"name": None, "status": None, "multi_parts_tags": None}
    ),
    # checkpoints/delete_checkpoints.py
    "delete_checkpoints": Dataclass("DeleteCheckpointsEvent", ("checkpoint_id_list",)),
    # endpoints/create_endpoint.py: ``creator`` is required there, ``endpoint_type`` has a default
    "create_endpoint": Dataclass(
        "CreateEndpointEvent",
        ("instance_type", "autoscaling_enabled", "assign_to_roles", "creator", "initial_instance_count"),
        {
            "max_instance_number": "1",
            "min_instance_number": "0",
            "endpoint_name": None,
            "endpoint_type": None,
            "custom_docker_image_uri": None,
            "custom_extensions": "",
        },
    ),
    # endpoints/delete_endpoints.py
    "delete_endpoints": Dataclass("DeleteEndpointEvent", ("endpoint_name_list",), {"username": ""}),
    # inferences/create_inference_job.py: ``inference_type`` has a default there
    "create_inference": Dataclass(
        "CreateInferenceEvent",
        ("task_type", "models"),
        {"sagemaker_endpoint_name": "", "inference_type": None, "filters": None, "user_id": "",
         "payload_string": None},
    ),
    # inferences/delete_inference_jobs.py
    "delete_inferences": Dataclass("DeleteInferenceJobsEvent", ("inference_id_list",)),
    # trainings/create_training_job.py: the class is called ``Event``; lora_train_type defaults to kohya
    "create_training": Dataclass("Event", ("params",), {"lora_train_type": "kohya"}),
    # trainings/delete_training_jobs.py
    "delete_trainings": Dataclass("DeleteTrainingJobsEvent", ("training_id_list",)),
    # datasets/create_dataset.py: ``creator`` has a default there
    "create_dataset": Dataclass(
        "DatasetCreateEvent", ("dataset_name", "content", "params"), {"prefix": "", "creator": ""}
    ),
    # datasets/update_dataset.py
    "update_dataset": Dataclass("UpdateDatasetStatusEvent", ("status",)),
    # datasets/delete_datasets.py
    "delete_datasets": Dataclass("DeleteDatasetsEvent", ("dataset_name_list",)),
}

# Nested dataclasses built per list item: libs/data_types.py ``MultipartFileReq`` (checkpoint files)
# and datasets/create_dataset.py ``DataUploadEvent`` (dataset content items).
MULTIPART_FILE = Dataclass("MultipartFileReq", ("filename", "parts_number"))
DATASET_ITEM = Dataclass("DataUploadEvent", ("filename", "name", "type", "params"))
