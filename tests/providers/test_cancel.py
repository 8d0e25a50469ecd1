"""Ctrl-C (the engine's ``Cancel``) stops every wait, retry pause and look-up within moments.

A create whose object the platform accepted ends as a failed create carrying the id (kept in
state); an update or delete ends with one "cancelled" line. Real HTTP to the emulator; only the
moment of the cancel is arranged by the test."""

from __future__ import annotations

import asyncio
import threading
import time

import grpc
import httpx
import pytest
from google.protobuf import struct_pb2
from google.rpc import status_pb2
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.runtime import rpc
from pulumi.runtime.proto import provider_pb2

from providers.core import ApiClient, ClientSettings, Poll, ResourceError, RetryPolicy, runtime, wait_for
from providers.core.errors import Cancelled, CreatedButFailed
from providers.core.server import ProviderServer
from providers.esd.endpoint import EndpointHandler
from tests.providers.support import checked, esd_config, provider


@pytest.fixture
def esd(emulator):
    emulator.reset("esd")
    return esd_config(emulator)


@pytest.fixture(autouse=True)
def fresh_cancel():
    runtime.reset_cancel()
    yield
    runtime.reset_cancel()


def cancel_after(seconds: float) -> threading.Timer:
    timer = threading.Timer(seconds, runtime.cancel)
    timer.start()
    return timer


def test_a_long_wait_stops_within_a_second_of_the_cancel():
    cancel_after(0.5)
    started = time.monotonic()
    with pytest.raises(Cancelled) as err:
        wait_for("esd:Endpoint slow", lambda: Poll(None, "Creating"), timeout_s=3600)
    took = time.monotonic() - started
    print(f"wait ended {took - 0.5:.2f}s after the cancel")
    assert took < 2.0
    assert "esd:Endpoint slow" in str(err.value) and "cancelled" in str(err.value)


def test_retry_backoff_stops_at_the_cancel_and_nothing_more_is_sent():
    sent = []

    def always_503(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(503, json={"message": "busy"})

    client = ApiClient(ClientSettings(base_url="http://api.test", retry=RetryPolicy(attempts=10, base_delay_s=30,
                                                                                      max_delay_s=30)),
                       transport=httpx.MockTransport(always_503))
    client._sleep = lambda s: runtime.sleep(max(s, 20))  # every pause is long
    cancel_after(0.3)
    started = time.monotonic()
    with pytest.raises(Cancelled):
        client.request("Get", "GET", "/thing")
    assert time.monotonic() - started < 2.0
    assert len(sent) == 1
    with pytest.raises(Cancelled):  # a cancelled process sends nothing new
        client.request("Get", "GET", "/thing")
    assert len(sent) == 1


def test_cancelled_endpoint_create_keeps_the_accepted_object(esd, emulator):
    emulator.settings("esd", endpoint_create_seconds=600)
    p = provider(EndpointHandler, esd)
    props = checked(p, {"name": "ctrlc", "endpoint_type": "Async", "instance_type": "ml.g5.2xlarge",
                        "assign_to_roles": ["ctrlc-role"]})
    runtime.partial_state_supported = True
    try:
        cancel_after(1.0)
        started = time.monotonic()
        with pytest.raises(ResourceError) as err:
            p.create(props)
        took = time.monotonic() - started
    finally:
        runtime.partial_state_supported = False
    assert took < 3.0
    cause = err.value.cause
    assert isinstance(cause, CreatedButFailed), err.value
    [record] = [r for r in emulator.objects("esd")["endpoint"].values() if r["endpoint_name"] == "esd-async-ctrlc"]
    assert cause.id == record["EndpointDeploymentJobId"]
    assert "cancelled" in err.value.message
    runtime.reset_cancel()
    p.delete(cause.id, {**props, "endpoint_name": "esd-async-ctrlc"})


def test_cancelled_delete_is_one_line(esd, emulator):
    p = provider(EndpointHandler, esd)
    runtime.cancel()
    with pytest.raises(ResourceError) as err:
        p.delete("some-id", {"name": "gone", "endpoint_type": "Async", "instance_type": "ml.g5.2xlarge",
                             "assign_to_roles": ["r"], "endpoint_name": "esd-async-gone"})
    assert "\n" not in err.value.message and "delete failed" in err.value.message
    assert "cancelled" in err.value.message


class _Context:
    """What a gRPC servicer sees of the call: abort() ends it with a status."""

    def abort(self, code, message):
        raise grpc.RpcError(f"{code}: {message}")

    def abort_with_status(self, status):
        self.status = status
        raise grpc.RpcError(status.details)


def test_server_cancel_ends_a_create_in_flight_as_a_failed_create_with_its_id(esd, emulator):
    """Through the server: Create waits, Cancel arrives, the reply carries the engine's
    resource-init-error detail with the endpoint's id (so the engine keeps it in state)."""
    emulator.settings("esd", endpoint_create_seconds=600)
    server = ProviderServer()
    config = struct_pb2.Struct()
    config.update(esd)
    server.Configure(provider_pb2.ConfigureRequest(args=config), _Context())
    p = provider(EndpointHandler, esd)
    props = checked(p, {"name": "srvc", "endpoint_type": "Async", "instance_type": "ml.g5.2xlarge",
                        "assign_to_roles": ["srvc-role"]})
    props["__provider"] = serialize_provider(p)
    request = provider_pb2.CreateRequest(urn="urn:pulumi:s::p::pulumi-python:dynamic/esd:Endpoint::srvc",
                                         properties=asyncio.run(rpc.serialize_properties(props, {})))
    runtime.partial_state_supported = True
    context = _Context()
    try:
        threading.Timer(1.0, lambda: server.Cancel(None, None)).start()
        started = time.monotonic()
        with pytest.raises(grpc.RpcError):
            server.Create(request, context)
        took = time.monotonic() - started
    finally:
        runtime.partial_state_supported = False
    assert took < 3.0
    status = status_pb2.Status.FromString(dict(context.status.trailing_metadata)["grpc-status-details-bin"])
    detail = provider_pb2.ErrorResourceInitFailed()
    status.details[0].Unpack(detail)
    [record] = [r for r in emulator.objects("esd")["endpoint"].values() if r["endpoint_name"] == "esd-async-srvc"]
    assert detail.id == record["EndpointDeploymentJobId"]
    assert "cancelled" in status.message
    runtime.reset_cancel()
    p.delete(detail.id, {**props, "endpoint_name": "esd-async-srvc"})
