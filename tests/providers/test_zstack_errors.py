"""ZStack error text, expired sessions and faults (lost replies, outages, slow jobs), against the emulator."""

from __future__ import annotations

import pytest

from providers.core import CreatedButFailed, NotFoundError, ResourceError, runtime
from providers.zstack.auth import password_digest
from providers.zstack.model import ModelHandler
from providers.zstack.model_center import ModelCenterHandler
from tests.providers.support import checked
from tests.providers.support import provider as configured
from tests.providers.test_zstack_lifecycle import CENTER, QUICK_JOB_S, model_props, session_config


@pytest.fixture
def zstack(emulator):
    emulator.reset("zstack")
    emulator.settings("zstack", job_delay_s=QUICK_JOB_S)  # the slow-job tests below set their own
    yield session_config(emulator)
    left = {k: v for k, v in emulator.objects("zstack").items() if k in ("model", "model_center") and v}
    assert left == {}


def one_line(exc: BaseException, *secrets: str) -> str:
    text = str(exc)
    assert "\n" not in text
    for secret in secrets:
        assert secret not in text
    return text


def no_sleep(p, mocker):
    return mocker.patch.object(p.impl.client, "_sleep")


def test_wrong_password_is_one_line_without_the_password(emulator, zstack):
    p = configured(ModelCenterHandler, {**zstack, "zstack:accountPassword": "Wrong-Passw0rd"})
    with pytest.raises(ResourceError) as err:
        p.create(checked(p, CENTER))
    text = one_line(err.value, "Wrong-Passw0rd", password_digest("Wrong-Passw0rd"))
    assert text.startswith("zstack:ModelCenter mc-1 create failed: zstack AddModelCenter (login): "
                           "PUT /zstack/v1/accounts/login returned HTTP 503: ID.1000: Authentication error")


def test_missing_model_center_is_sys_1003_in_one_line(zstack):
    p = configured(ModelHandler, zstack)
    with pytest.raises(ResourceError) as err:
        p.create(checked(p, model_props("f" * 32)))
    text = one_line(err.value, "download-token-123")
    assert "zstack:Model Qwen 1.5 32B create failed: zstack AddModel (job " in text
    assert "POST /zstack/v1/ai/models returned HTTP 503: SYS.1003: Resource not found: " \
           f"Unable to find ModelCenterVO[uuid:{'f' * 32}]" in text


def test_plain_text_framework_error(emulator):
    p = configured(ModelCenterHandler, {**session_config(emulator), "zstack:endpoint": f"{emulator.url}/zstack/v2"})
    with pytest.raises(ResourceError) as err:
        p.create(checked(p, CENTER))
    assert "HTTP 404: no api mapping to /zstack/v2/v1/accounts/login" in one_line(err.value)


def test_incomplete_config_names_the_keys(emulator):
    p = configured(ModelCenterHandler, {"zstack:endpoint": f"{emulator.url}/zstack", "zstack:accountName": "admin"})
    with pytest.raises(ResourceError) as err:
        p.create(checked(p, CENTER))
    assert "zstack:accountName and zstack:accountPassword go together" in one_line(err.value)


def test_expired_session_is_renewed_once_for_queries_and_jobs(zstack, emulator):
    p = configured(ModelCenterHandler, zstack)
    created = p.create(checked(p, CENTER))
    auth = p.impl.client.auth
    before = auth.logins
    emulator.remove("zstack", "session", auth.session)  # the session expires behind our back
    assert p.read(created.id, created.outs).id == created.id  # sync: 503 ID.1001, login, same GET again
    assert auth.logins == before + 1
    emulator.remove("zstack", "session", auth.session)
    news = checked(p, {**CENTER, "description": "renewed"})
    outs = p.update(created.id, created.outs, news).outs  # async: the job fails ID.1001, login, submit again
    assert auth.logins == before + 2
    assert emulator.objects("zstack")["model_center"][created.id]["description"] == "renewed"
    p.delete(created.id, outs)


def test_a_session_that_stays_invalid_is_not_retried_forever(zstack, emulator, mocker):
    p = configured(ModelCenterHandler, zstack)
    created = p.create(checked(p, CENTER))
    no_sleep(p, mocker)
    emulator.settings("zstack", session_timeout_s=0)  # every new session is born expired
    emulator.remove("zstack", "session", p.impl.client.auth.session)
    with pytest.raises(ResourceError) as err:
        p.update(created.id, created.outs, checked(p, {**CENTER, "description": "x"}))
    assert "ID.1001" in one_line(err.value)
    emulator.settings("zstack", session_timeout_s=7200)
    p.impl.client.auth.expire()
    p.delete(created.id, created.outs)


