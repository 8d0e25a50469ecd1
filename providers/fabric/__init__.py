"""Huawei Cloud DataArts Fabric: Model (with its versions). Spec: ../shared/specs/fabric.md."""

from providers.fabric.resources import Model

__all__ = ["Model"]
