"""Issue 18.1: every URL the emulator hands out points at the address the client used.

Each route that produces a URL (ESD presigned upload and download URLs, the stored inference upload
URL, Fabric's token catalog, ZStack's API-job ``location``, framework redirects) is driven over two
client addresses of the same process: ``127.0.0.1:<port>`` and ``localhost:<port>``. Every
``http(s)://`` string anywhere in a reply body, and every ``Location`` header, must name the scheme,
host and port of the request that produced it.

Not counted: PAI's ``Recommend`` field, the vendor's own troubleshooting page
(``https://api.aliyun.com/troubleshoot?...``), which is a link to documentation and not an address
of the API (the vendor's error envelope carries it on every error).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from emulator import defaults
from tests.emulator_process import Emulator, free_port

URL = re.compile(r"https?://[^\s\"'<>]+")
DOCUMENTATION_LINKS = ("https://api.aliyun.com/troubleshoot",)

ESD_HEADERS = {"x-api-key": defaults.ESD_API_KEY, "username": defaults.ESD_USERNAME}
FABRIC_USER = {"name": defaults.FABRIC_USERNAME, "password": defaults.FABRIC_PASSWORD,
               "domain": {"name": defaults.FABRIC_DOMAIN_NAME}}
ZSTACK_PASSWORD_SHA512 = ("b109f3bbbc244eb82441917ed06d618b9008dd09b3befd1b5e07394c706a8bb9"
                          "80b1d7785e5976ec049b46df5f1326af5a2ea6d103fd07c95385ffab0cacbc86")


@pytest.fixture(autouse=True)
def _clean(emulator: Emulator) -> Iterator[None]:
    """Leave the shared emulator as other tests expect it: the platforms driven here are reset."""
    yield
    for platform in ("esd", "fabric", "zstack"):
        emulator.reset(platform)


def urls_in(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield from URL.findall(value)
    elif isinstance(value, dict):
        for v in value.values():
            yield from urls_in(v)
    elif isinstance(value, list):
        for v in value:
            yield from urls_in(v)


def handed_out(r: httpx.Response) -> list[str]:
    found = []
    if "location" in r.headers:
        found.append(r.headers["location"])
    try:
        body = r.json()
    except ValueError:
        body = r.text
    found += [u for u in urls_in(body) if not u.startswith(DOCUMENTATION_LINKS)]
    return found


def origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc


def async_endpoint(c: httpx.Client) -> None:
    """An Async endpoint the ``api`` user may use (one per role: a second create is refused, fine)."""
    r = c.post("/esd/prod/endpoints", headers=ESD_HEADERS, json={
        "endpoint_type": "Async", "instance_type": "ml.g5.xlarge", "initial_instance_count": 1,
        "autoscaling_enabled": False, "assign_to_roles": ["api"], "creator": "api"})
    assert r.status_code == 202 or "has a valid endpoint already" in r.text, r.text


# -- the URL-producing routes; each returns the replies whose URLs are checked ------------------
def esd(c: httpx.Client, emu: Emulator) -> list[httpx.Response]:
    emu.settings("esd", endpoint_create_seconds=0, inference_async_seconds=0)
    out = []
    r = c.post("/esd/prod/checkpoints", headers=ESD_HEADERS, json={
        "checkpoint_type": "Lora", "filenames": [{"filename": f"u{time.time_ns()}.safetensors", "parts_number": 2}],
        "params": {}})
    assert r.status_code == 201, r.text
    out.append(r)
    name = f"ds{time.time_ns() % 10 ** 9}"
    r = c.post("/esd/prod/datasets", headers=ESD_HEADERS, json={
        "dataset_name": name, "creator": "api", "params": {},
        "content": [{"filename": "a.png", "name": "a.png", "type": "image/png", "params": {}}]})
    assert r.status_code == 201, r.text
    out.append(r)
    out.append(c.get(f"/esd/prod/datasets/{name}", headers=ESD_HEADERS))
    async_endpoint(c)
    r = c.post("/esd/prod/inferences", headers=ESD_HEADERS, json={
        "task_type": "txt2img", "inference_type": "Async", "models": {"embeddings": []}})
    assert r.status_code == 201, r.text
    out.append(r)
    job = r.json()["data"]["inference"]["id"]
    r = c.put(r.json()["data"]["inference"]["api_params_s3_upload_url"], content=b'{"prompt": "x"}')
    assert r.status_code == 200, r.text
    out.append(c.put(f"/esd/prod/inferences/{job}/start", headers=ESD_HEADERS))
    out.append(c.get(f"/esd/prod/inferences/{job}", headers=ESD_HEADERS))
    out.append(c.get("/esd/prod/inferences", headers=ESD_HEADERS, params={"type": "txt2img"}))
    return out


def fabric(c: httpx.Client, emu: Emulator) -> list[httpx.Response]:
    r = c.post("/fabric/v3/auth/tokens", json={"auth": {
        "identity": {"methods": ["password"], "password": {"user": FABRIC_USER}},
        "scope": {"project": {"name": "cn-north-4"}}}})
    assert r.status_code == 201, r.text
    return [r]


def zstack(c: httpx.Client, emu: Emulator) -> list[httpx.Response]:
    # the session emulator is shared: other tests change the account's password, set it back
    emu.settings("zstack", accounts={defaults.ZSTACK_ACCOUNT: defaults.ZSTACK_PASSWORD})
    r = c.put("/zstack/v1/accounts/login",
              json={"logInByAccount": {"accountName": "admin", "password": ZSTACK_PASSWORD_SHA512}})
    assert r.status_code == 200, r.text
    auth = {"Authorization": f"OAuth {r.json()['inventory']['uuid']}"}
    r = c.post("/zstack/v1/ai/model-centers", headers=auth, json={"param": {
        "name": "urls", "url": "192.168.10.12:/ai/model_center", "managementIp": "192.168.10.12",
        "managementPort": 8989}})
    assert r.status_code == 202, r.text
    return [r]


def redirects(c: httpx.Client, emu: Emulator) -> list[httpx.Response]:
    """Framework redirects build Location from the request too. The platforms answer unknown paths
    in their own way (no redirect there); the admin routes redirect a trailing slash."""
    out = []
    for path in ("/pai/api/v1/models/", "/fabric/v1/workspaces/emulator-workspace/models/",
                 "/zstack/v1/ai/model-centers/", "/workshop/scc/spSdModelSync/", "/_admin/objects/", "/_admin/health/"):
        r = c.get(path)
        if r.is_redirect:
            out.append(r)
    return out


ROUTES: list[Any] = [
    pytest.param(esd, id="esd"),
    pytest.param(fabric, id="fabric"),
    pytest.param(zstack, id="zstack"),
    pytest.param(redirects, id="redirects"),
]


@pytest.mark.parametrize("drive", ROUTES)
def test_every_url_points_at_the_address_the_client_used(
        emulator: Emulator, drive: Callable[[httpx.Client, Emulator], list[httpx.Response]]) -> None:
    seen = 0
    for host in ("127.0.0.1", "localhost"):
        base = f"http://{host}:{emulator.port}"
        with httpx.Client(base_url=base, timeout=15, follow_redirects=False) as c:
            for r in drive(c, emulator):
                for url in handed_out(r):
                    seen += 1
                    assert origin(url) == origin(base), (r.request.method, r.request.url.path, url)
    assert seen > 0, "the routes handed out no URL: the test would prove nothing"


def test_esd_urls_follow_the_address_when_the_reader_differs_from_the_creator(emulator: Emulator) -> None:
    """A job created over one address and read over another: the reader gets its own address."""
    emulator.settings("esd", endpoint_create_seconds=0)
    with httpx.Client(base_url=f"http://127.0.0.1:{emulator.port}", timeout=15) as a, \
            httpx.Client(base_url=f"http://localhost:{emulator.port}", timeout=15) as b:
        async_endpoint(a)
        r = a.post("/esd/prod/inferences", headers=ESD_HEADERS, json={
            "task_type": "txt2img", "inference_type": "Async", "models": {"embeddings": []}})
        job = r.json()["data"]["inference"]["id"]
        for reply in (b.get(f"/esd/prod/inferences/{job}", headers=ESD_HEADERS),
                      b.get("/esd/prod/inferences", headers=ESD_HEADERS, params={"type": "txt2img"})):
            urls = handed_out(reply)
            assert urls
            assert all(origin(u) == ("http", f"localhost:{emulator.port}") for u in urls), urls


@pytest.fixture(scope="module")
def own_ports(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Emulator, int, int]]:
    """An emulator that also serves ESD and Fabric at the root of ports of their own."""
    esd_port, fabric_port = free_port(), free_port()
    emu = Emulator(tmp_path_factory.mktemp("own-ports") / "state.db",
                   extra_args=["--esd-port", str(esd_port), "--fabric-port", str(fabric_port)]).start()
    try:
        yield emu, esd_port, fabric_port
    finally:
        emu.stop()


def test_urls_on_a_platform_port_point_at_that_port_and_work(own_ports: tuple[Emulator, int, int]) -> None:
    emu, esd_port, fabric_port = own_ports
    with httpx.Client(base_url=f"http://localhost:{esd_port}", timeout=15) as c:
        r = c.post("/prod/datasets", headers=ESD_HEADERS, json={
            "dataset_name": "ports", "creator": "api", "params": {},
            "content": [{"filename": "a.png", "name": "a.png", "type": "image/png", "params": {}}]})
        assert r.status_code == 201, r.text
        url = r.json()["data"]["s3PresignUrl"]["a.png"]
        assert origin(url) == ("http", f"localhost:{esd_port}"), url
        assert c.put(url, content=b"png").status_code == 200  # served on that port as handed out
        preview = c.get("/prod/datasets/ports", headers=ESD_HEADERS).json()["data"]["data"][0]["preview_url"]
        assert origin(preview) == ("http", f"localhost:{esd_port}")
        assert c.get(preview).content == b"png"
    with httpx.Client(base_url=f"http://localhost:{fabric_port}", timeout=15) as c:
        r = c.post("/v3/auth/tokens", json={"auth": {
            "identity": {"methods": ["password"], "password": {"user": FABRIC_USER}},
            "scope": {"project": {"name": "cn-north-4"}}}})
        assert r.status_code == 201, r.text
        urls = handed_out(r)
        assert urls and all(origin(u) == ("http", f"localhost:{fabric_port}") for u in urls), urls
        r = c.get(f"{urls[0]}/v1/base-models", headers={"X-Auth-Token": r.headers["X-Subject-Token"]})
        assert r.status_code == 200, r.text
