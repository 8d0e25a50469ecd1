"""The vendors' official Python SDKs, unmodified, against the emulator: each platform at the root
of its own port (``aimodels-emulator --pai-port ... --fabric-port ...``), full model/version
lifecycles. Not run by default; needs the ``sdk`` extra:

    .venv/bin/pip install -c requirements.lock -e '.[sdk]'
    bash scripts/test.sh tests/sdk -m sdk
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

import pytest

from emulator import defaults
from tests.sdk.conftest import PortsEmulator

T = TypeVar("T")

PAI_AK, PAI_SK = defaults.PAI_ACCESS_KEY_ID, defaults.PAI_ACCESS_KEY_SECRET
FABRIC_AK, FABRIC_SK = defaults.FABRIC_ACCESS_KEY, defaults.FABRIC_SECRET_KEY
FABRIC_PROJECT = defaults.FABRIC_PROJECT_ID
WORKSPACE = "emulator-workspace"


def _eventually(fn: Callable[[], T | None], what: str, timeout_s: float = 20) -> T:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"{what} did not happen within {timeout_s} s")


def test_pai_sdk_model_and_version_lifecycle(ports_emulator: PortsEmulator) -> None:
    pytest.importorskip("alibabacloud_aiworkspace20210204", reason="pip install -e '.[sdk]'")
    from alibabacloud_aiworkspace20210204 import models as m
    from alibabacloud_aiworkspace20210204.client import Client
    from alibabacloud_tea_openapi import models as open_api

    host = ports_emulator.root_url("pai").removeprefix("http://")
    client = Client(open_api.Config(access_key_id=PAI_AK, access_key_secret=PAI_SK, endpoint=host,
                                    protocol="http", region_id="cn-hangzhou"))

    created = client.create_model(m.CreateModelRequest(
        model_name="sdk-sd", domain="aigc", task="text-to-image-synthesis",
        labels=[m.Label(key="team", value="imaging")]))
    assert created.status_code == 200
    model_id = created.body.model_id
    got = client.get_model(model_id, m.GetModelRequest()).body
    assert (got.model_name, got.domain) == ("sdk-sd", "aigc")
    assert {(label.key, label.value) for label in got.labels} == {("team", "imaging")}

    client.update_model(model_id, m.UpdateModelRequest(model_name="sdk-sd-2", model_description="renamed"))
    client.create_model_labels(model_id, m.CreateModelLabelsRequest(labels=[m.Label(key="stage", value="dev")]))
    got = client.get_model(model_id, m.GetModelRequest()).body
    assert (got.model_name, got.model_description) == ("sdk-sd-2", "renamed")
    assert {label.key for label in got.labels} == {"team", "stage"}
    listed = client.list_models(m.ListModelsRequest(model_name="sdk-sd-2")).body
    assert model_id in [x.model_id for x in listed.models]

    uri = "oss://bucket.oss-cn-hangzhou.aliyuncs.com/sd/1.0.0/"
    version = client.create_model_version(model_id, m.CreateModelVersionRequest(
        version_name="1.0.0", uri=uri, format_type="SavedModel", framework_type="Pytorch")).body
    assert version.version_name == "1.0.0"
    client.update_model_version(model_id, "1.0.0", m.UpdateModelVersionRequest(approval_status="Approved"))
    v = client.get_model_version(model_id, "1.0.0", m.GetModelVersionRequest()).body
    assert (v.uri, v.approval_status, v.format_type) == (uri, "Approved", "SavedModel")
    versions = client.list_model_versions(model_id, m.ListModelVersionsRequest()).body
    assert [x.version_name for x in versions.versions] == ["1.0.0"]

    client.delete_model_version(model_id, "1.0.0", m.DeleteModelVersionRequest())
    client.delete_model(model_id, m.DeleteModelRequest())
    from Tea.exceptions import TeaException

    with pytest.raises(TeaException) as gone:
        client.get_model(model_id, m.GetModelRequest())
    assert gone.value.code == "201900002"  # the SDK parsed the vendor's error envelope
    assert model_id not in str(ports_emulator.objects("pai"))


def test_fabric_sdk_model_and_version_lifecycle(ports_emulator: PortsEmulator) -> None:
    pytest.importorskip("huaweicloudsdkdataartsfabric", reason="pip install -e '.[sdk]'")
    from huaweicloudsdkcore.auth.credentials import BasicCredentials
    from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
    from huaweicloudsdkdataartsfabric.v1 import (
        CleanupModelRequest,
        CreateModelDefinitionRequest,
        CreateModelInput,
        DataArtsFabricClient,
        DeleteModelVersionRequest,
        ListBaseModelsRequest,
        ListModelsRequest,
        ListModelVersionsRequest,
        LlmModelConfig,
        ModelConfig,
        ModelVersionInput,
        UpdateModelDefinitionRequest,
        UpdateModelInput,
    )

    ports_emulator.settings("fabric", create_delay_s=0.2, version_delay_s=0.2)
    client = (DataArtsFabricClient.new_builder()
              .with_credentials(BasicCredentials(FABRIC_AK, FABRIC_SK, FABRIC_PROJECT))
              .with_endpoints([ports_emulator.root_url("fabric")])
              .build())

    def version(name: str) -> ModelVersionInput:
        return ModelVersionInput(name=name, config=ModelConfig(llm_model_config=LlmModelConfig(
            base_model_type="QWEN2_5_7B", model_path=f"obs://sdk-bucket/chat/{name}/")))

    base = client.list_base_models(ListBaseModelsRequest())
    assert "QWEN2_5_7B" in [b.base_model_type for b in base.models]

    created = client.create_model_definition(CreateModelDefinitionRequest(
        workspace_id=WORKSPACE, body=CreateModelInput(name="sdk-chat", description="chat", type="LLM_MODEL",
                                                      version=version("v1"))))
    model_id, v1_id = created.id, created.version_id

    def listed() -> Any:
        found = client.list_models(ListModelsRequest(workspace_id=WORKSPACE, id=model_id)).models
        return found[0] if found else None

    model = _eventually(listed, "the created model showing in ListModels")
    assert (model.name, model.current_version.id) == ("sdk-chat", v1_id)

    client.update_model_definition(UpdateModelDefinitionRequest(
        workspace_id=WORKSPACE, model_id=model_id, body=UpdateModelInput(version=version("v2"))))

    def versions() -> dict[str, str]:
        found = client.list_model_versions(ListModelVersionsRequest(workspace_id=WORKSPACE, model_id=model_id))
        return {v.name: v.id for v in found.versions or []}

    both = _eventually(lambda: versions() if len(versions()) == 2 else None, "version v2 showing")
    client.update_model_definition(UpdateModelDefinitionRequest(
        workspace_id=WORKSPACE, model_id=model_id,
        body=UpdateModelInput(description="chat, renamed", current_version_id=v1_id)))
    model = listed()
    assert (model.description, model.current_version.id) == ("chat, renamed", v1_id)

    client.delete_model_version(DeleteModelVersionRequest(workspace_id=WORKSPACE, model_id=model_id,
                                                          version_id=both["v2"]))
    _eventually(lambda: set(versions()) == {"v1"} or None, "version v2 gone")

    client.cleanup_model(CleanupModelRequest(workspace_id=WORKSPACE, model_id=model_id))
    assert listed() is None
    with pytest.raises(ClientRequestException) as gone:
        client.update_model_definition(UpdateModelDefinitionRequest(
            workspace_id=WORKSPACE, model_id=model_id, body=UpdateModelInput(description="x")))
    assert gone.value.error_code == "dataartsfabric.00010009"  # the SDK parsed the vendor's error envelope
