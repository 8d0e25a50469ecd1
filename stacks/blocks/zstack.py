"""ZStack: a model center (the NFS export the models live on), a model service definition in it
(how the model is served: definition only, deployment stays in ZStack, see docs/zstack.md) and one
model registered in the center and bound to that service.

ZStack is on-premises: the block is declared only when the stack config names a management node
(``zstack:endpoint`` or ``zstack:host``), or targets the emulator (``aimodels:emulator``) with
ZStack credentials; the center's id is the model's modelCenterUuid.
"""

from __future__ import annotations

from typing import Any

import pulumi

from aimodels.envconfig import EnvironmentConfig


def declare(env: str, config: EnvironmentConfig) -> dict[str, Any] | None:
    node = pulumi.Config("zstack")
    on_emulator = pulumi.Config("aimodels").get_bool("emulator") and (
        node.get("accountName") or node.get("accessKeyId"))
    if not (node.get("endpoint") or node.get("host") or on_emulator):
        return None
    from providers import zstack  # only stacks that use ZStack need its provider

    cfg = config.zstack
    center = zstack.ModelCenter(
        "model-center",
        name=f"{env}-model-center",
        url=cfg.center_url,
        management_ip=cfg.center_ip,
        management_port=cfg.center_port,
        description="models served in this environment",
    )
    service = zstack.ModelService(
        "qwen-service",
        name=f"{env}-qwen-vllm",
        model_center_uuid=center.id,
        yaml=SERVICE_YAML,
        request_cpu=8,
        request_memory=32 * 1024**3,
        install_path=f"{cfg.center_url.rstrip('/')}/services/vllm",
        start_command="python -m vllm.entrypoints.openai.api_server --model /models/current --port 8000",
        source="HuggingFace",
        framework="vLLM",
        python_version="3.10",
        description="OpenAI-compatible vLLM server for the chat model",
    )
    model = zstack.Model(
        "qwen-model",
        name=f"{env}-qwen-1.5-32b",
        install_path=cfg.model_path,
        model_center_uuid=center.id,
        description=cfg.model_description,
        vendor="Alibaba",
        version="1.5",
        size=102400,
        recommended_gpu_num=cfg.gpu_num,
        user_tags=[f"environment::{env}"],
        model_service_uuids=[service.id],
    )
    return {"model_center_uuid": center.id, "model_service_uuid": service.id, "model_uuid": model.id,
            "model_center_status": center.status}


# The service definition ZStack keeps as an opaque string (AddModelService ``yaml``).
SERVICE_YAML = """\
name: qwen-vllm
port: 8000
healthCheck: /health
env:
  - name: VLLM_WORKER_MULTIPROC_METHOD
    value: spawn
"""
