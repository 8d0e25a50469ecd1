"""Secrets travel wrapped both ways between the engine and the project's provider server.

The server accepts secrets (Configure's acceptSecrets), so the engine sends secret values wrapped
and masks them in its own logs; every reply wraps the values the engine sent as secrets and the
declared-secret properties, so they stay secrets (and masked) on the engine's side too.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import grpc
import pytest
from google.protobuf import json_format, struct_pb2
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

from emulator import defaults
from providers.core import DynamicProvider
from providers.esd.user import UserHandler

REPO = Path(__file__).resolve().parents[2]
SIG, SECRET = "4dabf18193072939515e22adb298388d", "1b47061264138c4ac30d75fd1eb44270"
URN = "urn:pulumi:s::p::pulumi-python:dynamic/esd:User::u"
CONFIG = {"aimodels:emulator": "true", "esd:apiKey": {SIG: "1b47061264138c4ac30d75fd1eb44270", "value": "k" * 20}}


def secret(value):
    return {SIG: SECRET, "value": value}


def struct(values: dict) -> struct_pb2.Struct:
    s = struct_pb2.Struct()
    s.update(values)
    return s


def plain(s: struct_pb2.Struct) -> dict:
    return json_format.MessageToDict(s)


@pytest.fixture
def server():
    proc = subprocess.Popen([sys.executable, "-m", "providers.core.server", "127.0.0.1:1"], cwd=REPO,
                            stdout=subprocess.PIPE, env=dict(os.environ))
    port = int(proc.stdout.readline())
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    yield provider_pb2_grpc.ResourceProviderStub(channel)
    channel.close()
    proc.terminate()
    proc.wait(10)


def test_configure_accepts_secrets_and_unwraps_them(server):
    reply = server.Configure(provider_pb2.ConfigureRequest(
        args=struct({"esd:apiKey": secret(defaults.ESD_API_KEY), "aimodels:emulator": "true"}),
        acceptSecrets=True), timeout=10)
    assert reply.acceptSecrets is True and reply.supportsPreview is True


def test_check_keeps_secrets_wrapped_both_ways(server):
    server.Configure(provider_pb2.ConfigureRequest(args=struct(CONFIG)), timeout=10)
    text = serialize_provider(DynamicProvider(UserHandler))
    # a secret the engine sent for a field that is not declared secret stays a secret
    news = {"__provider": text, "username": secret("alice"), "password": secret("Passw0rd-long"), "roles": ["r"]}
    inputs = plain(server.Check(provider_pb2.CheckRequest(urn=URN, olds=struct({}), news=struct(news)),
                                timeout=30).inputs)
    assert inputs["password"] == secret("Passw0rd-long")
    assert inputs["username"] == secret("alice")
    assert inputs["roles"] == ["r"] and inputs["__provider"] == text
    # a declared-secret field is wrapped even when the engine sent it plain
    news = {"__provider": text, "username": "bob", "password": "Passw0rd-long", "roles": ["r"]}
    inputs = plain(server.Check(provider_pb2.CheckRequest(urn=URN, olds=struct({}), news=struct(news)),
                                timeout=30).inputs)
    assert inputs["password"] == secret("Passw0rd-long") and inputs["username"] == "bob"


def test_preview_create_and_diff_see_plain_values(server):
    server.Configure(provider_pb2.ConfigureRequest(args=struct(CONFIG)), timeout=10)
    text = serialize_provider(DynamicProvider(UserHandler))
    props = {"__provider": text, "username": "bob", "password": secret("Passw0rd-long"), "roles": ["r"]}
    outs = plain(server.Create(provider_pb2.CreateRequest(urn=URN, properties=struct(props), preview=True),
                               timeout=30).properties)
    assert outs["password"] == secret("Passw0rd-long") and outs["username"] == "bob"
    olds = {**props, "password": secret("Passw0rd-long")}
    same = server.Diff(provider_pb2.DiffRequest(id="bob", urn=URN, olds=struct(olds), news=struct(props)), timeout=30)
    assert same.changes == provider_pb2.DiffResponse.DIFF_NONE
    changed = server.Diff(provider_pb2.DiffRequest(id="bob", urn=URN, olds=struct(olds),
                                                   news=struct({**props, "password": secret("Other-passw0rd")})),
                          timeout=30)
    assert changed.changes == provider_pb2.DiffResponse.DIFF_SOME and list(changed.diffs) == ["password"]
