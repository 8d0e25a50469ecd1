"""Alibaba Cloud AI Creation Workshop (智作工坊): ModelSync.
Vendor docs: https://help.aliyun.com/en/document_detail/2834502.html (model sync)."""

from providers.workshop.resources import ModelSync

__all__ = ["ModelSync"]
