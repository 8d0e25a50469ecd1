"""esd:InferenceJob — a smoke test of an endpoint: create the job, upload its parameters,
start it, wait for the result. Every input forces a replacement (a new run).

The job record has no field we control, so after a lost create reply the job this very create
made is recognised by a list filtered by what we sent (task type, owner, endpoint, models, not
started) and created since our POST by the platform's clock; its upload URL is in the record."""

from __future__ import annotations

import json
from typing import Any, Literal

from providers.core import (
    Created,
    CreatedButFailed,
    Inputs,
    Observed,
    Outputs,
    Poll,
    ProviderError,
    is_import,
    is_transient,
    prop,
    wait_for,
)
from providers.esd.base import CLOCK_MARGIN_S, EsdHandler, utc_epoch, wait_timeout
from providers.esd.checkpoint import CheckpointType  # the keys of the models map

TaskType = Literal["txt2img", "img2img", "extra-single-image", "extra-batch-images", "rembg"]


class InferenceJobInputs(Inputs):
    task_type: TaskType = prop("txt2img", replace=True)
    inference_type: Literal["Async", "Real-time"] = prop(replace=True)
    models: dict[CheckpointType, list[str]] = prop(
        replace=True, description='checkpoint file names by type, e.g. {"Stable-diffusion": ["v1-5.safetensors"]}')
    parameters: dict[str, Any] = prop({}, replace=True, write_only=True,
                                      description="A1111-style parameters (prompt, steps...); uploaded, not readable back")
    endpoint_name: str | None = prop(None, replace=True, description="physical endpoint name; default: any eligible")
    wait_timeout_s: int = wait_timeout(600)


class InferenceJobOutputs(Outputs):
    status: str | None = None
    used_endpoint: str | None = None  # the endpoint the platform picked
    image_names: list[str] = []
    output_path: str | None = None
    error: str | None = None


class InferenceJobHandler(EsdHandler[InferenceJobInputs, InferenceJobOutputs]):
    id_doc = "the inference job id."
    import_doc = "the inference job id."
    refresh_doc = ("sees the status, the endpoint used, the image names and the error; inputs are never read"
                   " back.")

    Inputs, Outputs = InferenceJobInputs, InferenceJobOutputs
    type_token = "esd:InferenceJob"

    def label(self, inputs: InferenceJobInputs) -> str:
        return f"{self.type_token} {inputs.task_type}"

    def create(self, inputs: InferenceJobInputs) -> Created[InferenceJobOutputs]:
        since = self.client.server_now() - CLOCK_MARGIN_S
        body: dict[str, Any] = {"task_type": inputs.task_type, "inference_type": inputs.inference_type,
                                "models": inputs.models}
        if inputs.endpoint_name:
            body["sagemaker_endpoint_name"] = inputs.endpoint_name
        label = self.label(inputs)
        job = self.create_once(label, lambda: self._created(self.client.create_inference(body)["inference"]),
                               lambda: self._find_mine(inputs, since))
        id = job["id"]
        record: dict[str, Any] = {"InferenceJobId": id, "status": "created"}
        try:
            self.client.s3_put(job["upload_url"], json.dumps(inputs.parameters).encode(), f"parameters of {id}")
            self._start(id)
            record = self._wait(id, inputs)
        except ProviderError as exc:
            raise CreatedButFailed(f"{exc.message} (inference job {id})", id=id, outputs=self._outputs(record),
                                   cleanup=lambda: self.client.delete_inferences([id])) from exc
        return Created(id, self._outputs(record))

    def read(self, id: str, inputs: InferenceJobInputs, outputs: InferenceJobOutputs) -> Observed | None:
        job = self.client.get_inference(id)
        return Observed(self._inputs_from(job) if is_import(inputs) else inputs, self._outputs(job))

    def delete(self, id: str, inputs: InferenceJobInputs, outputs: InferenceJobOutputs) -> None:
        self.client.delete_inferences([id])

    @staticmethod
    def _created(reply: dict[str, Any]) -> dict[str, Any]:
        return {"id": reply["id"], "upload_url": reply["api_params_s3_upload_url"]}

    def _find_mine(self, inputs: InferenceJobInputs, since: float) -> dict[str, Any] | None:
        """The job this very create made, for want of any marker field: the newest not-yet-started
        job of our task type, owned by us, created since our POST (platform clock), on the endpoint
        and with the models we asked for. The list is newest first, so paging stops at ``since``."""
        wanted = {(t, n) for t, names in inputs.models.items() for n in names
                  if not (t == "VAE" and n in ("None", "Automatic"))}
        for job in self.client.iter_inferences(inputs.task_type):
            if utc_epoch(job.get("createTime")) < since:
                return None
            params = job.get("params") or {}
            used = {(t, m.get("model_name")) for t, ms in (params.get("used_models") or {}).items() for m in ms or []}
            if (job.get("status") == "created" and job.get("owner_group_or_role") == [self.client.username]
                    and job.get("inference_type") == inputs.inference_type
                    and inputs.endpoint_name in (None, params.get("sagemaker_inference_endpoint_name"))
                    and (inputs.task_type not in ("txt2img", "img2img") or used == wanted)
                    and params.get("input_body_presign_url")):
                return {"id": job["InferenceJobId"], "upload_url": params["input_body_presign_url"]}
        return None

    def _start(self, id: str) -> None:
        """Start once. Starting runs the job again every time, so after a lost reply we look
        before starting again: a job past ``created`` has started."""
        try:
            self.client.start_inference(id)  # 504 on a slow real-time run: the job goes on, we poll
        except ProviderError as exc:
            if not is_transient(exc):
                raise
            status = self.look_up(f"{self.type_token} {id} start",
                                  lambda: self.client.get_inference(id).get("status"))
            if status == "created":
                self.client.start_inference(id)

    def _wait(self, id: str, inputs: InferenceJobInputs) -> dict[str, Any]:
        def poll() -> Poll[dict[str, Any]]:
            job = self.client.get_inference(id)
            status = job.get("status") or "unknown"
            failure = (str(job.get("sagemakerRaw") or "no reason given")[:300]) if status == "failed" else None
            return Poll(job, status, done=status == "succeed", failure=failure)

        return wait_for(f"{self.type_token} {id}", poll, timeout_s=inputs.wait_timeout_s) or {}

    @staticmethod
    def _inputs_from(job: dict[str, Any]) -> InferenceJobInputs:
        """Inputs as the platform recorded them (``pulumi import``); the parameters stay unknown."""
        params = job.get("params") or {}
        models: dict[str, list[str]] = {}
        for t, ms in (params.get("used_models") or {}).items():
            models[t] = [m.get("model_name") for m in ms or []]
        return InferenceJobInputs.model_construct(
            task_type=job.get("taskType") or "txt2img", inference_type=job.get("inference_type"), models=models,
            endpoint_name=params.get("sagemaker_inference_endpoint_name"))

    @staticmethod
    def _outputs(job: dict[str, Any]) -> InferenceJobOutputs:
        params = job.get("params") or {}
        return InferenceJobOutputs(status=job.get("status"),
                                   used_endpoint=params.get("sagemaker_inference_endpoint_name"),
                                   image_names=job.get("image_names") or [],
                                   output_path=params.get("output_path"),
                                   error=job.get("sagemakerRaw") if job.get("status") == "failed" else None)