def test_lost_create_reply_follows_the_same_job(zstack, emulator, mocker):
    centers = configured(ModelCenterHandler, zstack)
    center = centers.create(checked(centers, CENTER))
    p = configured(ModelHandler, zstack)
    p.impl.client.query("warm-up", "/v1/ai/models")  # log in first, so only model calls are counted
    no_sleep(p, mocker)
    send = mocker.spy(p.impl.client.http, "send")
    emulator.arm_fault("zstack", method="POST", path="/v1/ai/models", drop_response=True, times=1)
    created = p.create(checked(p, model_props(center.id, model_service_uuids=[], default_model_service_uuid=None)))
    posts = [c.args[0] for c in send.call_args_list if c.args[0].method == "POST"]
    assert len(posts) == 2 and posts[0].headers["X-Job-UUID"] == posts[1].headers["X-Job-UUID"]
    assert list(emulator.objects("zstack")["model"]) == [created.id]
    p.delete(created.id, created.outs)
    centers.delete(center.id, center.outs)


def test_every_create_reply_lost_still_one_object(zstack, emulator, mocker):
    p = configured(ModelCenterHandler, zstack)
    no_sleep(p, mocker)
    emulator.arm_fault("zstack", method="POST", path="/v1/ai/model-centers", drop_response=True, times=-1)
    created = p.create(checked(p, CENTER))
    emulator.clear_faults()
    assert list(emulator.objects("zstack")["model_center"]) == [created.id]
    p.delete(created.id, created.outs)


def test_create_that_never_arrived_fails_cleanly(zstack, emulator, mocker):
    p = configured(ModelCenterHandler, {**zstack, "zstack:endpoint": "http://127.0.0.1:9/zstack"})
    mocker.patch.object(p.impl.client, "_sleep")
    p.impl.client.auth._session = "0" * 32  # skip the login: the model call itself finds no server
    with pytest.raises(ResourceError) as err:
        p.create(checked(p, CENTER))
    assert "failed without a response" in one_line(err.value) and "ConnectError" in str(err.value)


def test_job_polls_ride_out_an_outage(zstack, emulator, mocker):
    p = configured(ModelCenterHandler, zstack)
    no_sleep(p, mocker)
    emulator.arm_fault("zstack", method="GET", path="/v1/api-jobs/.*", status=502, message="Bad Gateway", times=7)
    created = p.create(checked(p, CENTER))
    assert emulator.objects("zstack")["model_center"][created.id]["name"] == "mc-1"
    p.delete(created.id, created.outs)


def test_slow_job_is_created_but_failed_with_a_cleanup(zstack, emulator, monkeypatch):
    monkeypatch.setattr(runtime, "partial_state_supported", True)  # as under the project's server
    emulator.settings("zstack", job_delay_s=1.5)
    p = configured(ModelCenterHandler, zstack)
    with pytest.raises(ResourceError) as err:
        p.create(checked(p, {**CENTER, "wait_timeout_s": 1}))
    failed = err.value.cause
    assert isinstance(failed, CreatedButFailed) and len(failed.id) == 32
    assert "may still finish" in failed.message
    emulator.settings("zstack", job_delay_s=QUICK_JOB_S)  # the create job keeps its 1.5 s; the delete's is quick
    failed.cleanup()  # waits for the create job, then deletes what it made
    assert emulator.objects("zstack").get("model_center", {}) == {}


def test_slow_job_under_the_stock_server_is_cleaned_up(zstack, emulator, monkeypatch, mocker):
    monkeypatch.setattr(runtime, "partial_state_supported", False)
    emulator.settings("zstack", job_delay_s=1.5)
    p = configured(ModelCenterHandler, zstack)
    real_call = p.impl.client.call

    def quick_delete(operation, method, *args, **kw):  # the create job keeps its 1.5 s; the cleanup's delete is quick
        if method == "DELETE":
            emulator.settings("zstack", job_delay_s=QUICK_JOB_S)
        return real_call(operation, method, *args, **kw)

    deletes = mocker.patch.object(p.impl.client, "call", side_effect=quick_delete)
    with pytest.raises(ResourceError) as err:
        p.create(checked(p, {**CENTER, "wait_timeout_s": 1}))
    assert "was removed again" in str(err.value)
    assert [c.args[1] for c in deletes.call_args_list] == ["POST", "DELETE"]
    assert emulator.objects("zstack").get("model_center", {}) == {}


