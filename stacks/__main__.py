"""The stack program: one composition, one config file per environment (Pulumi.<stack>.yaml).

The local stack runs against the emulator; other environments point the same program
at real platforms through their stack config (see README.md).
"""

from __future__ import annotations

import os
from pathlib import Path

import pulumi

from providers import esd, fabric, pai

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
    permissions=config.get_object("operatorPermissions")
    or ["sagemaker_endpoint:all", "checkpoint:all", "inference:all", "train:all"],
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

# -- PAI model registry: the model and the versions promoted to this environment -------------------
registry_model = pai.Model(
    "registry-model",
    name=f"{env}-sd-base",
    description="Stable Diffusion base weights used by the ESD endpoint",
    domain="aigc",
    task="text-to-image-synthesis",
    model_type="Checkpoint",
    labels={"environment": env, "team": "imaging"},
)
registry_versions = [
    pai.ModelVersion(
        f"registry-model-{version}",
        model_id=registry_model.model_id,
        version_name=version,
        uri=f"oss://aimodels-{env}.oss-cn-hangzhou.aliyuncs.com/sd-base/{version}/",
        format_type="SavedModel",
        framework_type="Pytorch",
        approval_status="Approved",
        labels={"stage": "promoted"},
    )
    for version in (config.get_object("paiVersions") or ["1.0.0"])
]

# -- DataArts Fabric: an LLM definition whose current version is the one promoted here -------------
chat_versions = config.get_object("fabricVersions") or [
    {"name": "v1", "base_model_type": "QWEN2_5_7B", "model_path": f"obs://aimodels-{env}/chat/v1/"},
]
chat_model = fabric.Model(
    "chat-model",
    workspace_id=config.get("fabricWorkspace") or "emulator-workspace",
    name=f"{env}-chat",
    description="chat assistant",
    versions=chat_versions,
    current_version=config.get("fabricCurrentVersion"),
)

pulumi.export("pai", {"model_id": registry_model.model_id,
                      "versions": [v.version_name for v in registry_versions]})
pulumi.export("fabric", {"model_id": chat_model.model_id, "versions": chat_model.version_ids,
                         "current_version_id": chat_model.current_version_id})
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

# -- ZStack -------------------------------------------------------------------------------------
# ZStack is on-premises: this block is declared when the stack config names a management node
# (zstack:endpoint or zstack:host). A model center (the NFS export the models live on) and one
# model registered in it; the center's id is the model's modelCenterUuid.
from providers import zstack  # noqa: E402

_zstack_node = pulumi.Config("zstack")
if _zstack_node.get("endpoint") or _zstack_node.get("host"):
    _zstack_cfg = pulumi.Config("aimodels")
    zstack_center = zstack.ModelCenter(
        "model-center",
        name=f"{env}-model-center",
        url=_zstack_cfg.get("zstackCenterUrl") or "192.168.10.12:/ai/model_center",
        management_ip=_zstack_cfg.get("zstackCenterIp") or "192.168.10.12",
        management_port=int(_zstack_cfg.get("zstackCenterPort") or 8989),
        description="models served in this environment",
    )
    zstack_model = zstack.Model(
        "qwen-model",
        name=f"{env}-qwen-1.5-32b",
        install_path=_zstack_cfg.get("zstackModelPath") or "192.168.10.12:/ai/model_center/Qwen_1.5_32B",
        model_center_uuid=zstack_center.id,
        description=_zstack_cfg.get("zstackModelDescription") or "Qwen 1.5 32B chat model",
        vendor="Alibaba",
        version="1.5",
        size=102400,
        recommended_gpu_num=_zstack_cfg.get("zstackGpuNum") or "2",
        user_tags=[f"environment::{env}"],
    )
    pulumi.export("zstack", {"model_center_uuid": zstack_center.id, "model_uuid": zstack_model.id,
                             "model_center_status": zstack_center.status})

# -- AI Creation Workshop: one model synced with one version ---------------------------------------
# Self-contained. The Workshop documents no read and no delete API: refresh keeps the last synced
# state, and destroying the stack leaves the model on the platform (the provider warns). A stack
# that does not set workshop:appKey in its config has no Workshop and skips this block.
from providers import workshop  # noqa: E402  (kept with its block)

if pulumi.Config("workshop").get("appKey"):
    workshop_version = config.get("workshopVersion") or "1.0"
    workshop_file = f"{env}-house-style-{workshop_version}.safetensors"
    workshop_url = f"https://models.example.com/workshop/{workshop_file}"
    workshop_model = workshop.ModelSync(
        "workshop-model",
        model_id=f"{env}-house-style",
        name=f"{env} house style",
        model_type="lora",
        source_type="internal",
        is_original=True,
        model_desc="<p>The house style LoRA, synced from our own catalogue.</p>",
        versions=[{
            "model_version_id": f"{env}-house-style-{workshop_version}",
            "name": workshop_version,
            "base_model": "v1.5",
            "trigger_words": ["house style"],
            "covers": [{"cover": "https://models.example.com/workshop/house-style.jpeg",
                        "cover_file": {"width": 512, "height": 512, "format": "jpeg"}}],
            "files": [{"name": workshop_file, "alias_name": f"house-style-{workshop_version}",
                       "download_url": workshop_url, "hash": f"sha256:{workshop_version}-{env}",
                       "size_kb": 144.5, "is_primary": True}],
        }],
    )
    pulumi.export("workshop", {"model_id": workshop_model.model_id,
                               "workshop_model_id": workshop_model.workshop_model_id,
                               "listing_status": workshop_model.listing_status,
                               "version_ids": workshop_model.version_ids})
