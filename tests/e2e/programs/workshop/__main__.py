"""One workshop.ModelSync whose version and name come from config (tests/e2e/test_workshop_stack.py)."""

import pulumi

from providers import workshop

config = pulumi.Config()
version = config.get("version") or "1.0"
file_name = f"e2e-style-{version}.safetensors"
model = workshop.ModelSync(
    "synced-model",
    model_id="e2e-style",
    name=config.get("modelName") or "e2e style",
    model_type="lora",
    source_type="internal",
    is_original=True,
    versions=[{
        "model_version_id": f"e2e-style-{version}",
        "name": version,
        "base_model": "vxl_1.0",
        "trigger_words": ["e2e"],
        "covers": [{"cover": "https://models.example.com/e2e.jpeg", "cover_file": {"width": 64, "height": 64}}],
        "files": [{"name": file_name, "alias_name": f"e2e-style-{version}",
                   "download_url": config.get("downloadUrl") or f"https://models.example.com/{file_name}",
                   "hash": f"sha256:e2e-{version}",
                   "size_kb": 12.25, "is_primary": True}],
    }],
    wait_timeout_s=120,
)
pulumi.export("model_id", model.model_id)
pulumi.export("workshop_model_id", model.workshop_model_id)
pulumi.export("listing_status", model.listing_status)
pulumi.export("version_ids", model.version_ids)
