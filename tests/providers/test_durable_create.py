"""The durable create handle (providers/core/create.py): a create re-run after its run was
interrupted recognises the object its predecessor sent, by the handle derived from the URN and
the resource's generation; a replacement, the object the state holds, and objects made by anyone
else are never taken for it. Real HTTP to the emulator; the "interrupted run" is a first create
whose result is thrown away, as the engine drops a pending create after a kill."""

from __future__ import annotations

import pytest

from providers.core import ResourceError, create
from providers.esd.endpoint import EndpointHandler
from providers.fabric.model import ModelHandler as FabricModelHandler
from providers.pai.model import ModelHandler as PaiModelHandler
from tests.providers.support import checked, esd_config, provider
from tests.providers.test_fabric_lifecycle import V1, WS, fabric  # noqa: F401  (fixture)
from tests.providers.test_fabric_lifecycle import provider as fabric_provider
from tests.providers.test_pai_lifecycle import pai  # noqa: F401  (fixture)

URN = "urn:pulumi:dev::aimodels::pulumi-python:dynamic/{}::{}"


@pytest.fixture
def esd(emulator):
    emulator.reset("esd")
    return esd_config(emulator)


def as_server(p, props, urn: str, gen: str = create.FIRST_GENERATION):
    with create.creating(urn, gen):
        return p.create(props)


def test_generation_contract():
    assert create.generation({}, changed=True) == create.FIRST_GENERATION  # new, or the re-run of a killed create
    olds = {"name": "a", create.GENERATION: "abc"}
    assert create.generation(olds, changed=False) == "abc"
    nxt = create.generation(olds, changed=True)
    assert nxt == create.next_generation("abc") and nxt != "abc"
    assert create.generation({**olds, create.GENERATION: nxt}, changed=True) not in ("abc", nxt)  # a chain
    with create.creating(URN.format("pai:Model", "m"), "0"):
        one = create.handle()
    with create.creating(URN.format("pai:Model", "m"), "0"):
        again = create.handle()
    with create.creating(URN.format("pai:Model", "m"), nxt):
        replacement = create.handle()
    with create.creating(URN.format("pai:Model", "other"), "0"):
        other = create.handle()
    assert one.durable and one == again
    assert len({one.token, replacement.token, other.token}) == 3
    assert not create.handle().durable  # no server (the stock one): a random token per call


def test_pai_model_rerun_after_a_kill_continues_with_the_same_model(pai, emulator):
    p = provider(PaiModelHandler, pai)
    props = checked(p, {"name": "durable-model"})
    urn = URN.format("pai:Model", "durable")
    first = as_server(p, props, urn)  # the run that was killed: the engine never recorded this
    again = as_server(p, props, urn)
    assert again.id == first.id
    assert [m["ModelId"] for m in emulator.objects("pai")["model"].values()
            if m["ModelName"] == "durable-model"] == [first.id]
    # A replacement (next generation) with identical inputs makes a new model, never takes the old one.
    replacement = as_server(p, props, urn, create.next_generation(create.FIRST_GENERATION))
    assert replacement.id != first.id
    # The object the resource's state holds is never "ours" (a forced replacement, same generation).
    create.note_current(urn, first.id)
    try:
        forced = as_server(p, props, urn)
    finally:
        create._current_ids.pop(urn, None)
    assert forced.id not in (first.id, replacement.id)
    for id in {first.id, replacement.id, forced.id}:
        p.delete(id, {})


def test_esd_endpoint_rerun_after_a_kill_continues_with_its_endpoint(esd, emulator):
    p = provider(EndpointHandler, esd)
    props = checked(p, {"name": "durable", "endpoint_type": "Async", "instance_type": "ml.g5.2xlarge",
                        "assign_to_roles": ["durable-role"]})
    urn = URN.format("esd:Endpoint", "ep")
    first = as_server(p, props, urn)
    again = as_server(p, props, urn)
    assert again.id == first.id
    assert len([e for e in emulator.objects("esd")["endpoint"].values() if e["endpoint_name"] == "esd-async-durable"]) == 1
    # Someone else's endpoint (another URN, or no server at all) is still refused with the import command.
    with pytest.raises(ResourceError) as err:
        p.create(props)
    assert f"pulumi import pulumi-python:dynamic/esd:Endpoint durable {first.id}" in str(err.value)
    # Outside the recovery window it is not taken either.
    emulator.patch("esd", "endpoint", first.id, startTime="2024-03-22 10:00:00.000000")
    with pytest.raises(ResourceError):
        as_server(p, props, urn)
    p.delete(first.id, first.outs)


def test_fabric_model_rerun_after_a_kill_continues_with_the_same_model(fabric, emulator):  # noqa: F811
    p = fabric_provider(fabric)
    props = checked(p, {"workspace_id": WS, "name": "durable-chat", "versions": [V1]})
    urn = URN.format("fabric:Model", "chat")
    first = as_server(p, props, urn)
    again = as_server(p, props, urn)
    assert again.id == first.id
    assert len([m for m in emulator.objects("fabric")["model"].values() if m["name"] == "durable-chat"]) == 1
    with pytest.raises(ResourceError) as err:  # a namesake made by anybody else: refused
        as_server(p, props, URN.format("fabric:Model", "someone-else"))
    assert "import it" in str(err.value)
    p.delete(first.id, first.outs)
