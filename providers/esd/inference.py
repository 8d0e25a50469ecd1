"""esd:InferenceJob — a smoke test of an endpoint: create the job, upload its parameters,
start it, wait for the result. Every input forces a replacement (a new run)."""

from __future__ import annotations

import json
from typing import Any, Literal

import pulumi

from providers.core import Created, Inputs, Observed, Outputs, Poll, ProviderError, Resource, prop, wait_for
from providers.esd.base import EsdHandler, wait_timeout

TaskType = Literal["txt2img", "img2img", "extra-single-image", "extra-batch-images", "rembg"]


class InferenceJobInputs(Inputs):
    task_type: TaskType = prop("txt2img", replace=True)
    inference_type: Literal["Async", "Real-time"] = prop(replace=True)
    models: dict[str, list[str]] = prop(replace=True, description='e.g. {"Stable-diffusion": ["v1-5.safetensors"]}')
    parameters: dict[str, Any] = prop({}, replace=True, description="A1111-style parameters (prompt, steps...)")
    endpoint_name: str | None = prop(None, replace=True, description="physical endpoint name; default: any eligible")
    wait_timeout_s: int = wait_timeout(600)


class InferenceJobOutputs(Outputs):
    status: str | None = None
    used_endpoint: str | None = None  # the endpoint the platform picked
    image_names: list[str] = []
    output_path: str | None = None
    error: str | None = None


class InferenceJobHandler(EsdHandler[InferenceJobInputs, InferenceJobOutputs]):
    Inputs, Outputs = InferenceJobInputs, InferenceJobOutputs
    type_token = "esd:InferenceJob"

    def label(self, inputs: InferenceJobInputs) -> str:
        return f"{self.type_token} {inputs.task_type}"

    def create(self, inputs: InferenceJobInputs) -> Created[InferenceJobOutputs]:
        body: dict[str, Any] = {"task_type": inputs.task_type, "inference_type": inputs.inference_type,
                                "models": inputs.models}
        if inputs.endpoint_name:
            body["sagemaker_endpoint_name"] = inputs.endpoint_name
        job = self.client.create_inference(body)["inference"]
        id = job["id"]
        try:
            self.client.s3_put(job["api_params_s3_upload_url"], json.dumps(inputs.parameters).encode(),
                               f"parameters of {id}")
            self.client.start_inference(id)  # 504 on a slow real-time run: the job goes on, we poll
            record = self._wait(id, inputs)
        except ProviderError:
            self.client.delete_inferences([id])
            raise
        return Created(id, self._outputs(record))

    def read(self, id: str, inputs: InferenceJobInputs, outputs: InferenceJobOutputs) -> Observed | None:
        return Observed(inputs, self._outputs(self.client.get_inference(id)))

    def delete(self, id: str, inputs: InferenceJobInputs, outputs: InferenceJobOutputs) -> None:
        self.client.delete_inferences([id])

    def _wait(self, id: str, inputs: InferenceJobInputs) -> dict[str, Any]:
        def poll() -> Poll[dict[str, Any]]:
            job = self.client.get_inference(id)
            status = job.get("status") or "unknown"
            failure = (str(job.get("sagemakerRaw") or "no reason given")[:300]) if status == "failed" else None
            return Poll(job, status, done=status == "succeed", failure=failure)

        return wait_for(f"{self.type_token} {id}", poll, timeout_s=inputs.wait_timeout_s)

    @staticmethod
    def _outputs(job: dict[str, Any]) -> InferenceJobOutputs:
        params = job.get("params") or {}
        return InferenceJobOutputs(status=job.get("status"),
                                   used_endpoint=params.get("sagemaker_inference_endpoint_name"),
                                   image_names=job.get("image_names") or [],
                                   output_path=params.get("output_path"),
                                   error=job.get("sagemakerRaw") if job.get("status") == "failed" else None)


class InferenceJob(Resource, handler=InferenceJobHandler):
    status: pulumi.Output[str]
    used_endpoint: pulumi.Output[str]
    image_names: pulumi.Output[list[str]]
    output_path: pulumi.Output[str]
