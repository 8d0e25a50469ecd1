"""The provider server as the engine sees it: a process speaking gRPC on the port it prints."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent import futures
from pathlib import Path

import grpc
import pytest
from google.protobuf import struct_pb2
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

from tests.providers.barrier_provider import PARTIES, BarrierProvider

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def server():
    proc = subprocess.Popen([sys.executable, "-m", "providers.core.server", "127.0.0.1:1"], cwd=REPO,
                            stdout=subprocess.PIPE, env={**os.environ, "AIMODELS_PROVIDER_WORKERS": str(PARTIES)})
    port = int(proc.stdout.readline())
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    stub = provider_pb2_grpc.ResourceProviderStub(channel)
    stub.Configure(provider_pb2.ConfigureRequest(args=struct_pb2.Struct()), timeout=10)
    yield stub
    channel.close()
    proc.terminate()
    assert proc.wait(10) == 0  # exits promptly and cleanly on SIGTERM


def struct(**values) -> struct_pb2.Struct:
    s = struct_pb2.Struct()
    s.update(values)
    return s


def test_serves_calls_at_once(server):
    """16 creates that each wait for all 16 to be inside: the stock server's 4 workers would deadlock."""
    text = serialize_provider(BarrierProvider())

    def create(i: int) -> str:
        reply = server.Create(provider_pb2.CreateRequest(
            urn=f"urn:pulumi:s::p::pulumi-python:dynamic:Resource::r{i}",
            properties=struct(__provider=text, name=f"r{i}")), timeout=30)
        return reply.id

    with futures.ThreadPoolExecutor(PARTIES) as pool:
        ids = list(pool.map(create, range(PARTIES)))
    assert ids == [f"r{i}" for i in range(PARTIES)]


def test_import_of_an_unknown_type_is_one_line(server):
    with pytest.raises(grpc.RpcError) as err:
        server.Read(provider_pb2.ReadRequest(id="x", urn="urn:pulumi:s::p::pulumi-python:dynamic/esd:Nothing::n"),
                    timeout=30)
    assert err.value.details() == "esd:Nothing: not a resource type of this project, so it cannot be imported"


def test_a_bad_property_is_refused_at_check_by_name(server):
    from providers.core import DynamicProvider
    from providers.esd.role import RoleHandler

    text = serialize_provider(DynamicProvider(RoleHandler))
    reply = server.Check(provider_pb2.CheckRequest(
        urn="urn:pulumi:s::p::pulumi-python:dynamic/esd:Role::r",
        olds=struct(), news=struct(__provider=text, name="", permissions=["checkpoint:all"])), timeout=30)
    # the property and the rule in the text; no property field, for which the engine would print the value
    assert [(f.property, f.reason.split(":")[0]) for f in reply.failures] == [("", "name")]
