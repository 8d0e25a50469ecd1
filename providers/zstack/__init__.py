"""ZStack Cloud / AIOS AI model center (5.x): ModelCenter, Model and ModelService (definitions only).
Spec: ../shared/specs/zstack.md; the narrative: docs/zstack.md."""

from providers.zstack.model import Model
from providers.zstack.model_center import ModelCenter
from providers.zstack.model_service import ModelService

__all__ = ["Model", "ModelCenter", "ModelService"]
