"""The durable create handle (providers/core/create.py): a create re-run after its run was
interrupted recognises the object its predecessor sent, by the handle derived from the URN and
the resource's generation; a replacement, the object the state holds, and objects made by anyone
else are never taken for it. Real HTTP to the emulator; the "interrupted run" is a first create
whose result is thrown away, as the engine drops a pending create after a kill."""

from __future__ import annotations

import json
import subprocess

import pytest

from providers.core import ResourceError, create
from providers.esd.endpoint import EndpointHandler
from providers.pai.model import ModelHandler as PaiModelHandler
from tests.providers.support import V1, WS, checked, esd_config, provider
from tests.providers.test_fabric_lifecycle import provider as fabric_provider

URN = "urn:pulumi:dev::aimodels::pulumi-python:dynamic/{}::{}"


@pytest.fixture
def esd(emulator):
    emulator.reset("esd")
    return esd_config(emulator)


def as_server(p, props, urn: str, gen: str = create.FIRST_GENERATION):
    with create.creating(urn, gen):
        return p.create(props)


def test_generation_contract():
    assert create.generation({}) == create.FIRST_GENERATION  # new, or the re-run of a killed create
    olds = {"name": "a", create.GENERATION: "abc"}
    nxt = create.generation(olds)  # in state: a create that follows is a replacement, never the old object
    assert nxt == create.next_generation("abc") and nxt != "abc"
    assert create.generation(olds) == nxt  # the re-run of an interrupted replacement asks for the same
    assert create.generation({**olds, create.GENERATION: nxt}) not in ("abc", nxt)  # a chain
    assert create.generation({"name": "a"}) == create.next_generation(create.FIRST_GENERATION)  # made before
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


# -- ESD resources with a marker field -----------------------------------------------------------

from providers.esd.base import MARKER  # noqa: E402
from providers.esd.checkpoint import CheckpointHandler  # noqa: E402
from providers.esd.dataset import DatasetHandler  # noqa: E402
from providers.esd.training import TrainingJobHandler  # noqa: E402
from tests.providers.test_esd_lifecycle import FAST  # noqa: E402
from tests.providers.test_esd_recovery import SD_URL, TRAIN, _training_fixtures, weights  # noqa: E402


@pytest.fixture
def fast_esd(esd, emulator):
    emulator.settings("esd", **FAST)
    return esd


def esd_objects(emulator, kind: str) -> dict:
    return emulator.objects("esd").get(kind, {})


def durable_token(urn: str) -> str:
    with create.creating(urn, create.FIRST_GENERATION):
        return create.handle().token


def test_url_checkpoint_rerun_continues_with_the_checkpoint(fast_esd, emulator):
    p = provider(CheckpointHandler, fast_esd)
    props = checked(p, {"checkpoint_type": "Stable-diffusion", "source_url": SD_URL})
    urn = URN.format("esd:Checkpoint", "base")
    first = as_server(p, props, urn)
    again = as_server(p, props, urn)
    assert again.id == first.id and list(esd_objects(emulator, "checkpoint")) == [first.id]
    p.delete(first.id, first.outs)


def test_file_checkpoint_left_half_made_by_a_killed_run_is_made_again_once(fast_esd, emulator, tmp_path):
    """The killed run's POST made an Initial checkpoint whose upload URLs died with it."""
    p = provider(CheckpointHandler, fast_esd)
    props = checked(p, {"checkpoint_type": "Lora", "source_file": str(weights(tmp_path))})
    urn = URN.format("esd:Checkpoint", "lora")
    p.impl.client.create_checkpoint({"checkpoint_type": "Lora",
                                     "filenames": [{"filename": "tiny-lora.safetensors", "parts_number": 1}],
                                     "params": {"message": "", "creator": "api", MARKER: durable_token(urn)}})
    [left] = esd_objects(emulator, "checkpoint")
    created = as_server(p, props, urn)
    ckpts = esd_objects(emulator, "checkpoint")
    assert list(ckpts) == [created.id] and created.id != left and ckpts[created.id]["checkpoint_status"] == "Active"
    # Someone else's checkpoint of that file name is still refused.
    with pytest.raises(ResourceError) as err:
        as_server(p, props, URN.format("esd:Checkpoint", "other"))
    assert "import" in str(err.value)
    p.delete(created.id, created.outs)


