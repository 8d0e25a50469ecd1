"""ZStack Cloud / AIOS AI model center (5.x): ModelCenter, Model and ModelService (definitions only).
Spec: ../shared/specs/zstack.md; the narrative: docs/zstack.md."""

from providers.zstack.resources import Model, ModelCenter, ModelService

__all__ = ["Model", "ModelCenter", "ModelService"]
