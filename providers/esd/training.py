"""esd:TrainingJob — a Kohya LoRA training run.

Every input forces a replacement (a run cannot be changed). Create starts the run and,
unless ``wait`` is false, waits for a terminal status; the resulting LoRA is the output
checkpoint (same id as the job), exposed as ``model_files``. Delete removes the job and
its output checkpoint, which the platform's own delete leaves behind.

The create carries a marker in ``config_params.aimodels.aimodels_create_token``: after a lost
reply, the job this very create started is found through its output checkpoint (Loras made since
the POST) and confirmed by the marker, so a retry never starts a second run. Read is one request
(GET /trainings/{id}) unless the run's status changed.
"""

from __future__ import annotations

from typing import Any, Literal

from providers.core import (
    ApiError,
    Created,
    CreatedButFailed,
    Inputs,
    NotFoundError,
    Observed,
    Outputs,
    Poll,
    ProviderError,
    create,
    is_import,
    progress,
    prop,
    wait_for,
)
from providers.esd.base import CLOCK_MARGIN_S, MARKER, EsdHandler, marker_of, wait_timeout

SUCCESS = {"Completed"}
FAILURE = {"Failed", "Fail", "Stopped", "MaxRuntimeExceeded", "MaxWaitTimeExceeded", "Interrupted"}
MARKER_SECTION = "aimodels"  # config_params section holding our per-create marker


class TrainingJobInputs(Inputs):
    model: str = prop(replace=True, min_length=1, description="base checkpoint file name, e.g. v1-5-pruned-emaonly.safetensors")
    dataset: str = prop(replace=True, min_length=1)
    output_name: str = prop(replace=True, min_length=1, description="name of the resulting LoRA")
    fm_type: Literal["sd_1_5", "sd_xl"] = prop("sd_1_5", replace=True)
    training_instance_type: str = prop("ml.g5.2xlarge", replace=True)
    max_train_epochs: int = prop(100, replace=True, ge=1)
    save_every_n_epochs: int = prop(20, replace=True, ge=1)
    extra_config: dict[str, dict[str, Any]] = prop({}, replace=True,
                                                   description="more Kohya TOML sections merged into config_params")
    wait: bool = prop(True, local=True, description="wait for a terminal status before create returns")
    wait_timeout_s: int = wait_timeout(3600)


class TrainingJobOutputs(Outputs):
    status: str | None = None
    output_location: str | None = None
    input_location: str | None = None
    checkpoint_id: str | None = None
    model_files: list[str] = []  # file names of the trained model (the output checkpoint)


