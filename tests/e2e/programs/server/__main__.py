"""A small program for the provider-server tests: chains whose previews used to lie.

pai.Model -> pai.ModelVersion (model_id); esd.Checkpoint -> TrainingJob and InferenceJob
(file_names); plus one object of every other readable type, for import. Config:
  description, enabled   knobs of the two in-place changes under test
  password               (secret) the user's password: a secret-only change
  importIds              JSON {resource name: id}: declare those resources with import_=
  endpointTimeout        custom_timeouts(create=...) on the endpoint, in seconds
"""

import json
from pathlib import Path

import pulumi

from providers import esd, fabric, pai

cfg = pulumi.Config()
env = cfg.get("env") or "srv"
imports = json.loads(cfg.get("importIds") or "{}")
assets = Path(__file__).resolve().parents[1] / "stacks" / "assets"  # the test links it into the project


def opts(name: str, **more) -> pulumi.ResourceOptions:
    return pulumi.ResourceOptions(import_=imports.get(name), **more)


model = pai.Model("model", name=f"{env}-sd", description=cfg.get("description") or "first words",
                  domain="aigc", task="text-to-image-synthesis", labels={"team": "imaging"}, opts=opts("model"))
version = pai.ModelVersion("version", model_id=model.model_id, version_name="1.0.0",
                           uri=f"oss://aimodels-{env}.oss-cn-hangzhou.aliyuncs.com/sd/1.0.0/",
                           format_type="SavedModel", framework_type="Pytorch", approval_status="Approved",
                           opts=opts("version"))
chat = fabric.Model("chat", workspace_id="emulator-workspace", name=f"{env}-chat", description="chat", versions=[
    {"name": "v1", "base_model_type": "QWEN2_5_7B", "model_path": f"obs://aimodels-{env}/chat/v1/"},
], opts=opts("chat"))

role = esd.Role("role", name=f"{env}-operators", permissions=["sagemaker_endpoint:all", "checkpoint:all",
                                                              "inference:all", "train:all"], opts=opts("role"))
user = esd.User("user", username=f"{env}-engineer", password=cfg.require_secret("password"), roles=[role.name],
                opts=opts("user"))
checkpoint = esd.Checkpoint("checkpoint", checkpoint_type="Stable-diffusion",
                            source_url=f"https://models.example.com/{env}/base.safetensors",
                            enabled=cfg.get_bool("enabled") is not False, opts=opts("checkpoint"))
dataset = esd.Dataset("dataset", name=f"{env}-cats", files=[str(assets / "dataset" / "cat-01.png")],
                      opts=opts("dataset"))
training = esd.TrainingJob("training", model=checkpoint.file_names.apply(lambda names: names[0]),
                           dataset=dataset.name, output_name=f"{env}-style", max_train_epochs=1,
                           save_every_n_epochs=1, opts=opts("training"))
timeout = cfg.get("endpointTimeout")
endpoint = esd.Endpoint("endpoint", name=f"{env}-sd", endpoint_type="Async", instance_type="ml.g5.2xlarge",
                        assign_to_roles=[role.name],
                        opts=opts("endpoint", custom_timeouts=pulumi.CustomTimeouts(create=f"{timeout}s")
                                  if timeout else None))
smoke = esd.InferenceJob("smoke", inference_type="Async", endpoint_name=endpoint.endpoint_name,
                         models={"Stable-diffusion": checkpoint.file_names},
                         parameters={"prompt": "a cat", "steps": 2}, opts=opts("smoke"))

pulumi.export("ids", {"model": model.id, "version": version.id, "chat": chat.id, "role": role.id, "user": user.id,
                      "checkpoint": checkpoint.id, "dataset": dataset.id, "training": training.id,
                      "endpoint": endpoint.id, "smoke": smoke.id})
