"""Alibaba Cloud PAI model registry (AIWorkSpace 2021-02-04): Model and ModelVersion.
Vendor docs:
https://www.alibabacloud.com/help/en/pai/developer-reference/api-aiworkspace-2021-02-04-getmodel (and the
other pages of that API reference)."""

from providers.pai.resources import Model, ModelVersion

__all__ = ["Model", "ModelVersion"]
