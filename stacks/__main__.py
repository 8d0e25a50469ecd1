"""The stack program: one composition, one config file per environment (Pulumi.<stack>.yaml).

The local stack runs against the emulator; other environments point the same program
at real platforms through their stack config (see README.md).
"""

from __future__ import annotations

import os
from pathlib import Path

import pulumi

from providers import esd

config = pulumi.Config("aimodels")
env = config.get("environment") or pulumi.get_stack()
assets = Path(__file__).resolve().parent / "assets"


def asset(*parts: str) -> str:
    """Paths relative to the program directory, so state is the same on every checkout."""
    return os.path.relpath(assets.joinpath(*parts), Path.cwd())


# -- ESD: who may do what -------------------------------------------------------------------
operators = esd.Role(
    "operators",
    name=f"{env}-operators",
    permissions=["sagemaker_endpoint:all", "checkpoint:all", "inference:all", "train:all"],
)
engineer = esd.User(
    "engineer",
    username=f"{env}-engineer",
    password=config.require_secret("engineerPassword"),
    roles=[operators.name],
)

# -- ESD: models ----------------------------------------------------------------------------
base_model = esd.Checkpoint(
    "base-model",
    checkpoint_type="Stable-diffusion",
    source_url=config.get("baseModelUrl") or "https://models.example.com/sd/v1-5-pruned-emaonly.safetensors",
    message=f"{env} base model",
)
style_lora = esd.Checkpoint(
    "style-lora",
    checkpoint_type="Lora",
    source_file=asset("demo-style.safetensors"),
    message=f"{env} style LoRA",
)
images = esd.Dataset(
    "training-images",
    name=f"{env}-cats",
    files=[asset("dataset", "cat-01.png"), asset("dataset", "cat-02.png")],
    description="two tiny images for the smoke training run",
)

# -- ESD: serving and training --------------------------------------------------------------
endpoint = esd.Endpoint(
    "async-endpoint",
    name=f"{env}-sd",
    endpoint_type="Async",
    instance_type=config.get("endpointInstanceType") or "ml.g5.2xlarge",
    initial_instance_count=1,
    assign_to_roles=[operators.name],
)
training = esd.TrainingJob(
    "style-training",
    model=base_model.file_names.apply(lambda names: names[0]),
    dataset=images.name,
    output_name=f"{env}-cat-style",
    max_train_epochs=int(config.get("trainEpochs") or 1),
    save_every_n_epochs=1,
)
smoke = esd.InferenceJob(
    "endpoint-smoke-test",
    task_type="txt2img",
    inference_type="Async",
    endpoint_name=endpoint.endpoint_name,
    models={"Stable-diffusion": base_model.file_names},
    parameters={"prompt": "a cat, watercolour", "steps": 4, "width": 64, "height": 64},
    opts=pulumi.ResourceOptions(depends_on=[style_lora]),
)

pulumi.export("esd", {
    "role": operators.name,
    "user": engineer.username,
    "endpoint": endpoint.endpoint_name,
    "endpoint_status": endpoint.status,
    "base_model": base_model.file_names,
    "style_lora": style_lora.file_names,
    "trained_model": training.model_files,
    "smoke_test": smoke.status,
    "smoke_images": smoke.image_names,
})
