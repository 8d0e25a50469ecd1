"""ZStack auth, checked against values derived by hand from spec §2 (not by the code under test).

Worked example (spec §2.2): AccessKeyId ``AKIDEXAMPLE``, secret ``SECRETEXAMPLE``,
``GET http://10.0.0.5:8080/zstack/v1/ai/models?q=name=qwen`` at Tue, 01 Dec 2026 10:00:00 UTC.

1. ``Date: Tue, 01 Dec 2026 10:00:00 GMT``
2. string to sign = ``GET`` LF ``Tue, 01 Dec 2026 10:00:00 GMT`` LF ``/v1/ai/models``
   (the path from ``/v1`` on: no context path, no query string)
3. signature = base64(HMAC-SHA1("SECRETEXAMPLE", that string)), computed with
   ``printf 'GET\\nTue, 01 Dec 2026 10:00:00 GMT\\n/v1/ai/models' |
   openssl dgst -sha1 -hmac SECRETEXAMPLE -binary | base64`` = ``C7ZQCONX6+YQ6Am6fnCeXA7x8C4=``
4. ``Authorization: ZStack AKIDEXAMPLE:C7ZQCONX6+YQ6Am6fnCeXA7x8C4=``

The same way: a job poll ``GET .../zstack/v1/api-jobs/0123456789abcdef0123456789abcdef`` at
Wed, 02 Dec 2026 08:30:05 GMT → ``Y/kb+lehiauqXW84BSII12uA9P0=``; ``DELETE
.../zstack/v1/ai/models/00000000000000000000000000000abc?deleteMode=Permissive`` at the first date →
``s2Xv5mn6RJlihBs/JkpFC+Ug3Vw=``.

Password (spec §2.1): ``printf 'Passw0rd!' | sha512sum`` = ``a1d9a9e9...bff689`` (below).
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

import httpx
import pytest

from providers.zstack.auth import AccessKeyAuth, password_digest, string_to_sign
from providers.zstack.client import ZStackClient, ZStackSettings

PASSW0RD_SHA512 = ("a1d9a9e99e70ece06f6ef5782627cac869db9754ac6dfab01ff47900def77f58"
                   "1b562e6f82be47887ff9c0d58e2f0a622d396a472f07caea2ddaf83c77bff689")
DEC1 = datetime(2026, 12, 1, 10, 0, 0, tzinfo=timezone.utc)
DEC2 = datetime(2026, 12, 2, 8, 30, 5, 123456, tzinfo=timezone.utc)


def signed(method: str, url: str, when: datetime) -> httpx.Request:
    auth = AccessKeyAuth("AKIDEXAMPLE", "SECRETEXAMPLE", clock=lambda: when)
    flow = auth.auth_flow(httpx.Request(method, url))
    return next(flow)


@pytest.mark.parametrize("method, url, when, date, signature", [
    ("GET", "http://10.0.0.5:8080/zstack/v1/ai/models?q=name=qwen", DEC1, "Tue, 01 Dec 2026 10:00:00 GMT",
     "C7ZQCONX6+YQ6Am6fnCeXA7x8C4="),
    ("GET", "http://10.0.0.5:8080/zstack/v1/api-jobs/0123456789abcdef0123456789abcdef", DEC2,
     "Wed, 02 Dec 2026 08:30:05 GMT", "Y/kb+lehiauqXW84BSII12uA9P0="),
    ("DELETE", "http://10.0.0.5:8080/zstack/v1/ai/models/00000000000000000000000000000abc?deleteMode=Permissive",
     DEC1, "Tue, 01 Dec 2026 10:00:00 GMT", "s2Xv5mn6RJlihBs/JkpFC+Ug3Vw="),
])
def test_access_key_worked_examples(method, url, when, date, signature):
    request = signed(method, url, when)
    assert request.headers["Date"] == date
    assert request.headers["Authorization"] == f"ZStack AKIDEXAMPLE:{signature}"


def test_string_to_sign_drops_context_path_and_query():
    assert string_to_sign("get", "D", "/zstack/v1/ai/models") == "GET\nD\n/v1/ai/models"
    assert string_to_sign("PUT", "D", "/v1/ai/models/x") == "PUT\nD\n/v1/ai/models/x"


def test_password_is_sent_as_sha512_hex():
    assert password_digest("Passw0rd!") == PASSW0RD_SHA512


def test_login_sends_the_digest_and_then_oauth(emulator, mocker):
    """Observed on the wire to the emulator: the login body, then the OAuth header."""
    emulator.reset("zstack")
    emulator.settings("zstack", accounts={"admin": "Passw0rd!"})
    settings = ZStackSettings.load(None, {"ZSTACK_ENDPOINT": f"{emulator.url}/zstack", "ZSTACK_ACCOUNT_NAME": "admin",
                                          "ZSTACK_ACCOUNT_PASSWORD": "Passw0rd!"})
    client = ZStackClient(settings)
    sent = mocker.spy(client.http._transport, "handle_request")
    assert client.query("QueryModel", "/v1/ai/models") == []
    login, query = (c.args[0] for c in sent.call_args_list)
    assert (login.method, login.url.path) == ("PUT", "/zstack/v1/accounts/login")
    assert json.loads(login.content) == {"logInByAccount": {"accountName": "admin", "password": PASSW0RD_SHA512}}
    assert b"Passw0rd!" not in login.content
    assert query.headers["Authorization"] == f"OAuth {client.auth.session}"
    emulator.reset("zstack")


def test_settings_from_host_and_port_or_endpoint():
    s = ZStackSettings.load(None, {"ZSTACK_HOST": "10.0.0.5", "ZSTACK_ACCOUNT_NAME": "admin",
                                   "ZSTACK_ACCOUNT_PASSWORD": "pw"})
    assert s.base_url == "http://10.0.0.5:8080/zstack" and "pw" in s.secrets()
    assert password_digest("pw") in s.secrets()
    assert "pw" not in repr(s)
    s = ZStackSettings.load(None, {"ZSTACK_ENDPOINT": "https://mn.example/zstack/", "ZSTACK_ACCESS_KEY_ID": "a",
                                   "ZSTACK_ACCESS_KEY_SECRET": "b"})
    assert s.base_url == "https://mn.example/zstack" and isinstance(s.auth(), AccessKeyAuth)
