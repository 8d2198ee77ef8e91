"""The service is safe by default: no cross-site writes, no DNS rebinding, bounded input.

Against the real service under uvicorn (no API key: the loopback default) and the simulator.
A browser on another site can send a form POST, a ``text/plain`` or form-encoded body, or a
request with its own ``Host`` (after rebinding its name to 127.0.0.1); each is refused with the
status a client can act on, and nothing stored changes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr

from zendesk_simulator.testing import free_port
from zensync.service.app import ServiceConfigError, ServiceSettings

API_KEY = "s" * 20 + "-security-api-key"
FOREIGN = [
    {"Origin": "http://evil.example"},
    {"Origin": "http://localhost:9999", "Sec-Fetch-Site": "same-site"},  # same site, other port
    {"Origin": "null"},  # a sandboxed frame or an opaque redirect
    {"Sec-Fetch-Site": "cross-site"},
    {"Sec-Fetch-Site": "same-site"},
]


@pytest.fixture
def connected(
    http: httpx.Client, browser: Any, service: Any, new_connection: Callable[..., dict[str, Any]]
) -> Callable[[str], dict[str, Any]]:
    def make(name: str) -> dict[str, Any]:
        created = new_connection(name)
        assert browser.connect(http, created["auth_url"]).status_code == 303
        done = service.wait_idle(http, created["id"])
        assert done["runs"][0]["status"] == "succeeded", done["runs"][0]
        return done

    return make


def test_cross_site_writes_are_refused_and_change_nothing(
    http: httpx.Client, service: Any, sim: Any, connected: Callable[[str], dict[str, Any]], post_form: Any
) -> None:
    view = connected("Target")
    cid = view["id"]
    body = {
        "name": "Planted",
        "config": {"subdomain": sim.subdomain},
        "auth": {"client_id": "zensync", "client_secret": "zensync-secret-0123456789abcdef"},
    }
    for headers in FOREIGN:
        attempts = {
            "purge form": http.post(f"/connections/{cid}/disconnect?purge=true", data={}, headers=headers),
            "add form": http.post(
                "/connections",
                data={"subdomain": sim.subdomain, "client_id": "zensync", "client_secret": "x", "name": "F"},
                headers=headers,
            ),
            "reauthorize form": http.post(f"/connections/{cid}/authorize", data={}, headers=headers),
            "sync": http.post(f"/source-connections/{cid}/sync", headers=headers),
            "reauthorize": http.post(f"/source-connections/{cid}/authorize", headers=headers),
            "create": http.post("/source-connections", json=body, headers=headers),
            "delete": http.delete(f"/source-connections/{cid}", params={"purge": "true"}, headers=headers),
        }
        for what, answer in attempts.items():
            assert answer.status_code == 403, (what, headers, answer.status_code, answer.text[:200])
            assert "own pages" in answer.json()["detail"], what

    after = http.get(f"/source-connections/{cid}").json()
    assert after["status"] == "active" and after["counts"] == view["counts"] and after["counts"]["ticket"] > 0
    assert len(after["runs"]) == len(view["runs"])  # no sync was started
    assert http.get("/source-connections/planted").status_code == 404
    assert http.get("/source-connections/f").status_code == 404

    # The service's own page (same origin, exactly) still works, through both kinds of route.
    own = {"Origin": service.base_url, "Sec-Fetch-Site": "same-origin"}
    assert http.post(f"/source-connections/{cid}/sync", headers=own).status_code == 202
    service.wait_idle(http, cid)
    gone = http.post(
        f"/connections/{cid}/disconnect?purge=true",
        data={"csrf_token": _token(http, f"/connections/{cid}")},
        headers=own,
    )
    assert gone.status_code == 303
    assert http.get(f"/source-connections/{cid}").status_code == 404


def _token(http: httpx.Client, page: str) -> str:
    found = re.search(r'name="csrf_token" value="([0-9a-f]+)"', http.get(page).text)
    assert found
    return found.group(1)


def test_web_forms_need_the_token_of_their_page(http: httpx.Client, new_connection: Any) -> None:
    """A browser that sends no Origin (or an old one) is still held by the form's token."""
    created = new_connection("Token guarded")
    cid = created["id"]
    with httpx.Client(base_url=str(http.base_url), timeout=30) as fresh:
        bare = fresh.post(f"/connections/{cid}/disconnect?purge=true", data={})
        assert bare.status_code == 403 and "Reload the page" in bare.json()["detail"]
        forged = fresh.post(f"/connections/{cid}/disconnect", data={"csrf_token": "0" * 64})
        assert forged.status_code == 403
        # A token of another browser (another cookie) does not fit this one.
        other = _token(http, "/")
        assert fresh.post(f"/connections/{cid}/disconnect", data={"csrf_token": other}).status_code == 403
        assert http.get(f"/source-connections/{cid}").status_code == 200
        token = _token(fresh, "/")
        cookie = next(c for c in fresh.cookies.jar if c.name == "zensync_csrf")
        assert cookie.has_nonstandard_attr("HttpOnly") and cookie.get_nonstandard_attr("SameSite") == "Strict"
        done = fresh.post(f"/connections/{cid}/disconnect", data={"csrf_token": token})
        assert done.status_code == 303
    assert http.get(f"/source-connections/{cid}").status_code == 404


