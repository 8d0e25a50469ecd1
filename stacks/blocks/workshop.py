"""AI Creation Workshop: one model synced with one version.

The Workshop documents no read and no delete API: refresh keeps the last synced state, and
destroying the stack leaves the model on the platform (the provider warns). A stack that does
not set ``workshop:appKey`` has no Workshop and skips this block.
"""

from __future__ import annotations

from typing import Any

import pulumi

from aimodels.envconfig import EnvironmentConfig


def declare(env: str, config: EnvironmentConfig) -> dict[str, Any] | None:
    if not pulumi.Config("workshop").get("appKey"):
        return None
    from providers import workshop  # only stacks that use the Workshop need its provider

    version = config.workshop.version
    file = f"{env}-house-style-{version}.safetensors"
    model = workshop.ModelSync(
        "workshop-model",
        model_id=f"{env}-house-style",
        name=f"{env} house style",
        model_type="lora",
        source_type="internal",
        is_original=True,
        model_desc="<p>The house style LoRA, synced from our own catalogue.</p>",
        versions=[{
            "model_version_id": f"{env}-house-style-{version}",
            "name": version,
            "base_model": "v1.5",
            "trigger_words": ["house style"],
            "covers": [{"cover": "https://models.example.com/workshop/house-style.jpeg",
                        "cover_file": {"width": 512, "height": 512, "format": "jpeg"}}],
            "files": [{"name": file, "alias_name": f"house-style-{version}",
                       "download_url": f"https://models.example.com/workshop/{file}",
                       "hash": f"sha256:{version}-{env}", "size_kb": 144.5, "is_primary": True}],
        }],
    )
    return {"model_id": model.model_id, "workshop_model_id": model.workshop_model_id,
            "listing_status": model.listing_status, "version_ids": model.version_ids}
