"""Alibaba Cloud PAI model registry (AIWorkSpace 2021-02-04): Model and ModelVersion.
Spec: ../shared/specs/pai.md."""

from providers.pai.resources import Model, ModelVersion

__all__ = ["Model", "ModelVersion"]