def test_file_checkpoint_a_killed_run_finished_and_renamed_is_continued(fast_esd, emulator, tmp_path):
    """The kill came after the upload and the rename (found by the kill campaign): the file name is
    free again, so without a look first the re-run uploaded a second checkpoint, whose rename then
    failed on the name the first one holds."""
    p = provider(CheckpointHandler, fast_esd)
    props = checked(p, {"checkpoint_type": "Lora", "source_file": str(weights(tmp_path)), "name": "house-style"})
    urn = URN.format("esd:Checkpoint", "lora")
    killed = as_server(p, props, urn)  # what the killed run made; its reply never reached the engine
    assert esd_objects(emulator, "checkpoint")[killed.id]["checkpoint_names"] == ["house-style"]
    again = as_server(p, props, urn)
    assert again.id == killed.id and list(esd_objects(emulator, "checkpoint")) == [killed.id]
    assert again.outs["file_names"] == ["house-style"] and again.outs["status"] == "Active"
    # Another resource with the same inputs (no handle of ours on that checkpoint): refused, not taken.
    with pytest.raises(ResourceError, match="already exists"):
        as_server(p, props, URN.format("esd:Checkpoint", "other"))
    p.delete(killed.id, killed.outs)


def test_dataset_left_by_a_killed_run_is_made_again_once(fast_esd, emulator, tmp_path):
    img = tmp_path / "a.png"
    img.write_bytes(b"\x89PNG\r\n\x1a\nfake")
    p = provider(DatasetHandler, fast_esd)
    props = checked(p, {"name": "pets", "files": [str(img)]})
    urn = URN.format("esd:Dataset", "pets")
    p.impl.client.create_dataset({"dataset_name": "pets", "content": [{"filename": "a.png", "name": "a.png",
                                                                      "type": "image", "params": {}}],
                                  "params": {"description": "", MARKER: durable_token(urn)}, "creator": "api"})
    created = as_server(p, props, urn)
    assert list(esd_objects(emulator, "dataset")) == ["pets"]
    assert esd_objects(emulator, "dataset")["pets"]["dataset_status"] == "Enabled"
    with pytest.raises(ResourceError):  # not ours: refused
        as_server(p, props, URN.format("esd:Dataset", "other"))
    p.delete(created.id, created.outs)


def test_training_rerun_continues_with_the_job(fast_esd, emulator, tmp_path):
    (ckpt, base), (ds, dataset) = _training_fixtures(fast_esd, tmp_path)
    p = provider(TrainingJobHandler, fast_esd)
    props = checked(p, TRAIN)
    urn = URN.format("esd:TrainingJob", "style")
    first = as_server(p, props, urn)
    again = as_server(p, props, urn)
    assert again.id == first.id and list(esd_objects(emulator, "training")) == [first.id]
    p.delete(first.id, first.outs)
    ds.delete(dataset.id, dataset.outs)
    ckpt.delete(base.id, base.outs)


def test_server_check_carries_the_generation_and_read_keeps_it(pai):
    """The hidden input as the engine sees it: "0" for a new resource, the next one whenever the
    resource is in state (a create that follows is a replacement, even with nothing declared
    changed), the same next one for a re-check of the same olds; a refresh does not drop it."""
    import asyncio

    from google.protobuf import struct_pb2
    from pulumi.dynamic.dynamic import serialize_provider
    from pulumi.runtime import rpc
    from pulumi.runtime.proto import provider_pb2

    from providers.core.server import ProviderServer

    server = ProviderServer()
    config = struct_pb2.Struct()
    config.update(pai)
    server.Configure(provider_pb2.ConfigureRequest(args=config), None)
    p = provider(PaiModelHandler, pai)
    text = serialize_provider(p)
    urn = URN.format("pai:Model", "gen")

    def check(olds: dict, news: dict) -> dict:
        wire = lambda d: asyncio.run(rpc.serialize_properties(d, {}))  # noqa: E731
        reply = server.Check(provider_pb2.CheckRequest(urn=urn, olds=wire(olds), news=wire({**news, "__provider": text})),
                             None)
        assert not reply.failures
        return rpc.deserialize_properties(reply.inputs)

    new = check({}, {"name": "gen-model"})
    assert new[create.GENERATION] == create.FIRST_GENERATION
    same = check(new, {"name": "gen-model"})
    assert same[create.GENERATION] == create.next_generation(create.FIRST_GENERATION)
    assert check(new, {"name": "gen-model"})[create.GENERATION] == same[create.GENERATION]
    changed = check(same, {"name": "gen-model", "description": "changed"})
    assert changed[create.GENERATION] == create.next_generation(same[create.GENERATION])

    created = as_server(p, new, urn)
    try:
        reply = server.Read(provider_pb2.ReadRequest(
            id=created.id, urn=urn, properties=asyncio.run(rpc.serialize_properties({**created.outs, "__provider": text}, {})),
            inputs=asyncio.run(rpc.serialize_properties({**changed, "__provider": text}, {}))), None)
        assert rpc.deserialize_properties(reply.inputs)[create.GENERATION] == changed[create.GENERATION]
    finally:
        p.delete(created.id, {})


