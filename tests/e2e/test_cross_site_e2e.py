"""Cross-site requests in headless Chromium: another site's page attacks the local service.

The user has connected and synced an account through the service (no API key: the loopback
default). They then visit a page served from another origin: one on another host name
(``127.0.0.1:Q``, cross-site) and one on another port of the same host (``localhost:Q``, which
browsers call *same-site*). Each page auto-submits a form to the service — disconnect and purge,
add a connection, re-authorize — or fires a no-CORS ``text/plain`` POST to start a sync. The
service refuses every one, and afterwards the connection, its tokens' status and every synced
row are still there.
"""

from __future__ import annotations

import http.server
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from cryptography.fernet import Fernet

from zendesk_simulator.testing import free_port, running_simulator
from zensync.secret_box import SecretBox
from zensync.service.app import ServiceSettings, create_app

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="needs Debian's chromium (make system-deps)"),
]


def _form(action: str, fields: dict[str, str], enctype: str = "application/x-www-form-urlencoded") -> str:
    inputs = "".join(f'<input type="hidden" name="{k}" value="{v}">' for k, v in fields.items())
    return (
        f'<!doctype html><title>win a prize</title><form id="f" method="post" action="{action}" '
        f'enctype="{enctype}">{inputs}</form><script>document.getElementById("f").submit()</script>'
    )


def _no_cors_post(url: str) -> str:
    return (
        "<!doctype html><title>loading</title><script>"
        f'fetch("{url}", {{method: "POST", mode: "no-cors", headers: {{"Content-Type": "text/plain"}}, '
        'body: "{}"}).then(function () { document.title = "sent"; }, '
        'function () { document.title = "failed"; });</script>'
    )


@pytest.fixture
def attacker() -> Iterator[tuple[int, dict[str, str]]]:
    """Another web server on this machine: serves whatever page the test puts in ``pages``."""
    pages: dict[str, str] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = pages.get(self.path, "not found").encode()
            self.send_response(200 if self.path in pages else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], pages
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def service(tmp_path: Path) -> Iterator[tuple[str, Any]]:
    port = free_port()
    callback = f"http://localhost:{port}/source-connections/callback"
    with running_simulator(tickets=30, minute_seconds=1, redirect_uri=[callback]) as sim:
        settings = ServiceSettings(
            db=str(tmp_path / "zensync.db"),
            port=port,
            zendesk_base_url=sim.base_url,
            api_key=None,
            download_attachments=False,
            scheduling=False,
        )
        app = create_app(settings, secrets=SecretBox.from_key(Fernet.generate_key()))
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            assert thread.is_alive()
            time.sleep(0.02)
        try:
            yield f"http://localhost:{port}", sim
        finally:
            server.should_exit = True
            thread.join(timeout=20)


def _wait_synced(api: httpx.Client, connection_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while True:
        view: dict[str, Any] = api.get(f"/source-connections/{connection_id}").json()
        if not view["syncing"] and view["runs"]:
            return view
        assert time.monotonic() < deadline, view
        time.sleep(0.25)


def test_another_sites_page_cannot_change_anything(
    service: tuple[str, Any], attacker: tuple[int, dict[str, str]]
) -> None:
    from playwright.sync_api import sync_playwright

    base, sim = service
    attack_port, pages = attacker
    with httpx.Client(base_url=base, timeout=30) as api, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page()
            page.set_default_timeout(30_000)
            # The user connects an account (real consent page) and its first sync finishes.
            created = api.post(
                "/source-connections",
                json={
                    "name": "Victim",
                    "config": {"subdomain": sim.subdomain},
                    "auth": {"client_id": sim.oauth_client_id, "client_secret": sim.oauth_client_secret},
                },
            ).json()
            page.goto(created["auth_url"])
            page.click("#allow")
            page.wait_for_url(f"{base}/connections/victim")
            before = _wait_synced(api, "victim")
            assert before["status"] == "active" and before["counts"]["ticket"] == sim.truth()["ticket"] > 0
            page.goto(f"{base}/connections/victim")  # the browser has the service's cookie now

            cid = before["id"]
            forms = {
                "/purge.html": _form(f"{base}/connections/{cid}/disconnect?purge=true", {}),
                "/disconnect.html": _form(f"{base}/connections/{cid}/disconnect", {"csrf_token": "x"}),
                "/add.html": _form(
                    f"{base}/connections",
                    {"subdomain": sim.subdomain, "client_id": "evil", "client_secret": "e", "name": "Evil"},
                ),
                "/reauthorize.html": _form(f"{base}/connections/{cid}/authorize", {"client_id": "evil"}),
                "/json-as-text.html": _form(
                    f"{base}/source-connections",
                    {'{"name": "Evil2", "x": "': '"}'},
                    enctype="text/plain",
                ),
                "/sync-form.html": _form(f"{base}/source-connections/{cid}/sync", {}),
            }
            pages.update(forms)
            pages["/sync-fetch.html"] = _no_cors_post(f"{base}/source-connections/{cid}/sync")

            # Another host name (cross-site) and another port of localhost (same-site).
            for origin in (f"http://127.0.0.1:{attack_port}", f"http://localhost:{attack_port}"):
                for path in forms:
                    page.goto(origin + path)
                    page.wait_for_url(f"{base}/**")  # the form went to the service, which refused it
                    page.wait_for_load_state()
                    assert "own pages" in page.content(), (origin, path, page.content()[:300])
                page.goto(origin + "/sync-fetch.html")
                page.wait_for_function("document.title !== 'loading'")
                assert page.title() == "sent"
        finally:
            browser.close()

        after = api.get("/source-connections/victim").json()
        assert after["status"] == "active"
        assert after["counts"] == before["counts"]
        assert len(after["runs"]) == len(before["runs"])  # no sync was started
        assert after["auth"]["client_id"] == sim.oauth_client_id
        assert [c["id"] for c in api.get("/source-connections").json()] == ["victim"]
        assert api.get("/search", params={"q": "refund", "mode": "keyword"}).json()["results"]
