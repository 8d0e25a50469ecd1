"""The Pulumi program every benchmark stack runs (written into a temporary project as __main__.py).

It is steered by environment variables, which reach both the program and the provider process:

    BENCH_SCENARIO  which resources (the branches below); several joined by "+" (e.g.
                    "esd:Role+pai:Model", the smoke run's P1) are declared side by side
    BENCH_STAGE     deps | target | update   (deps: only what the measured resource needs;
                    target: plus the measured resource; update: the same with one in-place change)
    BENCH_N         how many measured resources (scale and concurrency scenarios)
    BENCH_PREFIX    prefix of every platform-side name
    BENCH_ASSETS    directory holding demo-style.safetensors and dataset/cat-0{1,2}.png
"""

SOURCE = r'''
import os

import pulumi

from providers import esd, fabric, pai, workshop, zstack

STAGE = os.environ.get("BENCH_STAGE", "target")
N = int(os.environ.get("BENCH_N", "1"))
P = os.environ.get("BENCH_PREFIX", "bench")
ASSETS = os.environ.get("BENCH_ASSETS", "")
TARGET = STAGE in ("target", "update")
CHANGED = STAGE == "update"
WAIT = int(os.environ.get("BENCH_WAIT_TIMEOUT_S", "1800"))


def role(name="role", permissions=("checkpoint:all", "sagemaker_endpoint:all", "inference:all", "train:all")):
    return esd.Role(name, name=f"{P}-{name}", permissions=list(permissions))


def url_checkpoint(name="base"):
    return esd.Checkpoint(name, checkpoint_type="Stable-diffusion",
                          source_url=f"https://models.example.com/{P}/{name}-v1-5.safetensors")


def dataset(name="data"):
    return esd.Dataset(name, name=f"{P}-{name}", files=[os.path.join(ASSETS, "dataset", "cat-01.png"),
                                                         os.path.join(ASSETS, "dataset", "cat-02.png")],
                       enabled=not CHANGED)


def endpoint(name, owner, wait_s=WAIT):
    return esd.Endpoint(name, name=f"{P}-{name}"[:20], endpoint_type="Async", instance_type="ml.g5.2xlarge",
                        assign_to_roles=[owner.name], wait_timeout_s=wait_s)


def declare(scenario):
    """The resources of one scenario."""
    if scenario == "esd:Role":
        if TARGET:
            role("target", ["checkpoint:all"] + (["train:all"] if CHANGED else []))

    elif scenario == "esd:User":
        owner = role()
        if TARGET:
            esd.User("target", username=f"{P}-user", password=pulumi.Output.secret("Passw0rd-2" if CHANGED else "Passw0rd-1"),
                     roles=[owner.name])

    elif scenario == "esd:Checkpoint(url)":
        if TARGET:
            esd.Checkpoint("target", checkpoint_type="Stable-diffusion",
                           source_url=f"https://models.example.com/{P}/url-v1-5.safetensors", enabled=not CHANGED)

    elif scenario == "esd:Checkpoint(file)":
        if TARGET:
            esd.Checkpoint("target", checkpoint_type="Lora", source_file=os.path.join(ASSETS, "demo-style.safetensors"),
                           enabled=not CHANGED)

    elif scenario == "esd:Dataset":
        if TARGET:
            dataset("target")

    elif scenario == "esd:Endpoint":
        owner = role()
        if TARGET:
            endpoint("target", owner)

    elif scenario == "esd:TrainingJob":
        base = url_checkpoint()
        data = dataset()
        if TARGET:
            esd.TrainingJob("target", model=base.file_names.apply(lambda names: names[0]), dataset=data.name,
                            output_name=f"{P}-lora", max_train_epochs=1, save_every_n_epochs=1)

    elif scenario == "esd:InferenceJob":
        owner = role()
        base = url_checkpoint()
        ep = endpoint("ep", owner)
        if TARGET:
            esd.InferenceJob("target", task_type="txt2img", inference_type="Async", endpoint_name=ep.endpoint_name,
                             models={"Stable-diffusion": base.file_names},
                             parameters={"prompt": "a cat", "steps": 4, "width": 64, "height": 64})

    elif scenario == "pai:Model":
        if TARGET:
            pai.Model("target", name=f"{P}-model", domain="aigc", task="text-to-image-synthesis",
                      labels={"team": "imaging", "stage": "two" if CHANGED else "one"})

    elif scenario == "pai:Model(description)":
        if TARGET:
            pai.Model("target", name=f"{P}-model", domain="aigc", description="second" if CHANGED else "first")

    elif scenario == "pai:ModelVersion":
        model = pai.Model("model", name=f"{P}-model", domain="aigc")
        if TARGET:
            pai.ModelVersion("target", model_id=model.model_id, version_name="1.0.0",
                             uri=f"oss://{P}.oss-cn-hangzhou.aliyuncs.com/model/1.0.0/", format_type="SavedModel",
                             framework_type="Pytorch", approval_status="Approved" if CHANGED else "Pending")

    elif scenario == "fabric:Model":
        if TARGET:
            fabric.Model("target", workspace_id="emulator-workspace", name=f"{P}-chat", versions=[
                {"name": "v1", "base_model_type": "QWEN2_5_7B", "model_path": f"obs://aimodels-{P}/chat/v1/"},
                {"name": "v2", "base_model_type": "QWEN2_5_7B", "model_path": f"obs://aimodels-{P}/chat/v2/"},
            ], current_version="v2" if CHANGED else "v1")

    elif scenario == "zstack:ModelCenter":
        if TARGET:
            zstack.ModelCenter("target", name=f"{P}-center", url="192.168.10.12:/ai/model_center",
                               management_ip="192.168.10.12", management_port=8989,
                               description="second" if CHANGED else "first")

    elif scenario.startswith("zstack:"):
        center = zstack.ModelCenter("center", name=f"{P}-center", url="192.168.10.12:/ai/model_center",
                                    management_ip="192.168.10.12", management_port=8989)
        if TARGET and scenario == "zstack:Model":
            zstack.Model("target", name=f"{P}-qwen", install_path="192.168.10.12:/ai/model_center/qwen",
                         model_center_uuid=center.uuid, size=102400, description="second" if CHANGED else "first")
        elif TARGET and scenario == "zstack:ModelService":
            zstack.ModelService("target", name=f"{P}-vllm", yaml="kind: Service\n" + ("rev: 2\n" if CHANGED else ""),
                                model_center_uuid=center.uuid, request_cpu=8, request_memory=34359738368,
                                install_path="192.168.10.12:/ai/model_center/services/vllm", start_command="vllm serve")

    elif scenario == "workshop:ModelSync":
        if TARGET:
            workshop.ModelSync("target", model_id=f"{P}-demo", name="Demo v2" if CHANGED else "Demo", model_type="lora",
                               source_type="internal", versions=[{
                                   "model_version_id": "v1", "name": "1.0", "base_model": "v1.5",
                                   "covers": [{"cover": "https://models.example.com/demo.jpeg",
                                               "cover_file": {"width": 512, "height": 512}}],
                                   "files": [{"name": "demo.safetensors", "alias_name": "demo",
                                              "download_url": f"https://models.example.com/{P}/demo.safetensors",
                                              "hash": "sha256:d1", "size_kb": 2048.5, "is_primary": True}]}])

    elif scenario == "endpoints":  # P3: N endpoints, one role each (a role may own one live endpoint)
        owners = [role(f"r{i}", ["sagemaker_endpoint:all"]) for i in range(N)]
        if TARGET:
            for i, owner in enumerate(owners):
                endpoint(f"e{i}", owner)

    elif scenario == "pai-models":  # P4: N independent PAI models
        if TARGET:
            for i in range(N):
                pai.Model(f"m{i}", name=f"{P}-m{i}", domain="aigc", labels={"n": str(i), "rev": "2" if CHANGED else "1"})

    elif scenario == "empty":  # the signal measurement: nothing to do but start and stop
        pulumi.export("nothing", True)

    else:
        raise ValueError(f"unknown BENCH_SCENARIO entry {scenario!r}")


for scenario in os.environ["BENCH_SCENARIO"].split("+"):
    declare(scenario)
'''
