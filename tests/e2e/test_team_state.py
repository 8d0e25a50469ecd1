"""Shared state on Pulumi's S3 backend (the embedded moto server), with KMS-wrapped stack secrets,
through the `aimodels` command under the real engine, on the emulator.

These are the figures of docs/team.md: two `aimodels up` on one stack at once (one runs, the other
fails at once naming the lock), four stacks applied in parallel (all converge, no update lost), and
no plaintext secret in a state file read back from the bucket.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from aimodels.pulumi_cli import EMULATOR_ENGINEER_PASSWORD
from aimodels.stateserver import StateServer
from tests.e2e.project import AIMODELS, Project
from tests.e2e.test_promotion import by_name

SECRET_SIG = "4dabf18193072939515e22adb298388d"


@pytest.fixture
def team(project: Project, state_server: StateServer) -> Iterator[tuple[Project, StateServer]]:  # noqa: F811
    """The promotion tests' project copy, its state in a fresh bucket, secrets under the KMS key."""
    store = state_server.with_bucket(f"team-{uuid.uuid4().hex[:12]}")
    project.env.pop("PULUMI_CONFIG_PASSPHRASE", None)  # no passphrase anywhere: KMS only
    project.env.update(store.env)
    yield project, store


def start(project: Project, *args: str) -> subprocess.Popen[str]:
    cmd = [str(AIMODELS), args[0], "--project-dir", str(project.root), "--emulator", "--emulator-url",
           project.emulator.url, *args[1:]]
    return subprocess.Popen(cmd, env=project.env, text=True, cwd=project.root,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def checkpoint(store: StateServer, stack: str) -> dict:
    return json.loads(store.objects(f".pulumi/stacks/aimodels/{stack}.json")[f".pulumi/stacks/aimodels/{stack}.json"])


def resource_types(cp: dict) -> list[str]:
    return sorted(r["type"].rsplit("/", 1)[-1] for r in cp["checkpoint"]["latest"]["resources"]
                  if r["type"].startswith("pulumi-python:dynamic/"))


def test_second_up_on_a_locked_stack_fails_at_once_naming_the_lock(team: tuple[Project, StateServer]) -> None:
    project, store = team
    project.stacks.add("dev")
    project.emulator.settings("esd", endpoint_create_seconds=6)  # the first run holds the lock a while
    first = start(project, "up", "--stack", "dev")
    try:
        deadline = time.monotonic() + 300
        # Mid-apply (its first object exists on the platform), so it holds Pulumi's stack lock.
        locks: dict = {}
        while not (by_name(project.emulator, "esd", "role", "role_name")
                   and (locks := store.objects(".pulumi/locks/"))):
            assert first.poll() is None, f"the first up ended before it was seen applying: {first.communicate()}"
            assert time.monotonic() < deadline, "the first up never got to apply"
            time.sleep(0.2)
        [lock_key] = locks  # the listing that was seen, not a second one a moment later
        began = time.monotonic()
        second = subprocess.run([str(AIMODELS), "up", "--project-dir", str(project.root), "--emulator",
                                 "--emulator-url", project.emulator.url, "--stack", "dev"],
                                env=project.env, text=True, capture_output=True, cwd=project.root)
        held_after = set(store.objects(".pulumi/locks/"))  # a busy machine: the first may have moved on
    finally:
        if first.poll() is None and "second" not in locals():
            first.kill()
    refused_in = time.monotonic() - began
    still_running = first.poll() is None
    out, err = first.communicate(timeout=600)
    assert first.returncode == 0, out + err
    assert second.returncode != 0
    assert "the stack is currently locked by 1 lock(s)" in second.stderr + second.stdout, second.stderr
    named = re.findall(r"\.pulumi/locks/[\w./-]+?\.json", second.stderr + second.stdout)
    assert named and set(named) <= {lock_key} | held_after, (lock_key, held_after, second.stderr)  # names the lock
    assert "created by" in second.stderr + second.stdout  # and who holds it
    assert still_running, f"the second up took {refused_in:.1f} s: the first one had finished meanwhile"
    print(f"\nsecond up refused after {refused_in:.2f} s while the first held {lock_key}")
    assert not store.objects(".pulumi/locks/")  # released
    assert len(resource_types(checkpoint(store, "dev"))) >= 10
    assert by_name(project.emulator, "esd", "endpoint", "endpoint_name")["esd-async-dev-sd"]["endpoint_status"] \
        == "InService"


def test_four_stacks_in_parallel_converge_and_keep_no_plaintext_secret(team: tuple[Project, StateServer]) -> None:
    project, store = team
    staging = yaml.safe_load(project.stack_file("staging").read_text())
    staging["config"]["aimodels:environment"] = "qa"
    staging["config"]["aimodels:fabric"]["workspace"] = "aimodels-qa"
    project.stack_file("qa").write_text(yaml.safe_dump(staging, sort_keys=False))
    stacks = ("dev", "staging", "prod", "qa")
    # ESD checkpoint file names are unique per platform account and the base model keeps its
    # downloaded name until renamed: environments applied at the same moment on one account need
    # distinct base-model files (a property of the platform, not of the state backend).
    for s in stacks:
        project.edit(s, "aimodels:esd", lambda esd, s=s: esd.update(
            baseModelUrl=f"https://models.example.com/sd/{s}-v1-5-pruned-emaonly.safetensors"))
    project.stacks.update(stacks)

    def all_up() -> float:
        began = time.monotonic()
        runs = {s: start(project, "up", "--stack", s) for s in stacks}
        outs = {s: proc.communicate(timeout=900) for s, proc in runs.items()}  # all end before any assert
        for s, proc in runs.items():
            assert proc.returncode == 0, f"up {s}: {outs[s][0][-3000:]}\n{outs[s][1][-3000:]}"
        return time.monotonic() - began

    first = all_up()
    endpoints = by_name(project.emulator, "esd", "endpoint", "endpoint_name")
    assert {f"esd-async-{s}-sd": "InService" for s in stacks}.items() <= \
        {n: e["endpoint_status"] for n, e in endpoints.items()}.items()
    counts = {s: len(resource_types(checkpoint(store, s))) for s in stacks}
    assert counts == {"dev": 12, "staging": 11, "prod": 11, "qa": 11}, counts  # dev pins two PAI versions

    # Each stack changes in its own way, all at once: every change lands, none overwrites another.
    for i, s in enumerate(stacks):
        project.edit(s, "aimodels:pai", lambda pai, i=i: pai["versions"].append(
            {"name": f"1.{5 + i}.0", "uri": f"oss://aimodels-artifacts.oss-cn-hangzhou.aliyuncs.com/sd-base/1.{5 + i}.0/",
             "approval": "Approved"}))
    second = all_up()
    for i, s in enumerate(stacks):
        cp = checkpoint(store, s)
        versions = sorted(r["outputs"].get("version_name") for r in cp["checkpoint"]["latest"]["resources"]
                          if r["type"].endswith("pai:ModelVersion"))
        assert f"1.{5 + i}.0" in versions and not {f"1.{5 + j}.0" for j in range(4) if j != i} & set(versions), \
            (s, versions)
        history = json.loads(subprocess.run(
            [str(Path(project.env["AIMODELS_PULUMI"])), "stack", "history", "--json", "--stack", s],
            cwd=project.root, env=project.env, text=True, capture_output=True, check=True).stdout)
        assert [h["result"] for h in history] == ["succeeded", "succeeded"], (s, history)
    print(f"\nfour stacks: first up in parallel {first:.1f} s, second (one change each) {second:.1f} s")

    # The state read back from the bucket: secrets are ciphertext under the KMS-wrapped key.
    objects = store.objects(".pulumi/")
    assert not [k for k, v in objects.items() if EMULATOR_ENGINEER_PASSWORD.encode() in v]
    for s in stacks:
        cp = checkpoint(store, s)
        providers = cp["checkpoint"]["latest"]["secrets_providers"]
        assert providers["type"] == "cloud" and providers["state"]["url"].startswith("awskms://"), providers
        text = json.dumps(cp)
        assert SECRET_SIG in text and '"ciphertext"' in text  # a secret is there, encrypted
    for s in stacks:  # nor in the overlay the emulator mode generated
        assert EMULATOR_ENGINEER_PASSWORD not in (project.root / ".aimodels" / "emulator" / f"Pulumi.{s}.yaml").read_text()


def test_state_server_module_round_trip(state_server: StateServer) -> None:
    """The server the scripts start answers S3 and KMS the way Pulumi uses them."""
    kms = state_server.client("kms")
    blob = kms.encrypt(KeyId="alias/aimodels-state", Plaintext=b"data key")["CiphertextBlob"]
    assert b"data key" not in blob
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"data key"
    store = state_server.with_bucket(f"rt-{uuid.uuid4().hex[:8]}")
    store.client("s3").put_object(Bucket=store.bucket, Key="a/b.json", Body=b"{}")
    assert store.objects("a/") == {"a/b.json": b"{}"}
