"""workshop:ModelSync inputs at preview (every enum of the seed, the primary-file rule) and serialization."""

from __future__ import annotations

import base64
import copy
import os
import subprocess
import sys

import pytest
from pulumi.dynamic import Config
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.output import Unknown

from providers.core import DynamicProvider
from providers.workshop.model_sync import ModelSyncHandler, ModelSyncInputs
from tests.providers.test_workshop_lifecycle import demo, version


def failures(props):
    return {f.property: f.reason for f in DynamicProvider(ModelSyncHandler).check({}, props).failures}


def with_version(**changes):
    v = version()
    for path, value in changes.items():
        target = v
        *parents, leaf = path.split(".")
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        target[leaf] = value
    return demo(versions=[v])


@pytest.mark.parametrize("props, prop, words", [
    (demo(model_type="hypernetwork"), "model_type", "'checkpoint', 'lora', 'textualinversion' or 'vae'"),
    (demo(source_type="civitai"), "source_type", "'liblib', 'civitia', 'hugging_face' or 'internal'"),
    (with_version(base_model="sdxl"), "versions", "base_model: Input should be 'v1.4', 'v1.5'"),
    (demo(versions=[{**version(), "files": [version()["files"][0], {**version()["files"][0], "name": "b"}]}]),
     "versions", "can have only one file with is_primary=true (has 2)"),
    (demo(versions=[{**version(), "files": version()["files"] * 2}]), "versions", "(has 2)"),
    (with_version(**{"files.0.download_url": "ftp://x/y"}), "versions", "download_url"),
    (with_version(**{"files.0.size_kb": 0}), "versions", "greater than 0"),
    (with_version(**{"covers.0.cover_file.width": 0}), "versions", "greater than or equal to 1"),
    (with_version(covers=[]), "versions", "at least 1 item"),
    (with_version(files=[]), "versions", "at least 1 item"),
    (with_version(**{"files.0.alias_name": ""}), "versions", "alias_name"),
    (demo(versions=[version(), version()]), "versions", "model_version_id must be unique"),
    (demo(versions=[version(), version("v2")]), "versions", "version names must be unique"),
    (demo(versions=[]), "versions", "at least 1 item"),
    (demo(source="not a url"), "source", "should match pattern"),
    (demo(model_id=""), "model_id", "at least 1 character"),
    (demo(wait_timeout_s=0), "wait_timeout_s", "greater than or equal to 1"),
    (demo(modelType="lora"), "modelType", "is not a property"),
    ({k: v for k, v in demo().items() if k != "source_type"}, "source_type", "is required"),
])
def test_bad_input_names_the_property_and_the_rule(props, prop, words):
    found = failures(props)
    assert prop in found, found
    assert words in found[prop], found[prop]


def test_every_enum_value_of_the_seed_is_accepted():
    for model_type in ("checkpoint", "lora", "textualinversion", "vae"):
        for source_type in ("liblib", "civitia", "hugging_face", "internal"):
            assert failures(demo(model_type=model_type, source_type=source_type)) == {}
    for base in ("v1.4", "v1.5", "v2.0", "v2.1", "vxl_0.9", "vxl_1.0", "vxl_distilled", "v1.5_lcm", "vxl_1.0_lcm",
                 "vxl_turbo"):
        assert failures(with_version(base_model=base)) == {}


def test_unknowns_pass_at_preview_and_known_values_are_still_checked():
    p = DynamicProvider(ModelSyncHandler)
    assert p.check({}, {**demo(), "name": Unknown(), "versions": Unknown()}).failures == []
    bad = p.check({}, {**demo(model_type="hypernetwork"), "versions": Unknown()})
    assert [f.property for f in bad.failures] == ["model_type"]


def test_the_wire_body_is_the_seeds_json_body():
    seed_keys = {"modelId", "name", "modelType", "modelDesc", "source", "sourceType", "isOriginal", "originalCreator",
                 "originalCreatorHomepage", "versions"}
    full = demo(model_desc="<p>d</p>", source="https://x/y", original_creator="c",
                original_creator_homepage="https://x/c", versions=[{**version(), "version_desc": "<p>v</p>",
                                                                    "is_auto_collection": True}])
    body = ModelSyncInputs.model_validate(DynamicProvider(ModelSyncHandler).check({}, full).inputs).wire()
    assert set(body) == seed_keys  # local knobs never go on the wire
    v = body["versions"][0]
    assert set(v) == {"modelVersionId", "name", "baseModel", "versionDesc", "triggerWords", "isAutoCollection",
                      "covers", "files"}
    assert v["covers"][0] == {"cover": "https://models.example.com/demo.jpeg",
                              "coverFile": {"width": 512, "height": 512, "format": "jpeg"}}
    assert set(v["files"][0]) == {"name", "aliasName", "downloadUrl", "hash", "sizeKb", "isPrimary"}
    minimal = ModelSyncInputs.model_validate(DynamicProvider(ModelSyncHandler).check({}, demo()).inputs).wire()
    assert "modelDesc" not in minimal and "source" not in minimal  # unset optional fields are left out


def test_numbers_that_crossed_the_wire_as_doubles_are_not_a_change():
    p = DynamicProvider(ModelSyncHandler)
    inputs = p.check({}, demo()).inputs
    wire = copy.deepcopy(inputs)
    wire["wait_timeout_s"] = 1800.0
    wire["versions"][0]["covers"][0]["cover_file"]["width"] = 512.0
    wire = {k: v for k, v in wire.items() if v is not None}
    assert p.diff("demo-1", inputs, wire).changes is False


def test_provider_serializes_by_reference_without_secrets(monkeypatch):
    monkeypatch.setenv("WORKSHOP_APP_SECRET", "TOPSECRETWORKSHOP")
    p = DynamicProvider(ModelSyncHandler)
    first = serialize_provider(p)
    p.configure(type("Req", (), {"config": Config({"workshop:appKey": "k", "workshop:apiToken": "TOPSECRETTOKEN"},
                                                  "aimodels")})())
    assert p.impl is not None
    assert serialize_provider(p) == first
    raw = base64.b64decode(first)
    assert b"TOPSECRET" not in raw and b"providers.workshop.model_sync" in raw and len(raw) < 400


def test_serialization_is_identical_across_processes():
    script = ("from pulumi.dynamic.dynamic import serialize_provider;"
              "from providers.core import DynamicProvider;"
              "from providers.workshop.model_sync import ModelSyncHandler;"
              "print(serialize_provider(DynamicProvider(ModelSyncHandler)))")
    runs = [subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": seed}).stdout for seed in ("1", "2")]
    assert runs[0] == runs[1] and runs[0].strip()


def test_type_token():
    from providers import workshop

    assert workshop.ModelSync._resource_type_name == "dynamic/workshop:ModelSync"
