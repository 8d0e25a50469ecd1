"""How the chaos campaigns count: orphans, duplicates, the plan a seed draws, which process is which.

Plain data in, counts out (no emulator, no engine): the end-to-end runs of the tool are in
tests/e2e/test_chaos.py and tests/e2e/test_interrupt_campaign.py.
"""

from __future__ import annotations

import argparse
from collections import Counter
from typing import Any

from tests.chaos.common import describe, duplicates, orphans, state_without_object
from tests.chaos.interrupt import Interrupt, findings


def res(kind: str, rid: str, name: str = "r") -> dict[str, Any]:
    return {"type": f"pulumi-python:dynamic/{kind}", "urn": f"urn:pulumi:s::p::pulumi-python:dynamic/{kind}::{name}",
            "id": rid}


OBJECTS = [
    ("pai", "model", "model-a", {"ModelId": "model-a"}),
    ("pai", "version", "model-a:1.0.0", {"ModelId": "model-a", "VersionName": "1.0.0"}),
    ("fabric", "model", "m1", {"id": "m1"}),
    ("fabric", "version", "v1", {"id": "v1", "model_id": "m1"}),
    ("esd", "dataset", "cats", {"dataset_name": "cats"}),
    ("esd", "dataset_item", "cats/1_cat.png", {"dataset_name": "cats"}),
    ("esd", "blob", "bucket/key", {}),
    ("workshop", "model", "24900001/user:chaos/house", {"modelId": "house"}),
]
STATE = [res("pai:Model", "model-a"), res("pai:ModelVersion", "model-a:1.0.0"), res("fabric:Model", "m1"),
         res("esd:Dataset", "cats"), res("workshop:ModelSync", "house")]


def test_everything_in_state_is_no_orphan() -> None:
    assert orphans(OBJECTS, STATE, stack_destroyed=False) == {}


def test_a_parent_in_state_does_not_vouch_for_a_child_resource() -> None:
    # the PAI version is a resource of its own: its model in state does not account for it
    assert orphans(OBJECTS, STATE[:1] + STATE[2:], stack_destroyed=False) == {"pai:version": 1}
    # a Fabric version and a dataset item are parts of their owner's resource
    assert orphans(OBJECTS, [r for r in STATE if "fabric" not in r["type"]], stack_destroyed=False) == {
        "fabric:model": 1, "fabric:version": 1}


def test_a_second_object_of_one_resource_is_an_orphan_and_a_duplicate() -> None:
    extra = [*OBJECTS, ("pai", "model", "model-b", {"ModelId": "model-b"}),
             ("pai", "version", "model-b:1.0.0", {"ModelId": "model-b", "VersionName": "1.0.0"})]
    assert orphans(extra, STATE, stack_destroyed=False) == {"pai:model": 1, "pai:version": 1}
    made = Counter((p, k) for p, k, _, _ in extra)
    expected = Counter((p, k) for p, k, _, _ in OBJECTS)
    assert duplicates(made, expected) == {"pai:model": 1, "pai:version": 1}
    # storage details are never duplicates
    assert duplicates(made + Counter({("esd", "blob"): 3}), expected) == {"pai:model": 1, "pai:version": 1}


def test_after_a_destroy_all_but_the_kept_workshop_model_is_an_orphan() -> None:
    left = orphans(OBJECTS, [], stack_destroyed=True)
    assert "workshop:model" not in left
    assert left == {"pai:model": 1, "pai:version": 1, "fabric:model": 1, "fabric:version": 1, "esd:dataset": 1,
                    "esd:dataset_item": 1, "esd:blob": 1}


def test_state_without_object() -> None:
    dump = {"pai": {"model": {"model-a": {"ModelId": "model-a"}}}}
    assert state_without_object(dump, [res("pai:Model", "model-a"), res("pai:ModelVersion", "model-a:2.0.0", "v2")]) \
        == ["v2 (model-a:2.0.0)"]


def plan_for(seed: int, cycles: int) -> list[tuple[str, str, float]]:
    holder = type("Holder", (), {"args": argparse.Namespace(seed=seed, cycles=cycles)})()
    return Interrupt.draw(holder)  # type: ignore[arg-type]


def test_a_seed_fixes_the_plan_and_the_pairs_are_balanced() -> None:
    assert plan_for(1, 30) == plan_for(1, 30) != plan_for(2, 30)
    pairs = Counter((op, sig) for op, sig, _ in plan_for(1, 28))
    assert set(pairs.values()) == {7} and len(pairs) == 4
    assert all(0 <= f < 1 for _, _, f in plan_for(1, 30))
    # the e2e test's seed: two ups, one SIGKILL and one SIGINT, both well inside the operation
    assert [(op, sig) for op, sig, _ in plan_for(3, 2)] == [("up", "SIGKILL"), ("up", "SIGINT")]
    assert all(0.3 < f < 0.8 for _, _, f in plan_for(3, 2))


def test_processes_are_named_by_their_part() -> None:
    assert describe([b"/x/bin/pulumi", b"up", b"--yes"]) == "pulumi"
    assert describe([b"/x/bin/pulumi-language-python", b"-root", b"/r"]) == "pulumi-language-python"
    assert describe([b"/r/.venv/bin/python", b"-u", b"/r/scripts/launchers/pulumi-language-python-exec"]) == "program"
    assert describe([b"python3", b"/r/scripts/launchers/pulumi-resource-pulumi-python", b"x"]) == \
        "pulumi-resource-pulumi-python"


def test_findings_include_a_slow_exit() -> None:
    zero = {"orphans": 0, "duplicates": 0, "stuck": 0, "leftover_processes": 0, "largest_sigint_exit_s": 9.9}
    assert findings(zero) == 0
    assert findings({**zero, "largest_sigint_exit_s": 10.5}) == 1
    assert findings({**zero, "largest_sigint_exit_s": None, "leftover_processes": 2}) == 2


def test_short_error_prefers_the_resource_diagnostic() -> None:
    from tests.chaos.common import short_error

    out = ("Updating (chaos):\n  pulumi:pulumi:Stack aimodels-chaos  error: update failed\n"
           "Diagnostics:\n  esd:Endpoint (async-endpoint):\n    error: endpoint x already exists\n")
    assert short_error(out) == "endpoint x already exists"
    assert short_error("error: update failed\n") == "update failed"
