"""Huawei Cloud DataArts Fabric: Model (with its versions).
Vendor docs: https://support.huaweicloud.com/intl/en-us/api-fabric/CreateModelDefinition.html (and the
other pages of that API reference)."""

from providers.fabric.resources import Model

__all__ = ["Model"]
