"""ZStack: a model center (the NFS export the models live on) and one model registered in it.

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
    )
    return {"model_center_uuid": center.id, "model_uuid": model.id, "model_center_status": center.status}
