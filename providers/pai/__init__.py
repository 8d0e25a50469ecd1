"""Alibaba Cloud PAI model registry (AIWorkSpace 2021-02-04): Model and ModelVersion.
Spec: ../shared/specs/pai.md."""

from providers.pai.model import Model
from providers.pai.model_version import ModelVersion

__all__ = ["Model", "ModelVersion"]
