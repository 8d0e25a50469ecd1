"""Issue 18.6: the PAI emulator reads ``x-acs-*`` header values as the UTF-8 the signer signed.

The server hands header bytes over as latin-1 text; the emulator used to sign over that text, so a
non-ASCII value signed by the project's own ``AcsV3Auth`` (which signs the UTF-8 text) was refused
with SignatureDoesNotMatch. Fabric had the same fault (tests/emulator/test_fabric_sdk_signing.py).
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from emulator import defaults
from providers.pai.auth import AcsV3Auth
from tests.emulator_process import Emulator

AK = defaults.PAI_ACCESS_KEY_ID
SK = defaults.PAI_ACCESS_KEY_SECRET


@pytest.fixture
def client(emulator: Emulator) -> Iterator[httpx.Client]:
    emulator.reset("pai")
    with httpx.Client(base_url=emulator.url, auth=AcsV3Auth(AK, SK), timeout=10) as c:
        yield c
    emulator.reset("pai")


@pytest.mark.parametrize("value", ["café crème", "模型 注释", "ascii only"])
def test_non_ascii_acs_header_signed_by_the_project_signer_is_accepted(client: httpx.Client, value: str) -> None:
    # httpx sends str header values as ASCII only; the UTF-8 bytes are what a client puts on the wire.
    headers = {"x-acs-client-note": value.encode("utf-8")}
    r = client.get("/pai/api/v1/models", headers=headers, extensions={"acs_action": "ListModels"})
    assert r.status_code == 200, r.text
    assert "Models" in r.json()


def test_non_ascii_header_still_checked(client: httpx.Client) -> None:
    """A value changed after signing is refused, so the check still covers the decoded text."""
    request = client.build_request("GET", "/pai/api/v1/models", headers={"x-acs-client-note": "café".encode()},
                                   extensions={"acs_action": "ListModels"})
    AcsV3Auth(AK, SK).sign_request(request)
    request.headers["x-acs-client-note"] = "cafè"  # same encoding as the rest of the headers (UTF-8)
    with httpx.Client(base_url=str(client.base_url), timeout=10) as plain:
        r = plain.send(request)
    assert r.status_code == 400, r.text
    assert r.json()["Code"] == "SignatureDoesNotMatch"
