"""Alibaba Cloud AI Creation Workshop (智作工坊): ModelSync. Spec: ../shared/specs/workshop.md."""

from providers.workshop.resources import ModelSync

__all__ = ["ModelSync"]