def test_zstack_center_rerun_after_a_kill_continues_with_the_same_uuid(emulator):
    from providers.zstack.model_center import ModelCenterHandler
    from tests.providers.test_zstack_lifecycle import CENTER, session_config

    emulator.reset("zstack")
    emulator.settings("zstack", job_delay_s=0.05)
    p = provider(ModelCenterHandler, session_config(emulator))
    props = checked(p, CENTER)
    urn = URN.format("zstack:ModelCenter", "center")
    first = as_server(p, props, urn)
    again = as_server(p, props, urn)
    assert again.id == first.id and list(emulator.objects("zstack")["model_center"]) == [first.id]
    replacement = as_server(p, props, urn, create.next_generation(create.FIRST_GENERATION))
    assert replacement.id != first.id
    for id, outs in ((first.id, first.outs), (replacement.id, replacement.outs)):
        p.delete(id, outs)
    assert not emulator.objects("zstack").get("model_center")


def test_a_replacement_checked_again_without_olds_keeps_the_next_generation():
    """The engine re-checks a replacement without old inputs; that Check must not fall back to the
    first generation (the handle its original was created with)."""
    urn = URN.format("esd:TrainingJob", "recheck")
    fresh = URN.format("esd:TrainingJob", "never-in-state")
    assert create.checked_generation(fresh, {}) == create.FIRST_GENERATION
    olds = {"name": "a", create.GENERATION: create.FIRST_GENERATION}
    first = create.checked_generation(urn, olds)
    assert first == create.next_generation(create.FIRST_GENERATION)
    assert create.checked_generation(urn, {}) == first  # the second Check of the replacement
    assert create.checked_generation(urn, olds) == first  # and the re-run of an interrupted one


