"""ESD: who may do what, models, serving (with a smoke test) and a training run."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import pulumi

from aimodels.envconfig import EnvironmentConfig
from providers import esd

ASSETS = Path(__file__).resolve().parents[1] / "assets"


def asset(*parts: str) -> str:
    """Paths relative to the working directory, so state is the same on every checkout."""
    return os.path.relpath(ASSETS.joinpath(*parts), Path.cwd())


def declare(env: str, config: EnvironmentConfig) -> dict[str, Any]:
    cfg = config.esd
    operators = esd.Role("operators", name=f"{env}-operators", permissions=list(cfg.operator_permissions))
    engineer = esd.User(
        "engineer",
        username=f"{env}-engineer",
        password=pulumi.Config("aimodels").require_secret("engineerPassword"),
        roles=[operators.name],
    )
    # Checkpoint names are unique on the account and a URL checkpoint is found by its file name,
    # so each environment renames its own: <env>-sd-<hash of the URL> (a new URL is a new name, so
    # the create-before-delete replacement never collides with the checkpoint it replaces).
    base_model = esd.Checkpoint(
        "base-model",
        checkpoint_type="Stable-diffusion",
        source_url=cfg.base_model_url,
        name=f"{env}-sd-{hashlib.sha256(cfg.base_model_url.encode()).hexdigest()[:6]}",
        message=f"{env} base model",
    )
    style_lora = esd.Checkpoint(
        "style-lora",
        checkpoint_type="Lora",
        source_file=asset("demo-style.safetensors"),
        # File names are unique per account: environments applied at the same time must not upload
        # under one name (the rename to `name` comes only after the upload).
        upload_name=f"{env}-demo-style.safetensors",
        name=f"{env}-style",
        message=f"{env} style LoRA",
    )
    images = esd.Dataset(
        "training-images",
        name=f"{env}-cats",
        files=[asset("dataset", "cat-01.png"), asset("dataset", "cat-02.png")],
        description="two tiny images for the smoke training run",
    )
    ep = cfg.endpoint
    scaling: dict[str, Any] = {"autoscaling_enabled": ep.autoscaling.enabled}
    if ep.autoscaling.min is not None:
        scaling["min_instance_number"] = ep.autoscaling.min
    if ep.autoscaling.max is not None:
        scaling["max_instance_number"] = ep.autoscaling.max
    endpoint = esd.Endpoint(
        "async-endpoint",
        name=f"{env}-sd",
        endpoint_type=ep.type,
        instance_type=ep.instance_type,
        initial_instance_count=ep.initial_instance_count,
        assign_to_roles=[operators.name],
        **scaling,
    )
    training = esd.TrainingJob(
        "style-training",
        model=base_model.file_names.apply(lambda names: names[0]),
        dataset=images.name,
        output_name=f"{env}-cat-style",
        max_train_epochs=cfg.train_epochs,
        save_every_n_epochs=1,
    )
    smoke = esd.InferenceJob(
        "endpoint-smoke-test",
        task_type="txt2img",
        inference_type=ep.type,
        endpoint_name=endpoint.endpoint_name,
        models={"Stable-diffusion": base_model.file_names},
        parameters={"prompt": "a cat, watercolour", "steps": 4, "width": 64, "height": 64},
        opts=pulumi.ResourceOptions(depends_on=[style_lora]),
    )
    return {
        "role": operators.name,
        "user": engineer.username,
        "endpoint": endpoint.endpoint_name,
        "endpoint_status": endpoint.status,
        "base_model": base_model.file_names,
        "base_model_url": cfg.base_model_url,
        "style_lora": style_lora.file_names,
        "trained_model": training.model_files,
        "smoke_test": smoke.status,
        "smoke_images": smoke.image_names,
    }
