"""Pulumi dynamic resources for AI-model platforms.

``providers.core`` is the framework (the only code that knows the dynamic-provider
protocol); each platform lives in its own package and imports only from core.
"""

import importlib as _importlib

_PACKAGES = ("core", "esd", "pai", "fabric", "zstack", "workshop")


def __getattr__(name: str):  # ``import providers; providers.esd.Role``, as code `pulumi import` prints reads
    if name in _PACKAGES:
        return _importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
