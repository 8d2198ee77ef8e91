"""End to end in headless Chromium: the add form, Zendesk's consent page, live progress, search.

The simulator shows its real consent page (no auto-consent); the browser fills zensync's form,
presses Allow, lands on the connection page, watches the first sync finish through the page's
own polling, and finds a seeded ticket with the search box.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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
PHRASE = "Refund request for order 12345"  # the simulator seeds it as ticket 42's subject

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="needs Debian's chromium (make system-deps)"),
]


@pytest.fixture
def web(tmp_path: Path) -> Iterator[tuple[str, Any, Path]]:
    port = free_port()
    callback = f"http://localhost:{port}/source-connections/callback"
    with running_simulator(tickets=50, minute_seconds=1, redirect_uri=[callback]) as sim:
        settings = ServiceSettings(
            db=str(tmp_path / "zensync.db"),
            port=port,
            zendesk_base_url=sim.base_url,
            api_key=None,
            download_attachments=False,
        )
        app = create_app(settings, secrets=SecretBox.from_key(Fernet.generate_key()))
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            assert thread.is_alive()
            time.sleep(0.02)
        try:
            yield f"http://localhost:{port}", sim, tmp_path
        finally:
            server.should_exit = True
            thread.join(timeout=20)


def test_connect_through_the_web_page_and_find_a_ticket(web: tuple[str, Any, Path]) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, sim, tmp_path = web
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(30_000)
            page.goto(base + "/")
            expect(page.locator("#redirect-uri")).to_have_text(base + "/source-connections/callback")
            page.fill("#subdomain", sim.subdomain)
            page.fill("#client_id", sim.oauth_client_id)
            page.fill("#client_secret", sim.oauth_client_secret)
            page.click("button[type=submit]")

            # Zendesk's consent page (the simulator's), then Allow.
            page.wait_for_url(f"{sim.base_url}/oauth/authorizations/new*")
            expect(page.locator("#scopes")).to_contain_text("read")
            page.click("#allow")

            page.wait_for_url(f"{base}/connections/{sim.subdomain}")
            expect(page.locator("#status-badge")).to_have_text("active")
            # The page polls the API and reloads once the first run is done.
            expect(page.locator("#runs .badge.succeeded")).to_be_visible(timeout=60_000)
            expect(page.locator('[data-count="ticket"]')).to_have_text(str(sim.truth()["ticket"]))
            page.screenshot(path=str(tmp_path / "connection.png"), full_page=True)

            page.fill("header input[name=q]", PHRASE)
            page.press("header input[name=q]", "Enter")
            first = page.locator("#results li", has=page.locator(".badge", has_text="ticket")).first
            link = first.locator("a.title")
            expect(link).to_have_attribute("href", f"https://{sim.subdomain}.zendesk.com/agent/tickets/42")
            expect(first.locator("mark").first).to_be_visible()
        finally:
            browser.close()
