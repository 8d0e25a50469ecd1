"""PAI model registry: one model per environment and the versions promoted to it (pinned by name and content)."""

from __future__ import annotations

from typing import Any

from aimodels.envconfig import EnvironmentConfig
from providers import pai

# PAI has no current-version pointer of its own: the version an environment serves carries an
# alias label (a label change is in place and touches nothing else).
ALIAS = {"alias": "current"}


def declare(env: str, config: EnvironmentConfig) -> dict[str, Any]:
    cfg = config.pai
    extra = {"workspace_id": cfg.workspace_id} if cfg.workspace_id else {}
    model = pai.Model(
        "registry-model",
        name=f"{env}-sd-base",
        description="Stable Diffusion base weights used by the ESD endpoint",
        domain="aigc",
        task="text-to-image-synthesis",
        model_type="Checkpoint",
        accessibility=cfg.accessibility,
        labels={"environment": env, "team": "imaging"},
        **extra,
    )
    versions = [
        pai.ModelVersion(
            f"registry-model-{v.name}",
            model_id=model.model_id,
            version_name=v.name,
            uri=v.uri,
            format_type=v.format,
            framework_type=v.framework,
            approval_status=v.approval,
            labels={"environment": env, **(ALIAS if v.name == cfg.current_name else {})},
        )
        for v in cfg.versions
    ]
    return {"model_id": model.model_id, "model_name": model.name,
            "versions": {v.name: {"uri": v.uri, "approval": v.approval} for v in cfg.versions},
            "current_version": cfg.current_name,
            "version_ids": [r.id for r in versions]}
