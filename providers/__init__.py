"""Pulumi dynamic resources for AI-model platforms.

``providers.core`` is the framework (the only code that knows the dynamic-provider
protocol); each platform lives in its own package and imports only from core.
"""
