"""A plain dynamic provider (not the project's framework) for gRPC tests of the provider server:
its create waits until ``PARTIES`` creates are inside it at once."""

from __future__ import annotations

import threading

from pulumi.dynamic import CreateResult, ResourceProvider

PARTIES = 16
_barrier = threading.Barrier(PARTIES, timeout=20)


class BarrierProvider(ResourceProvider):
    serialize_as_secret_always = False

    def create(self, props):
        _barrier.wait()  # BrokenBarrierError unless PARTIES calls run at once
        return CreateResult(id_=props["name"], outs={"name": props["name"], "together": PARTIES})
