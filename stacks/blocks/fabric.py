"""DataArts Fabric: an LLM definition per environment whose current version is the one promoted here."""

from __future__ import annotations

from typing import Any

from aimodels.envconfig import EnvironmentConfig
from providers import fabric


def declare(env: str, config: EnvironmentConfig) -> dict[str, Any]:
    cfg = config.fabric
    model = fabric.Model(
        "chat-model",
        workspace_id=cfg.workspace,
        name=f"{env}-chat",
        description="chat assistant",
        versions=[v.model_dump(exclude_none=True, by_alias=False) for v in cfg.versions],
        current_version=cfg.current,
    )
    return {"model_id": model.model_id, "versions": model.version_ids, "current_version": cfg.current_name,
            "current_version_id": model.current_version_id}