@pytest.mark.parametrize("read", ["file", "cli"])
def test_a_targeted_replacement_is_told_from_a_new_resource_by_the_stack_state(read, tmp_path, monkeypatch):
    """`up --replace` and tainted resources: the engine checks without old inputs and calls no
    Diff. Check reads the stack's state (a real file backend, read directly or through the CLI as
    for any other backend): a URN it holds gets the next generation and its object is never
    "ours"; a URN it does not hold, and a stack that cannot be read, get the first generation."""
    from providers.core import state

    project = tmp_path / "project"
    project.mkdir()
    (project / "Pulumi.yaml").write_text("name: aimodels\nruntime: python\n")
    monkeypatch.chdir(project)
    monkeypatch.setenv("PULUMI_BACKEND_URL", (tmp_path / "backend").as_uri())
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "durable")
    (tmp_path / "backend").mkdir()
    monkeypatch.setattr(state, "_cache", {})
    monkeypatch.setattr(create, "_checked", {})
    monkeypatch.setattr(create, "_current_ids", {})
    held = URN.format("pai:Model", "held")
    provider = "urn:pulumi:dev::aimodels::pulumi:providers:pulumi-python::default"
    resources = [
        {"urn": provider, "custom": True, "id": "p-1", "type": "pulumi:providers:pulumi-python"},
        {"urn": held, "custom": True, "id": "m-1", "type": "pulumi-python:dynamic/pai:Model",
         "inputs": {"name": "a", create.GENERATION: "abc"}, "provider": f"{provider}::p-1"},
        {"urn": held, "custom": True, "id": "m-0", "type": "pulumi-python:dynamic/pai:Model", "delete": True,
         "inputs": {"name": "a", create.GENERATION: "older"}, "provider": f"{provider}::p-1"},
    ]
    deployment = {"version": 3, "deployment": {"manifest": {"time": "2026-12-04T00:00:00Z", "magic": "",
                                                            "version": "v3"}, "resources": resources}}
    (tmp_path / "state.json").write_text(json.dumps(deployment))
    cli = state.engine_cli()
    assert cli, "no pulumi CLI on PATH"
    for args in (["stack", "init", "dev"], ["stack", "import", "--file", str(tmp_path / "state.json"), "--force"]):
        done = subprocess.run([cli, *args, "--non-interactive"], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr

    if read == "cli":
        monkeypatch.setattr(state, "from_file_backend", lambda stack, project: None)
    cli_calls = []
    real_cli = state.engine_cli
    monkeypatch.setattr(state, "engine_cli", lambda: cli_calls.append(1) or real_cli())
    gen = create.checked_generation(held, {})
    assert len(cli_calls) == (1 if read == "cli" else 0)  # a file backend's stack file is read as it is
    assert gen == create.next_generation("abc")  # the live entry's, not the one waiting to be deleted
    with create.creating(held, gen):
        handle = create.handle()
    assert handle.durable and handle.is_current("m-1")
    assert create.checked_generation(URN.format("pai:Model", "new"), {}) == create.FIRST_GENERATION
    gone = "urn:pulumi:nostack::aimodels::pulumi-python:dynamic/pai:Model::x"
    assert create.checked_generation(gone, {}) == create.FIRST_GENERATION


def file_backend_state(tmp_path, monkeypatch, deployment: dict) -> None:
    """A file backend whose stack `dev` of project `aimodels` holds ``deployment``, written where
    the backend keeps it (`pulumi stack import` would drop pending operations), in a project
    directory that is the working directory; the state read caches are emptied."""
    from providers.core import state

    project = tmp_path / "project"
    project.mkdir(exist_ok=True)
    (project / "Pulumi.yaml").write_text("name: aimodels\nruntime: python\n")
    monkeypatch.chdir(project)
    monkeypatch.setenv("PULUMI_BACKEND_URL", (tmp_path / "backend").as_uri())
    stacks = tmp_path / "backend" / ".pulumi" / "stacks" / "aimodels"
    stacks.mkdir(parents=True, exist_ok=True)
    (stacks / "dev.json").write_text(json.dumps({"version": 3, "checkpoint": {"stack": "organization/aimodels/dev",
                                                                             "latest": deployment}}))
    monkeypatch.setattr(state, "_cache", {})


def test_a_role_or_user_a_killed_run_made_is_taken_only_on_the_engine_s_record(esd, emulator, tmp_path, monkeypatch):
    """ESD roles and users have no field for a marker, and their create is an upsert. After a kill
    between the upsert and the engine's record of it, the re-run finds the name taken: it continues
    only when the stack's state records this resource's create as pending with these inputs (or
    `aimodels recover` kept that record when it cleared it), and refuses otherwise."""
    from providers.core import state
    from providers.esd.role import RoleHandler
    from providers.esd.user import UserHandler

    emulator.reset("esd")
    role = provider(RoleHandler, esd)
    role_props = checked(role, {"name": "killed-role", "permissions": ["train:all", "checkpoint:all"]})
    user = provider(UserHandler, esd)
    user_props = checked(user, {"username": "killed-user", "password": "Killed-Passw0rd-1", "roles": ["killed-role"]})
    role_urn, user_urn = URN.format("esd:Role", "ops"), URN.format("esd:User", "eng")
    made = role.create(role_props), user.create(user_props)  # the killed run's upserts landed

    def pending(urn: str, props: dict, **changed) -> dict:
        return {"type": "creating", "resource": {"urn": urn, "custom": True, "type": urn.split("::")[2],
                                                 "inputs": {**props, **changed, create.GENERATION: "0"}}}

    file_backend_state(tmp_path, monkeypatch, {"resources": []})  # no record: refused
    for p, props, urn, name in ((role, role_props, role_urn, "killed-role"), (user, user_props, user_urn, "killed-user")):
        with pytest.raises(ResourceError, match=f"already exists .* import .* {name}"):
            as_server(p, props, urn)
    # The engine's pending create of other inputs, or of another generation: refused.
    file_backend_state(tmp_path, monkeypatch, {"resources": [], "pending_operations": [
        pending(role_urn, role_props, permissions=["train:all"]),
        {**pending(user_urn, user_props), "resource": {**pending(user_urn, user_props)["resource"],
                                                       "inputs": {**user_props, create.GENERATION: "abc"}}}]})
    for p, props, urn in ((role, role_props, role_urn), (user, user_props, user_urn)):
        with pytest.raises(ResourceError, match="already exists"):
            as_server(p, props, urn)
    # This resource's own pending create, with these inputs: continued, nothing doubled.
    file_backend_state(tmp_path, monkeypatch, {"resources": [], "pending_operations": [
        pending(role_urn, role_props), pending(user_urn, user_props)]})
    assert as_server(role, role_props, role_urn).id == made[0].id
    assert as_server(user, user_props, user_urn).id == made[1].id
    # ... also from the record `aimodels recover` keeps when it clears them (a day at most).
    file_backend_state(tmp_path, monkeypatch, {"resources": []})
    state.write_record(str(tmp_path / "project"), "dev", [pending(role_urn, role_props)])
    assert as_server(role, role_props, role_urn).id == made[0].id
    with pytest.raises(ResourceError, match="already exists"):
        as_server(user, user_props, user_urn)  # not in the record
    # Made by another API user: refused even with the record.
    emulator.patch("esd", "role", "killed-role", creator="someone-else")
    monkeypatch.setattr(state, "_cache", {})
    with pytest.raises(ResourceError, match="creator someone-else"):
        as_server(role, role_props, role_urn)
    for p, m in ((user, made[1]), (role, made[0])):
        p.delete(m.id, m.outs)
    assert not emulator.objects("esd").get("role", {}).get("killed-role")