def test_json_routes_take_json_only(http: httpx.Client, sim: Any, new_connection: Any) -> None:
    """A cross-site form can send form-encoded or text/plain bodies without a preflight: 415."""
    body = json.dumps(
        {
            "name": "Plain",
            "config": {"subdomain": sim.subdomain},
            "auth": {"client_id": "zensync", "client_secret": "zensync-secret-0123456789abcdef"},
        }
    )
    plain = http.post("/source-connections", content=body, headers={"Content-Type": "text/plain"})
    assert plain.status_code == 415 and "application/json" in plain.json()["detail"]
    form = http.post("/source-connections", data={"name": "Form"})
    assert form.status_code == 415
    multipart = http.post("/source-connections", files={"name": ("n", b"Multi")})
    assert multipart.status_code == 415
    created = new_connection("Json only")
    sync = http.post(
        f"/source-connections/{created['id']}/sync",
        content=b"full=true",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert sync.status_code == 415
    assert http.get("/source-connections/plain").status_code == 404
    # JSON, and bodiless POSTs from programs, still work.
    assert http.post(f"/source-connections/{created['id']}/authorize").status_code == 200
    assert (
        http.post(
            f"/source-connections/{created['id']}/authorize",
            content=b"{}",
            headers={"Content-Type": "application/json; charset=utf-8"},
        ).status_code
        == 200
    )


def test_unknown_host_names_are_refused(http: httpx.Client, service: Any) -> None:
    """DNS rebinding: evil.example resolved to 127.0.0.1 still says Host: evil.example."""
    port = service.base_url.rsplit(":", 1)[1]
    refused = http.get("/source-connections", headers={"Host": f"evil.example:{port}"})
    assert refused.status_code == 400
    assert "evil.example" in refused.text and "--allowed-host" in refused.text
    assert http.post("/source-connections", json={}, headers={"Host": "evil.example"}).status_code == 400
    assert http.get("/", headers={"Host": "localhost.evil.example"}).status_code == 400
    for host in ("localhost", "127.0.0.1", "[::1]", "LOCALHOST"):
        assert http.get("/source-connections", headers={"Host": f"{host}:{port}"}).status_code == 200, host


def test_a_public_host_name_is_admitted_when_configured(
    sim: Any, serve_service: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    settings = ServiceSettings(
        db=str(tmp_path_factory.mktemp("public") / "zensync.db"),
        port=free_port(),
        zendesk_base_url=sim.base_url,
        api_key=None,
        scheduling=False,
        allowed_hosts=["zensync.example.com"],
        redirect_uri="https://sync.example.org/source-connections/callback",
    )
    with serve_service(settings, Fernet.generate_key().decode()) as svc, svc.client() as http:
        for host in ("zensync.example.com", "sync.example.org", "127.0.0.1"):
            assert http.get("/source-connections", headers={"Host": host}).status_code == 200, host
        assert http.get("/source-connections", headers={"Host": "other.example.com"}).status_code == 400
        # The mounted MCP endpoint answers to the same names.
        hello = {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "t", "version": "1"},
            },
        }
        mcp_headers = {"Accept": "application/json, text/event-stream", "Host": "zensync.example.com"}
        assert http.post("/mcp", json=hello, headers=mcp_headers).status_code == 200
        rebound = http.post("/mcp", json=hello, headers={**mcp_headers, "Host": "other.example.com"})
        assert rebound.status_code == 400
        # Behind a TLS proxy the page's origin is the redirect URI's, not what the service sees.
        proxied = {"Host": "sync.example.org", "Origin": "https://sync.example.org"}
        created = http.post(
            "/source-connections",
            json={
                "config": {"subdomain": sim.subdomain},
                "auth": {"client_id": "zensync", "client_secret": "zensync-secret-0123456789abcdef"},
            },
            headers=proxied,
        )
        assert created.status_code == 201, created.text
    with pytest.raises(ServiceConfigError, match=r"--allowed-host 'https://x\.example/' is not a host name"):
        ServiceSettings(allowed_hosts=["https://x.example/"], api_key=None)
    with pytest.raises(ServiceConfigError, match="not a host name"):
        ServiceSettings(allowed_hosts=["x.example:8001"], api_key=None)


