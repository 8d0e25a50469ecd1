"""The resource framework every platform builds on. Platform packages import from here only."""

from providers.core import create, runtime, signing
from providers.core.errors import (
    ApiError,
    ConfigError,
    CreatedButFailed,
    FailedState,
    NotFoundError,
    ProviderError,
    ResourceError,
    TransportError,
    UpdatedButFailed,
    WaitTimeout,
    is_transient,
)
from providers.core.fields import Inputs, Outputs, RuleError, marks_of, prop
from providers.core.handler import Created, Handler, Observed, is_import
from providers.core.http import RETRY_STATUSES, ApiClient, ClientSettings, RetryPolicy, VendorError, parse_retry_after
from providers.core.program import Resource
from providers.core.progress import progress
from providers.core.resource import DynamicProvider
from providers.core.settings import (
    PlatformSettings,
    emulator_enabled,
    emulator_url,
    endpoint_setting,
    setting,
    shared_client,
)
from providers.core.wait import Backoff, Poll, wait_for

__all__ = [
    "ApiClient", "ApiError", "Backoff", "ClientSettings", "ConfigError", "Created", "CreatedButFailed", "DynamicProvider",
    "FailedState", "Handler", "Inputs", "NotFoundError", "Observed", "Outputs", "PlatformSettings", "Poll",
    "ProviderError", "Resource", "ResourceError", "RetryPolicy", "RuleError", "TransportError", "UpdatedButFailed", "VendorError",
    "WaitTimeout", "RETRY_STATUSES", "create", "emulator_enabled", "is_transient", "marks_of", "parse_retry_after",
    "signing", "emulator_url", "endpoint_setting", "is_import", "prop", "progress", "runtime", "setting", "shared_client", "wait_for",
]