class TrainingJobHandler(EsdHandler[TrainingJobInputs, TrainingJobOutputs]):
    id_doc = "the training job id (also the id of its output checkpoint)."
    import_doc = "the training job id."
    refresh_doc = ("sees the job status and the output checkpoint's files; inputs are never read back (a run"
                   " cannot change).")

    Inputs, Outputs = TrainingJobInputs, TrainingJobOutputs
    type_token = "esd:TrainingJob"

    def label(self, inputs: TrainingJobInputs) -> str:
        return f"{self.type_token} {inputs.output_name}"

    def create(self, inputs: TrainingJobInputs) -> Created[TrainingJobOutputs]:
        handle = create.handle()  # durable: the next run recognises a job an interrupted run started
        token = handle.token
        since = self.client.server_now() - CLOCK_MARGIN_S
        config = {**inputs.extra_config,
                  "saving_arguments": {**inputs.extra_config.get("saving_arguments", {}),
                                       "output_name": inputs.output_name,
                                       "save_every_n_epochs": inputs.save_every_n_epochs},
                  "training_arguments": {**inputs.extra_config.get("training_arguments", {}),
                                         "max_train_epochs": inputs.max_train_epochs},
                  # Our marker: config_params is stored and returned as sent (it also reaches the
                  # Kohya TOML, whose loader ignores keys it does not know). [guess]
                  MARKER_SECTION: {MARKER: token}}
        body = {"lora_train_type": "kohya",
                "params": {"training_params": {"training_instance_type": inputs.training_instance_type,
                                               "model": inputs.model, "dataset": inputs.dataset,
                                               "fm_type": inputs.fm_type},
                           "config_params": config}}
        try:
            job = self.create_once(self.label(inputs), lambda: self.client.create_training(body),
                                   lambda: self._find_mine(inputs, token, handle.since(since)), handle=handle)
        except ApiError as exc:
            if exc.status == 400:
                self._remove_orphan_output(inputs, since)
            raise
        id = job["id"]
        outputs = self._from_job(job, TrainingJobOutputs(checkpoint_id=id))
        if inputs.wait:
            try:
                job = self._wait(id, inputs)
            except ProviderError as exc:
                # Failed, or the deadline (an outage alone never ends the wait). Under the stock
                # server the job and its output checkpoint are removed (cleanup): the job cannot
                # be kept in state, and a running SageMaker job would go on unaccounted for.
                raise CreatedButFailed(f"{exc.message} (training job {id})", id=id, outputs=outputs,
                                       cleanup=lambda: self._remove(id)) from exc
            outputs = self._from_job(job, outputs)
            outputs = self._with_model_files(id, outputs, job)
        return Created(id, outputs)

    def read(self, id: str, inputs: TrainingJobInputs, outputs: TrainingJobOutputs) -> Observed | None:
        job = self.client.get_training(id)  # NotFoundError (404) means gone
        fresh = self._from_job(job, outputs)
        if fresh.status != outputs.status or (fresh.status in SUCCESS and not outputs.model_files):
            fresh = self._with_model_files(id, fresh, job)  # only when the run's result changed
        seen = self._inputs_from(job) if is_import(inputs) else inputs
        return Observed(seen, fresh)

    def delete(self, id: str, inputs: TrainingJobInputs, outputs: TrainingJobOutputs) -> None:
        self._remove(id)

    def _remove(self, id: str) -> None:
        self.client.delete_trainings([id])
        self.client.delete_checkpoints([id])  # the output checkpoint shares the job's id

    def _find_mine(self, inputs: TrainingJobInputs, token: str, since: float) -> dict[str, Any] | None:
        """The job this very create started. Its output checkpoint (type Lora, same id, named after
        ``output_name``) was made with it: list Loras made since our POST, then confirm each
        candidate's marker with GET /trainings/{id}. (The training list is avoided: one job in a
        SageMaker status outside the platform's enum makes the whole list fail.)"""
        for ckpt in self.client.iter_checkpoints(types="Lora", not_before=since):
            names = ckpt.get("name") or []
            if not names or not names[0].startswith(inputs.output_name):
                continue
            try:
                job = self.client.get_training(ckpt["id"])
            except NotFoundError:
                continue
            config = (job.get("params") or {}).get("config_params") or {}
            if marker_of(config.get(MARKER_SECTION)) == token:
                return job
        return None

    def _remove_orphan_output(self, inputs: TrainingJobInputs, since: float) -> None:
        """ESD 1.5.0 makes the output checkpoint before it starts SageMaker; when that start fails
        (e.g. ResourceLimitExceeded) the training record is deleted but the checkpoint is left,
        and its id is not returned. Remove it: a Lora made since our POST, by us, named after our
        output, still Initial, with no training behind it."""
        for ckpt in self.client.iter_checkpoints(types="Lora", status=["Initial"], not_before=since):
            if (ckpt.get("name") or []) != [inputs.output_name]:
                continue
            if (ckpt.get("params") or {}).get("creator") not in (None, self.client.username):
                continue
            try:
                self.client.get_training(ckpt["id"])
            except NotFoundError:
                progress(f"{self.label(inputs)}: removing the output checkpoint {ckpt['id']} the rejected "
                         "training left behind")
                self.client.delete_checkpoints([ckpt["id"]])

    def _wait(self, id: str, inputs: TrainingJobInputs) -> dict[str, Any]:
        def poll() -> Poll[dict[str, Any]]:
            job = self.client.get_training(id)
            status = job.get("job_status") or "unknown"
            failure = f"training ended as {status}" if status in FAILURE else None
            return Poll(job, status, done=status in SUCCESS, failure=failure)

        return wait_for(self.label(inputs), poll, timeout_s=inputs.wait_timeout_s) or {}

    def _with_model_files(self, id: str, outputs: TrainingJobOutputs, job: dict[str, Any]) -> TrainingJobOutputs:
        """The trained files are the output checkpoint's names once the run completed."""
        if outputs.status not in SUCCESS:
            return outputs.model_copy(update={"model_files": []})
        created = _float(job.get("timestamp") or job.get("created"))
        ckpt = self.client.find_checkpoint(id=outputs.checkpoint_id or id, types="Lora", status=["Active"],
                                           not_before=created - CLOCK_MARGIN_S if created is not None else None)
        return outputs.model_copy(update={"model_files": (ckpt or {}).get("name") or []})

    @staticmethod
    def _from_job(job: dict[str, Any], outputs: TrainingJobOutputs) -> TrainingJobOutputs:
        """Outputs from a create reply ({id, status, input/output_location}) or a GET ({job_status, ...})."""
        tp = (job.get("params") or {}).get("training_params") or {}
        toml = tp.get("s3_toml_path") or ""
        return outputs.model_copy(update={
            "status": job.get("job_status") or job.get("status") or outputs.status,
            "checkpoint_id": job.get("checkpoint_id") or outputs.checkpoint_id or job.get("id"),
            "input_location": job.get("input_location") or outputs.input_location
            or (toml.rsplit("/", 1)[0] if toml else None),
            "output_location": job.get("output_location") or outputs.output_location
            or (toml.rsplit("/input/", 1)[0] + "/output" if "/input/" in toml else None),
        })

    @staticmethod
    def _inputs_from(job: dict[str, Any]) -> TrainingJobInputs:
        """Inputs as the platform recorded them (``pulumi import``): numbers come back as strings."""
        params = job.get("params") or {}
        tp, config = params.get("training_params") or {}, dict(params.get("config_params") or {})
        config.pop(MARKER_SECTION, None)
        saving = dict(config.pop("saving_arguments", {}) or {})
        training = dict(config.pop("training_arguments", {}) or {})
        out: dict[str, Any] = {
            "model": str(tp.get("s3_model_path") or "").rsplit("/", 1)[-1],
            "dataset": str(tp.get("s3_data_path") or "").rstrip("/").rsplit("/", 1)[-1],
            "output_name": saving.pop("output_name", ""),
            "fm_type": tp.get("fm_type") or "sd_1_5",
            "training_instance_type": tp.get("training_instance_type") or "ml.g5.2xlarge",
            "max_train_epochs": int(float(training.pop("max_train_epochs", 100))),
            "save_every_n_epochs": int(float(saving.pop("save_every_n_epochs", 20))),
        }
        extra = {k: v for k, v in config.items() if isinstance(v, dict)}
        if saving:
            extra["saving_arguments"] = saving
        if training:
            extra["training_arguments"] = training
        return TrainingJobInputs.model_construct(**out, extra_config=extra)


def _float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