def test_with_an_api_key_a_logged_in_browser_is_still_refused_cross_site(
    sim: Any, serve_service: Any, tmp_path_factory: pytest.TempPathFactory, post_form: Any
) -> None:
    settings = ServiceSettings(
        db=str(tmp_path_factory.mktemp("keyed-xsite") / "zensync.db"),
        port=free_port(),
        zendesk_base_url=sim.base_url,
        api_key=SecretStr(API_KEY),
        scheduling=False,
    )
    with serve_service(settings, Fernet.generate_key().decode()) as svc, svc.client() as http:
        assert post_form(http, "/login", {"api_key": API_KEY, "next": "/"}).status_code == 303
        created = http.post(
            "/source-connections",
            json={
                "name": "Keyed",
                "config": {"subdomain": sim.subdomain},
                "auth": {"client_id": "zensync", "client_secret": "zensync-secret-0123456789abcdef"},
            },
        )
        assert created.status_code == 201
        for headers in FOREIGN:
            answer = http.post("/connections/keyed/disconnect", data={}, headers=headers)
            assert answer.status_code == 403, headers
            assert http.delete("/source-connections/keyed", headers=headers).status_code == 403
        assert http.get("/source-connections/keyed").status_code == 200


def test_fields_and_bodies_are_bounded(http: httpx.Client, sim: Any) -> None:
    def body(**auth: str) -> dict[str, Any]:
        return {
            "name": "Bounded",
            "config": {"subdomain": sim.subdomain},
            "auth": {"client_id": "zensync", "client_secret": "zensync-secret-0123456789abcdef", **auth},
        }

    huge = http.post("/source-connections", json=body(client_id="x" * 5_000_000))
    assert huge.status_code == 413 and "larger than" in huge.json()["detail"]

    def chunks() -> Iterator[bytes]:
        yield b'{"name": "'
        for _ in range(100):
            yield b"y" * 4096
        yield b'"}'

    json_type = {"Content-Type": "application/json"}
    streamed = http.post("/source-connections", content=chunks(), headers=json_type)
    assert streamed.status_code == 413

    long_id = http.post("/source-connections", json=body(client_id="x" * 1000))
    assert long_id.status_code == 422 and long_id.json()["detail"][0]["field"] == "auth.client_id"
    long_secret = http.post("/source-connections", json=body(client_secret="x" * 1000))
    assert long_secret.status_code == 422 and long_secret.json()["detail"][0]["field"] == "auth.client_secret"
    long_name = http.post("/source-connections", json={**body(), "name": "n" * 201})
    assert long_name.status_code == 422
    long_sub = http.post("/source-connections", json={**body(), "config": {"subdomain": "a" * 300}})
    assert long_sub.status_code == 422
    forever = http.post("/source-connections", json={**body(), "sync_interval_seconds": 10**12})
    assert forever.status_code == 422
    reauth = http.post("/source-connections/whatever/authorize", json={"client_id": "x" * 1000})
    assert reauth.status_code == 422
    assert http.get("/search", params={"q": "q" * 5000}).status_code == 422
    assert http.get("/source-connections/" + "c" * 500).status_code == 422
    assert http.get("/source-connections/bounded").status_code == 404
    listing = http.get("/source-connections").text
    assert "x" * 300 not in listing
