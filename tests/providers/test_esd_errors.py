"""Error text and retry behaviour against the emulator, with faults injected through its admin API."""

from __future__ import annotations

import pytest

from providers.core import NotFoundError, ResourceError
from providers.esd.endpoint import EndpointHandler
from providers.esd.role import RoleHandler
from providers.esd.user import UserHandler
from tests.providers.support import API_KEY, checked, esd_config, provider

ROLE = {"name": "faulty", "permissions": ["inference:all"]}


@pytest.fixture
def esd(emulator):
    emulator.reset("esd")
    return esd_config(emulator)


def no_sleep(p, mocker):
    return mocker.patch.object(p.impl.client, "_sleep")


def one_line(exc: BaseException) -> str:
    text = str(exc)
    assert "\n" not in text
    assert API_KEY not in text
    return text


def test_bad_api_key_is_403_forbidden_without_the_key(emulator):
    p = provider(RoleHandler, esd_config(emulator, **{"esd:apiKey": "WRONGKEY000000000000"}))
    with pytest.raises(ResourceError) as err:
        p.create(checked(p, ROLE))
    text = one_line(err.value)
    assert "HTTP 403" in text and "Forbidden" in text and "WRONGKEY" not in text


def test_unknown_user_is_401(emulator):
    p = provider(RoleHandler, esd_config(emulator, **{"esd:username": "ghost"}))
    with pytest.raises(ResourceError) as err:
        p.create(checked(p, ROLE))
    assert "HTTP 401" in one_line(err.value) and "Unauthorized" in str(err.value)


def test_missing_permission_is_403_with_vendor_message(esd, emulator):
    roles = provider(RoleHandler, esd)
    roles.create(checked(roles, {"name": "viewer", "permissions": ["inference:all"]}))
    users = provider(UserHandler, esd)
    users.create(checked(users, {"username": "limited", "password": "pw", "roles": ["viewer"]}))
    p = provider(RoleHandler, esd_config(emulator, **{"esd:username": "limited"}))
    with pytest.raises(ResourceError) as err:
        p.create(checked(p, ROLE))
    text = one_line(err.value)
    assert "HTTP 403" in text and "User limited has no permissions" in text and "esd:Role faulty create" in text


def test_not_found_is_typed(esd):
    p = provider(RoleHandler, esd)
    with pytest.raises(NotFoundError) as err:
        p.impl.client.update_checkpoint("no-such-id", {"name": "x"})
    assert err.value.status == 404 and "checkpoint not found" in str(err.value)


def test_reads_retry_5xx_with_backoff(esd, emulator, mocker):
    p = provider(RoleHandler, esd)
    created = p.create(checked(p, ROLE))
    sleep = no_sleep(p, mocker)
    send = mocker.spy(p.impl.client.http, "send")
    emulator.arm_fault("esd", method="GET", path="/prod/roles", status=503, message="Service Unavailable", times=2)
    assert p.read(created.id, created.outs).id == "faulty"
    assert send.call_count == 3 and sleep.call_count == 2
    p.delete(created.id, created.outs)


def test_retry_after_is_honoured(esd, emulator, mocker):
    p = provider(RoleHandler, esd)
    sleep = no_sleep(p, mocker)
    emulator.arm_fault("esd", method="GET", path="/prod/roles", status=429, message="Too Many Requests",
                       headers={"Retry-After": "2"}, times=1)
    assert p.impl.client.get_role("IT Operator") is not None
    sleep.assert_called_once_with(2.0)


def test_gives_up_after_the_attempt_budget(esd, emulator, mocker):
    p = provider(RoleHandler, esd)
    no_sleep(p, mocker)
    emulator.arm_fault("esd", method="GET", path="/prod/roles", status=502, message="Bad Gateway", times=-1)
    with pytest.raises(Exception) as err:
        p.impl.client.get_role("x")
    assert "HTTP 502" in one_line(err.value)


def test_non_idempotent_post_is_never_sent_again_without_looking_first(esd, emulator, mocker):
    p = provider(EndpointHandler, esd)
    no_sleep(p, mocker)
    send = mocker.spy(p.impl.client.http, "send")
    emulator.arm_fault("esd", method="POST", path="/prod/endpoints", status=500, message="boom", times=-1)
    with pytest.raises(ResourceError) as err:
        p.create(checked(p, {"name": "once", "endpoint_type": "Async", "instance_type": "ml.g5.2xlarge",
                             "assign_to_roles": ["IT Operator"]}))
    assert "HTTP 500" in one_line(err.value)
    methods = [c.args[0].method for c in send.call_args_list]
    # three sends at most, each followed by a look for what it may have made before sending again
    assert methods == ["POST", "GET", "POST", "GET", "POST", "GET"]


def test_dropped_create_reply_is_recovered_without_a_duplicate(esd, emulator, mocker):
    p = provider(EndpointHandler, esd)
    no_sleep(p, mocker)
    emulator.arm_fault("esd", method="POST", path="/prod/endpoints", drop_response=True, times=1)
    inputs = checked(p, {"name": "dropped", "endpoint_type": "Async", "instance_type": "ml.g5.2xlarge",
                         "assign_to_roles": ["IT Operator"]})
    created = p.create(inputs)
    assert created.outs["endpoint_name"] == "esd-async-dropped" and created.outs["status"] == "InService"
    endpoints = [e for e in p.impl.client.iter_endpoints() if e["endpoint_name"] == "esd-async-dropped"]
    assert len(endpoints) == 1
    p.delete(created.id, created.outs)


def test_connection_refused_is_one_line_transport_error(mocker):
    sleep = mocker.patch("providers.core.runtime.sleep")
    p = provider(RoleHandler, {"esd:apiUrl": "http://127.0.0.1:9/esd/prod", "esd:apiKey": API_KEY})
    with pytest.raises(ResourceError) as err:
        p.create(checked(p, ROLE))
    text = one_line(err.value)
    # the connection check (ping) is what fails, after the retry budget
    assert "esd Ping: GET /esd/prod/ping on 127.0.0.1:9 failed without a response" in text and "ConnectError" in text
    assert sleep.call_count == 4


def test_upsert_post_is_retried_after_a_dropped_reply(esd, emulator, mocker):
    p = provider(RoleHandler, esd)
    no_sleep(p, mocker)
    emulator.arm_fault("esd", method="POST", path="/prod/roles", drop_response=True, times=1)
    created = p.create(checked(p, ROLE))
    assert created.id == "faulty"
    p.delete(created.id, created.outs)
