"""The ESD emulator's S3 stand-in: repeated completion, and no bytes left on disk once objects go.

The bytes of every object live in content-addressed files next to the SQLite file
(``<db>.esd-blobs/``); the metadata lives in the store. Issue 8 measured 39 such files left on disk
after a full destroy, and a second completion of a finished checkpoint upload answering
``400 InvalidPart``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from emulator import defaults
from tests.emulator.test_esd_contract import (
    BASE_MODEL,
    FAST,
    KEY,
    create_dataset,
    create_endpoint,
    training_body,
    upload_checkpoint,
    wait_for,
)
from tests.emulator_process import Emulator


@pytest.fixture
def esd(emulator: Emulator) -> Iterator[httpx.Client]:
    emulator.reset("esd")
    emulator.settings("esd", **FAST)
    with httpx.Client(base_url=f"{emulator.url}/esd/prod",
                      headers={"x-api-key": KEY, "username": defaults.ESD_USERNAME},
                      timeout=15) as client:
        yield client


def blob_files(emulator: Emulator) -> list[Path]:
    root = Path(str(emulator.db_path) + ".esd-blobs")
    return sorted(p for p in root.rglob("*") if p.is_file())


def test_completing_an_upload_twice_is_idempotent(esd: httpx.Client, emulator: Emulator) -> None:
    r = esd.post("/checkpoints", json={"checkpoint_type": "Lora", "params": {},
                                       "filenames": [{"filename": "twice.safetensors", "parts_number": 2}]})
    assert r.status_code == 201, r.text
    data = r.json()["data"]
    cid = data["checkpoint"]["id"]
    urls = data["s3PresignUrl"]["twice.safetensors"]
    tags = [{"ETag": httpx.put(u, content=c).headers["ETag"], "PartNumber": n}
            for n, (u, c) in enumerate(zip(urls, (b"first ", b"second")), start=1)]
    body = {"status": "Active", "multi_parts_tags": {"twice.safetensors": tags}}

    first = esd.put(f"/checkpoints/{cid}", json=body)
    assert first.status_code == 200, first.text
    again = esd.put(f"/checkpoints/{cid}", json=body)  # e.g. the client's retry after a lost reply
    assert again.status_code == 200, again.text
    assert again.json()["data"]["checkpoint"]["id"] == cid

    blob = next(b for b in emulator.objects("esd")["blob"].values() if b["key"].endswith("/twice.safetensors"))
    assert blob["size"] == len(b"first second")
    # A completion naming parts that were never uploaded is still refused.
    wrong = {"status": "Active", "multi_parts_tags": {"twice.safetensors": [{"ETag": '"00"', "PartNumber": 1}]}}
    r = esd.put(f"/checkpoints/{cid}", json=wrong)
    assert r.status_code == 400 and "InvalidPart" in r.json()["message"], r.text


def test_no_blob_files_on_disk_after_everything_is_deleted(esd: httpx.Client, emulator: Emulator) -> None:
    assert blob_files(emulator) == []  # a reset starts from an empty directory
    # Everything that writes bytes: checkpoint parts + completion, URL checkpoint, dataset files,
    # inference parameters and results, training input and output, an abandoned upload.
    create_endpoint(esd)
    base_id = upload_checkpoint(esd)
    r = esd.post("/checkpoints", json={"checkpoint_type": "VAE", "params": {"creator": "api"},
                                       "urls": ["https://example.com/models/vae.safetensors"]})
    assert r.status_code == 202, r.text
    url_ck = wait_for(lambda: [c["id"] for c in esd.get("/checkpoints").json()["data"]["checkpoints"]
                               if c["name"] == ["vae.safetensors"]])[0]
    r = esd.post("/checkpoints", json={"checkpoint_type": "Lora", "params": {},
                                       "filenames": [{"filename": "abandoned.safetensors", "parts_number": 2}]})
    abandoned = r.json()["data"]
    part_url = abandoned["s3PresignUrl"]["abandoned.safetensors"][0]
    assert httpx.put(part_url, content=b"never completed").status_code == 200
    create_dataset(esd)
    r = esd.post("/inferences", json={"task_type": "txt2img", "inference_type": "Async",
                                      "models": {"Stable-diffusion": [BASE_MODEL]}})
    inf = r.json()["data"]["inference"]
    params = b'{"prompt": "a cat", "batch_size": 2}'
    assert httpx.put(inf["api_params_s3_upload_url"], content=params).status_code == 200
    assert esd.put(f"/inferences/{inf['id']}/start").status_code == 202
    wait_for(lambda: esd.get(f"/inferences/{inf['id']}").json()["data"]["status"] == "succeed")
    r = esd.post("/trainings", json=training_body())
    assert r.status_code == 201, r.text
    train = r.json()["data"]
    wait_for(lambda: esd.get(f"/trainings/{train['id']}").json()["data"]["job_status"] == "Completed")
    assert len(blob_files(emulator)) >= 8

    # Delete everything the way a destroy does.
    def delete(path: str, **body: Any) -> None:
        r = esd.request("DELETE", path, json=body)
        assert r.status_code == 204, (path, r.text)

    delete("/inferences", inference_id_list=[inf["id"]])
    delete("/trainings", training_id_list=[train["id"]])
    delete("/checkpoints", checkpoint_id_list=[base_id, url_ck, train["id"], abandoned["checkpoint"]["id"]])
    delete("/datasets", dataset_name_list=["dataset_name"])
    endpoint_name = esd.get("/endpoints").json()["data"]["endpoints"][0]["endpoint_name"]
    delete("/endpoints", endpoint_name_list=[endpoint_name])

    left = emulator.objects("esd")
    assert not left.get("blob") and not left.get("upload"), left
    assert blob_files(emulator) == []
