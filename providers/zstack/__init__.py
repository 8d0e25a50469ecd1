"""ZStack Cloud / AIOS AI model center (5.x): ModelCenter and Model. Spec: ../shared/specs/zstack.md."""

from providers.zstack.model import Model
from providers.zstack.model_center import ModelCenter

__all__ = ["Model", "ModelCenter"]
