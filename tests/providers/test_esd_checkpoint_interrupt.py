"""esd:Checkpoint from a URL, interrupted: a Ctrl-C right after the POST (the download under way,
no id yet), a Ctrl-C during the rename, and a run killed after the create. The re-run recognises
what its predecessor made, never leaves a second copy, and a failed create's replacement can
succeed (it deletes first: the names cannot coexist). Real HTTP to the emulator; the server's
durable handle comes from ``create.creating`` as the project's provider server sets it."""

from __future__ import annotations

import time
from typing import Any

import pytest

from providers.core import CreatedButFailed, ProviderError, ResourceError, create, runtime
from providers.core.errors import Cancelled
from providers.esd.checkpoint import CheckpointHandler
from tests.providers.support import checked, esd_config, provider
from tests.providers.test_esd_lifecycle import FAST

URN = "urn:pulumi:dev::aimodels::pulumi-python:dynamic/esd:Checkpoint::base-model"
URL = "https://models.example.com/sd/interrupt-base.safetensors"
DOWNLOAD_S = 1.0


@pytest.fixture(autouse=True)
def project_server(monkeypatch):
    monkeypatch.setattr(runtime, "partial_state_supported", True)
    runtime.reset_cancel()
    yield
    runtime.reset_cancel()


@pytest.fixture
def esd(emulator):
    emulator.reset("esd")
    emulator.settings("esd", **{**FAST, "checkpoint_download_seconds": DOWNLOAD_S})
    return esd_config(emulator)


def checkpoints(emulator) -> dict[str, Any]:
    return emulator.objects("esd").get("checkpoint", {})


def settled(emulator) -> dict[str, Any]:
    """The checkpoints once every download started so far has landed."""
    time.sleep(DOWNLOAD_S + 0.5)
    return checkpoints(emulator)


def cancel_after(mocker, p, method: str, match=lambda args: True):
    """Cancel the run as soon as the client's ``method`` request returned (a Ctrl-C at that moment)."""
    client = p.impl.client
    real = getattr(client, method)

    def then_cancel(*args, **kw):
        out = real(*args, **kw)
        if match(args):
            runtime.cancel()
        return out

    return mocker.patch.object(client, method, side_effect=then_cancel)


def cause(err: pytest.ExceptionInfo) -> Any:
    return getattr(err.value, "cause", err.value)


def test_ctrl_c_right_after_the_post_is_continued_by_the_rerun_without_a_second_copy(esd, emulator, mocker):
    p = provider(CheckpointHandler, esd)
    inputs = checked(p, {"checkpoint_type": "Stable-diffusion", "source_url": URL, "name": "dev-sd-abc123"})
    spy = cancel_after(mocker, p, "create_checkpoint")
    with create.creating(URN, create.FIRST_GENERATION), pytest.raises(ResourceError) as err:
        p.create(inputs)
    assert isinstance(cause(err), Cancelled)  # no id yet: nothing for the state to hold
    assert checkpoints(emulator) == {}  # the download is still under way

    mocker.stopall()  # the next `pulumi up`: a new run, the same resource, the same handle
    runtime.reset_cancel()
    with create.creating(URN, create.FIRST_GENERATION):
        created = p.create(inputs)
    assert spy.call_count == 1
    assert created.outs["file_names"] == ["dev-sd-abc123"]
    ckpts = settled(emulator)
    assert list(ckpts) == [created.id], ckpts  # the predecessor's download and ours: one kept
    assert ckpts[created.id]["checkpoint_names"] == ["dev-sd-abc123"]
    p.delete(created.id, created.outs)


def test_rerun_after_the_download_landed_continues_with_it(esd, emulator, mocker):
    p = provider(CheckpointHandler, esd)
    inputs = checked(p, {"checkpoint_type": "Stable-diffusion", "source_url": URL, "name": "dev-sd-abc123"})
    cancel_after(mocker, p, "create_checkpoint")
    with create.creating(URN, create.FIRST_GENERATION), pytest.raises(ResourceError):
        p.create(inputs)
    mocker.stopall()
    runtime.reset_cancel()
    [landed] = settled(emulator)
    post = mocker.spy(p.impl.client, "create_checkpoint")
    with create.creating(URN, create.FIRST_GENERATION):
        created = p.create(inputs)
    assert created.id == landed and post.call_count == 0
    assert list(settled(emulator)) == [landed]
    p.delete(created.id, created.outs)


def test_a_killed_run_that_had_renamed_the_checkpoint_is_recognised_by_the_rerun(esd, emulator, mocker):
    """The name the create renamed to is ours too: a re-run does not download it again (whose rename
    would fail with "already exists", leaving two checkpoints)."""
    p = provider(CheckpointHandler, esd)
    inputs = checked(p, {"checkpoint_type": "Stable-diffusion", "source_url": URL, "name": "dev-sd-abc123"})
    with create.creating(URN, create.FIRST_GENERATION):
        first = p.create(inputs)  # its reply is lost with the killed run: the engine drops it
    post = mocker.spy(p.impl.client, "create_checkpoint")
    with create.creating(URN, create.FIRST_GENERATION):
        again = p.create(inputs)
    assert again.id == first.id and post.call_count == 0
    assert list(settled(emulator)) == [first.id]
    p.delete(again.id, again.outs)


def test_ctrl_c_during_the_rename_is_a_failed_create_whose_replacement_deletes_first(esd, emulator, mocker):
    p = provider(CheckpointHandler, esd)
    inputs = checked(p, {"checkpoint_type": "Stable-diffusion", "source_url": URL, "name": "dev-sd-abc123"})
    cancel_after(mocker, p, "update_checkpoint", match=lambda args: "name" in args[1])
    with create.creating(URN, create.FIRST_GENERATION), pytest.raises(ResourceError) as err:
        p.create(inputs)
    failed = cause(err)
    assert isinstance(failed, CreatedButFailed) and "cancelled" in failed.message
    assert list(checkpoints(emulator)) == [failed.id]
    mocker.stopall()
    runtime.reset_cancel()

    # The next up: the failed create is replaced, deleting it first (it holds the file name and `name`).
    state = p.failed_create_state(inputs, failed)
    diff = p.diff(failed.id, state, inputs)
    assert diff.replaces and diff.delete_before_replace is True
    p.delete(failed.id, state)
    with create.creating(URN, create.next_generation(create.FIRST_GENERATION)):
        created = p.create(inputs)
    assert created.outs["file_names"] == ["dev-sd-abc123"]
    assert list(settled(emulator)) == [created.id]
    p.delete(created.id, created.outs)


def test_stock_server_removes_a_checkpoint_whose_rename_failed(esd, emulator, monkeypatch, mocker):
    monkeypatch.setattr(runtime, "partial_state_supported", False)
    p = provider(CheckpointHandler, esd)
    inputs = checked(p, {"checkpoint_type": "Stable-diffusion", "source_url": URL, "name": "dev-sd-abc123"})
    real = p.impl.client.update_checkpoint

    def refuse_rename(id, body):  # an injected fault: the rename is refused
        if "name" in body:
            raise ProviderError("esd UpdateCheckpoint: 400 rename refused")
        return real(id, body)

    mocker.patch.object(p.impl.client, "update_checkpoint", side_effect=refuse_rename)
    with pytest.raises(ResourceError) as err:
        p.create(inputs)
    assert "rename refused" in str(err.value) and "was removed again" in str(err.value)
    assert settled(emulator) == {}