def test_delete_of_a_vanished_object_is_done_either_way(zstack, emulator):
    p = configured(ModelCenterHandler, zstack)
    created = p.create(checked(p, CENTER))
    emulator.remove("zstack", "model_center", created.id)
    p.delete(created.id, created.outs)  # the server answers success (successIfResourceNotExisting)
    emulator.settings("zstack", delete_missing_succeeds=False)
    with pytest.raises(NotFoundError) as err:  # the job now fails with SYS.1003 ...
        p.impl.client.call("DeleteModelCenter", "DELETE", f"/v1/ai/model-centers/{created.id}", timeout_s=30)
    assert err.value.code == "SYS.1003"
    p.delete(created.id, created.outs)  # ... which the delete treats as already gone
    assert p.read(created.id, created.outs).id is None


# -- issue 18: faults that used to leave orphans and duplicates -----------------------------------
def test_one_503_in_zstacks_envelope_on_a_job_poll_is_not_the_verdict(zstack, emulator, mocker):
    p = configured(ModelCenterHandler, zstack)
    no_sleep(p, mocker)
    emulator.arm_fault("zstack", method="GET", path="/v1/api-jobs/.*", status=503, code="SYS.1000",
                       message="management node busy", times=1)
    created = p.create(checked(p, CENTER))  # the next poll disagrees with the 503: the job goes on
    assert list(emulator.objects("zstack")["model_center"]) == [created.id]
    p.delete(created.id, created.outs)


@pytest.mark.parametrize("partial", [True, False], ids=["project-server", "stock-server"])
def test_a_create_whose_polls_all_fail_is_found_by_its_chosen_uuid(zstack, emulator, mocker, monkeypatch, partial):
    monkeypatch.setattr(runtime, "partial_state_supported", partial)
    p = configured(ModelCenterHandler, zstack)
    p.impl.client.query("warm-up", "/v1/ai/model-centers")  # a live session (the client is shared across tests)
    no_sleep(p, mocker)
    # two 503s in ZStack's envelope in a row: the poll takes them for the job's verdict
    emulator.arm_fault("zstack", method="GET", path="/v1/api-jobs/.*", status=503, code="SYS.1000",
                       message="management node busy", times=2)
    uid = "00112233445566778899aabbccddeeff"
    with pytest.raises(ResourceError) as err:
        p.create(checked(p, {**CENTER, "resource_uuid": uid}))
    emulator.clear_faults()
    if partial:  # recorded with its id: the next up replaces it, destroy removes it
        failed = err.value.cause
        assert isinstance(failed, CreatedButFailed) and failed.id == uid
        assert f"yet {uid} was created" in failed.message and failed.outputs.status == "Connected"
        assert list(emulator.objects("zstack")["model_center"]) == [uid]
        failed.cleanup()
    else:  # the stock server cannot record it: it is removed again
        assert "was removed again" in str(err.value)
    assert emulator.objects("zstack").get("model_center", {}) == {}


def test_a_failed_create_that_made_nothing_stays_a_plain_failure(zstack, emulator, mocker):
    p = configured(ModelHandler, zstack)
    query = mocker.spy(p.impl.client, "get")
    with pytest.raises(ResourceError) as err:
        p.create(checked(p, model_props("f" * 32, model_service_uuids=[], default_model_service_uuid=None)))
    assert not isinstance(err.value.cause, CreatedButFailed) and "SYS.1003" in str(err.value)
    assert len(query.call_args_list) == 1  # the chosen uuid was looked up once, and not found


@pytest.mark.parametrize("status", [429, 500, 503])
def test_the_login_gets_the_clients_retries(zstack, emulator, mocker, status):
    p = configured(ModelCenterHandler, zstack)
    p.impl.client.auth.expire()  # the client is shared across tests: make this one log in
    before = p.impl.client.auth.logins
    no_sleep(p, mocker)
    send = mocker.spy(p.impl.client.http, "send")
    emulator.arm_fault("zstack", method="PUT", path="/v1/accounts/login", status=status, code="SYS.1000",
                       message="busy", times=2)
    created = p.create(checked(p, CENTER))
    logins = [c for c in send.call_args_list if c.args[0].url.path.endswith("/v1/accounts/login")]
    assert p.impl.client.auth.logins == before + 1 and len(logins) == 0  # the auth flow sends them, not send()
    assert emulator.objects("zstack")["model_center"][created.id]["name"] == "mc-1"
    p.delete(created.id, created.outs)


def test_a_wrong_password_is_not_retried(emulator, zstack, mocker):
    p = configured(ModelCenterHandler, {**zstack, "zstack:accountPassword": "Wrong-Passw0rd"})
    sleep = no_sleep(p, mocker)
    with pytest.raises(ResourceError) as err:
        p.create(checked(p, CENTER))
    assert "ID.1000" in str(err.value) and sleep.call_count == 0
