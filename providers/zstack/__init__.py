"""ZStack Cloud / AIOS AI model center (5.x): ModelCenter, Model and ModelService (definitions only).
Vendor docs: the ZStack AIOS developer guide (https://docs.zstack.io/en/docs/ai/aios/dev-guide/);
the narrative: docs/zstack.md."""

from providers.zstack.resources import Model, ModelCenter, ModelService

__all__ = ["Model", "ModelCenter", "ModelService"]
