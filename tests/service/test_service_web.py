"""The web page and the service's guard rails: the add form, the connection page, redirect-URL
mismatches shown side by side, the API key, and settings that refuse to start unsafely.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr

from zendesk_simulator.testing import free_port
from zensync.service.app import ServiceConfigError, ServiceSettings

API_KEY = "k" * 20 + "-service-api-key"


def test_home_page_has_the_form_and_the_setup_steps(http: httpx.Client, service: Any) -> None:
    page = http.get("/", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert "Admin Center &gt; Apps and integrations &gt; APIs &gt; OAuth Clients" in page.text
    assert f'<code id="redirect-uri">{service.redirect_uri}</code>' in page.text
    assert 'data-copy="#redirect-uri"' in page.text
    for name in ("subdomain", "client_id", "client_secret", "exclude_closed_tickets"):
        assert f'name="{name}"' in page.text
    assert "/static/style.css" in page.text
    assert http.get("/static/style.css").status_code == 200


def test_form_reads_a_pasted_host_and_goes_straight_to_consent(
    http: httpx.Client, sim: Any, post_form: Any
) -> None:
    sent = post_form(
        http,
        "/connections",
        {
            "subdomain": f"{sim.subdomain}.zendesk.com",
            "client_id": "zensync",
            "client_secret": "s3cret",
            "name": "From form",
            "exclude_closed_tickets": "true",
        },
    )
    assert sent.status_code == 303
    assert sent.headers["location"].startswith(sim.base_url + "/oauth/authorizations/new?")
    view = http.get("/source-connections/from-form").json()
    assert view["config"] == {"subdomain": sim.subdomain, "exclude_closed_tickets": True}


def test_form_errors_name_the_field(http: httpx.Client, post_form: Any) -> None:
    page = post_form(http, "/connections", {"subdomain": "my company", "client_id": "", "client_secret": "x"})
    assert page.status_code == 422
    assert "contains spaces" in page.text
    assert "Unique identifier" in page.text
    assert 'value="x"' not in page.text  # the secret is never put back into the page


def test_pending_connection_page_shows_the_checklist_and_continues_to_zendesk(
    http: httpx.Client, sim: Any, new_connection: Any, post_form: Any
) -> None:
    new_connection("Waiting")
    page = http.get("/connections/waiting")
    assert page.status_code == 200
    assert "Invalid Authorization Request" in page.text
    assert "Continue to Zendesk" in page.text
    go = post_form(http, "/connections/waiting/authorize", {})
    assert go.status_code == 303 and go.headers["location"].startswith(sim.base_url)


def test_redirect_mismatch_is_shown_side_by_side(
    sim: Any, service: Any, serve_service: Any, browser: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    port = free_port()
    ours = f"http://localhost:{port}/source-connections/callback/"
    settings = ServiceSettings(
        db=str(tmp_path_factory.mktemp("mismatch") / "zensync.db"),
        port=port,
        redirect_uri=ours,  # registered in Zendesk without the trailing slash, and for another port
        zendesk_base_url=sim.base_url,
        api_key=None,
        scheduling=False,
    )
    with serve_service(settings, Fernet.generate_key().decode()) as other, other.client() as http:
        created = http.post(
            "/source-connections",
            json={
                "config": {"subdomain": sim.subdomain},
                "auth": {"client_id": "zensync", "client_secret": "zensync-secret-0123456789abcdef"},
            },
        ).json()
        assert created["redirect_uri"] == ours
        zendesk_page = browser.authorize(created["auth_url"])
        assert zendesk_page.status_code == 400  # Zendesk's own page; nothing comes back to zensync
        assert "not registered" in zendesk_page.text

        view = http.get(f"/source-connections/{created['id']}").json()
        assert view["status"] == "pending_auth"
        assert view["problem"]["details"] == {"redirect URI zensync sends": ours}

        page = http.get(f"/connections/{created['id']}", params={"registered": service.redirect_uri})
        compared = page.text[page.text.index('id="compare"') :]
        assert ours in compared and service.redirect_uri in compared
        assert "trailing slash" in compared
        assert f"port {port} vs {service.redirect_uri.split(':')[2].split('/')[0]}" in compared


def test_api_key_guards_everything_but_the_callback(
    sim: Any, serve_service: Any, tmp_path_factory: pytest.TempPathFactory, post_form: Any
) -> None:
    settings = ServiceSettings(
        db=str(tmp_path_factory.mktemp("keyed") / "zensync.db"),
        port=free_port(),
        zendesk_base_url=sim.base_url,
        api_key=SecretStr(API_KEY),
        scheduling=False,
    )
    with serve_service(settings, Fernet.generate_key().decode()) as keyed:
        with keyed.client() as anonymous:
            refused = anonymous.get("/source-connections")
            assert refused.status_code == 401
            assert "X-API-Key" in refused.json()["detail"] and "ZENSYNC_API_KEY" in refused.json()["detail"]
            assert anonymous.get("/openapi.json").status_code == 401
            assert anonymous.get("/search", params={"q": "x"}).status_code == 401
            wrong = anonymous.get("/source-connections", headers={"X-API-Key": "nope"})
            assert wrong.status_code == 401
            # The callback stays open: Zendesk's redirect carries no key.
            callback = anonymous.get("/source-connections/callback", params={"state": "s", "code": "c"})
            assert callback.status_code == 400 and "Unknown consent request" in callback.text
            to_login = anonymous.get("/", headers={"Accept": "text/html"})
            assert to_login.status_code == 303 and to_login.headers["location"].startswith("/login")
            bad = post_form(anonymous, "/login", {"api_key": "wrong", "next": "/"})
            assert bad.status_code == 401
            good = post_form(anonymous, "/login", {"api_key": API_KEY, "next": "//evil.example/"})
            assert good.status_code == 303 and good.headers["location"] == "/"
            cookie = good.cookies.get("zensync_session")
            assert cookie and API_KEY not in cookie
            assert anonymous.get("/", headers={"Accept": "text/html"}).status_code == 200
        with keyed.client(**{"X-API-Key": API_KEY}) as allowed:
            assert allowed.get("/source-connections").status_code == 200
            assert allowed.get("/docs").status_code == 200
        with keyed.client(Authorization=f"Bearer {API_KEY}") as bearer:
            assert bearer.get("/source-connections").status_code == 200


def test_unsafe_settings_refuse_to_start() -> None:
    with pytest.raises(ServiceConfigError, match=r"without an API key.*ZENSYNC_API_KEY.*127\.0\.0\.1"):
        ServiceSettings(host="0.0.0.0", api_key=None)
    with pytest.raises(ServiceConfigError, match=r"--redirect-uri"):
        ServiceSettings(host="10.1.2.3", api_key=SecretStr(API_KEY))
    with pytest.raises(ServiceConfigError, match=r"shorter than 16"):
        ServiceSettings(api_key=SecretStr("short"))
    ok = ServiceSettings(host="0.0.0.0", port=9000, api_key=SecretStr(API_KEY))
    assert ok.effective_redirect_uri == "http://localhost:9000/source-connections/callback"
    public = ServiceSettings(
        host="10.1.2.3",
        api_key=SecretStr(API_KEY),
        redirect_uri="https://zensync.example.com/source-connections/callback",
    )
    assert public.effective_redirect_uri.startswith("https://")
