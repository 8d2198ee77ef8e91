"""The source-connections API over real HTTP: consent against the simulator's OAuth server.

Every failure in Zendesk's OAuth troubleshooting list is provoked for real and must come back
as an explanation that names the fix (zensync.zendesk.oauth.explain).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

PHRASE = "Refund request for order 12345"  # seeded by the simulator into ticket 42


def test_happy_path_consent_first_sync_and_search(
    http: httpx.Client, browser: Any, service: Any, sim: Any, new_connection: Callable[..., dict[str, Any]]
) -> None:
    created = new_connection("Happy path")
    assert created["id"] == "happy-path"
    assert created["status"] == "pending_auth"
    assert created["redirect_uri"] == service.redirect_uri
    url = urlsplit(created["auth_url"])
    assert f"{url.scheme}://{url.netloc}" == sim.base_url
    assert url.path == "/oauth/authorizations/new"
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert query["client_id"] == "zensync"
    assert query["redirect_uri"] == service.redirect_uri
    assert query["scope"] == "read write"
    assert query["response_type"] == "code"
    assert query["code_challenge_method"] == "S256" and query["code_challenge"]
    assert any("Confidential" in item for item in created["checklist"])

    pending = http.get("/source-connections/happy-path").json()
    assert pending["status"] == "pending_auth"
    assert pending["problem"]["kind"] == "awaiting_consent"

    landed = browser.connect(http, created["auth_url"])
    assert landed.status_code == 303
    assert landed.headers["location"] == "/connections/happy-path"

    done = service.wait_idle(http, "happy-path")
    assert done["status"] == "active"
    assert done["problem"] is None
    assert done["connected_user"]["role"] == "admin"
    assert done["runs"][0]["status"] == "succeeded", done["runs"][0]
    truth = sim.truth()
    assert done["counts"]["ticket"] == truth["ticket"]
    assert done["counts"]["comment"] == truth["comment"]
    assert done["failed_downloads"] == 0  # every attachment file came down
    assert done["last_sync_at"] is not None

    found = http.get("/search", params={"q": PHRASE, "type": "ticket"}).json()
    assert found["results"], found
    assert found["results"][0]["web_url"] == f"https://{sim.subdomain}.zendesk.com/agent/tickets/42"
    assert "<mark>" in found["results"][0]["passages"][0]["snippet"]

    jobs = http.get("/source-connections/happy-path/jobs").json()
    assert jobs[0]["mode"] == "full" and jobs[0]["inserted"] > 0

    # The callback again (a reload, or a replay): refused, and the connection stays active.
    callback = browser.pages[-1].headers["location"]
    replay = http.get(
        callback.replace(service.redirect_uri, service.base_url + "/source-connections/callback")
    )
    assert replay.status_code == 400
    assert "already used" in replay.text
    assert http.get("/source-connections/happy-path").json()["status"] == "active"


def test_validation_errors_name_the_field_and_the_fix_without_echoing_input(http: httpx.Client) -> None:
    secret = "do-not-echo-this-secret-42"
    body = {
        "name": "bad",
        "short_name": "zendesk",
        "config": {"subdomain": "acme.zendesk.com"},
        "auth": {"client_id": "zensync", "client_secret": secret},
    }
    response = http.post("/source-connections", json=body)
    assert response.status_code == 422
    errors = response.json()["detail"]
    assert errors[0]["field"] == "config.subdomain"
    assert "send 'acme'" in errors[0]["msg"]
    assert secret not in response.text

    body["config"] = {"subdomain": "acme"}
    body["auth"] = {"client_id": "zensync"}
    missing = http.post("/source-connections", json=body)
    assert missing.status_code == 422
    assert missing.json()["detail"][0]["field"] == "auth.client_secret"
    assert "required" in missing.json()["detail"][0]["msg"]

    body["short_name"] = "freshdesk"
    body["auth"] = {"client_id": "zensync", "client_secret": secret}
    other = http.post("/source-connections", json=body)
    assert other.status_code == 422 and other.json()["detail"][0]["field"] == "short_name"
    assert secret not in other.text


def test_duplicate_name_is_a_conflict_that_says_how_to_reconnect(
    http: httpx.Client, new_connection: Callable[..., dict[str, Any]], sim: Any
) -> None:
    new_connection("Twice")
    again = http.post(
        "/source-connections",
        json={
            "name": "Twice",
            "config": {"subdomain": sim.subdomain},
            "auth": {"client_id": "zensync", "client_secret": "x"},
        },
    )
    assert again.status_code == 409
    assert "/source-connections/twice/authorize" in again.json()["detail"]


def test_wrong_client_secret_is_explained_and_fixed_by_reauthorizing(
    http: httpx.Client, browser: Any, service: Any, new_connection: Callable[..., dict[str, Any]]
) -> None:
    created = new_connection("Wrong secret", client_secret="not-the-secret")
    page = browser.connect(http, created["auth_url"])
    assert page.status_code == 400
    assert "Zendesk rejected the client secret" in page.text
    assert "copy the Secret again" in page.text

    view = http.get("/source-connections/wrong-secret").json()
    assert view["status"] == "pending_auth"
    assert view["problem"]["kind"] == "invalid_client"
    assert any("Secret" in fix for fix in view["problem"]["fixes"])

    # The named fix works: a fresh consent with the right secret.
    again = http.post(
        "/source-connections/wrong-secret/authorize",
        json={"client_secret": "zensync-secret-0123456789abcdef"},
    )
    assert again.status_code == 200
    assert browser.connect(http, again.json()["auth_url"]).status_code == 303
    assert service.wait_idle(http, "wrong-secret")["status"] == "active"


def test_truncated_client_secret_is_named_as_a_likely_cause(
    http: httpx.Client, browser: Any, new_connection: Callable[..., dict[str, Any]]
) -> None:
    created = new_connection("Truncated", client_secret="zensync-secret-0123456789ab")
    page = browser.connect(http, created["auth_url"])
    assert page.status_code == 400
    problem = http.get("/source-connections/truncated").json()["problem"]
    assert problem["kind"] == "invalid_client"
    assert "truncated" in problem["cause"]
    assert "regenerated" in problem["cause"]


def test_denied_consent_says_to_click_allow(
    http: httpx.Client, browser: Any, new_connection: Callable[..., dict[str, Any]]
) -> None:
    created = new_connection("Denied")
    redirect = browser.authorize(created["auth_url"], decision="deny")
    assert "error=access_denied" in redirect.headers["location"]
    page = browser.follow(redirect, http)
    assert page.status_code == 400
    assert "Access was denied" in page.text and "click Allow" in page.text
    view = http.get("/source-connections/denied").json()
    assert view["status"] == "pending_auth"
    assert view["problem"]["kind"] == "access_denied"


def test_inactive_client_gets_zendesks_page_and_the_connection_explains_the_checklist(
    http: httpx.Client, browser: Any, new_connection: Callable[..., dict[str, Any]]
) -> None:
    created = new_connection("Inactive", client_id="off-client", client_secret="off-secret")
    # Zendesk answers with its own "Invalid Authorization Request" page and never redirects.
    zendesk_page = browser.authorize(created["auth_url"])
    assert zendesk_page.status_code == 400
    assert "inactive" in zendesk_page.text
    view = http.get("/source-connections/inactive").json()
    assert view["status"] == "pending_auth"
    assert view["problem"]["kind"] == "awaiting_consent"
    fixes = " ".join(view["problem"]["fixes"])
    assert "active" in fixes and "Confidential" in fixes and "Unique Identifier" in fixes
    assert view["redirect_uri"] in fixes


def test_forged_state_is_refused_and_changes_nothing(http: httpx.Client, service: Any) -> None:
    before = http.get("/source-connections").json()
    forged = http.get("/source-connections/callback", params={"code": "abc", "state": "forged-state-value"})
    assert forged.status_code == 400
    assert "Unknown consent request" in forged.text
    no_state = http.get("/source-connections/callback", params={"code": "abc"})
    assert no_state.status_code == 400
    denied_forged = http.get(
        "/source-connections/callback", params={"error": "access_denied", "state": "forged-state-value"}
    )
    assert denied_forged.status_code == 400 and "Unknown consent request" in denied_forged.text
    assert http.get("/source-connections").json() == before


def test_expired_state_is_refused_with_start_again(
    http: httpx.Client, browser: Any, service: Any, new_connection: Callable[..., dict[str, Any]]
) -> None:
    from datetime import UTC, datetime, timedelta

    import sqlalchemy as sa

    from zensync.store.schema import oauth_states

    created = new_connection("Late")
    with service.store() as store, store.engine.begin() as conn:
        # Eleven minutes pass before the user comes back.
        conn.execute(
            sa.update(oauth_states)
            .where(oauth_states.c.connection_id == "late")
            .values(expires_at=datetime.now(UTC) - timedelta(minutes=1))
        )
    page = browser.connect(http, created["auth_url"])
    assert page.status_code == 400
    assert "This consent link has expired" in page.text
    assert http.get("/source-connections/late").json()["status"] == "pending_auth"


def test_code_exchanged_for_another_consent_is_refused(
    http: httpx.Client, browser: Any, new_connection: Callable[..., dict[str, Any]]
) -> None:
    """A code only works with the PKCE verifier of its own consent request (RFC 7636 §4.6)."""
    first = new_connection("Mixed one")
    second = new_connection("Mixed two")
    code_of_second = parse_qs(urlsplit(browser.authorize(second["auth_url"]).headers["location"]).query)[
        "code"
    ][0]
    to_first = browser.authorize(first["auth_url"])
    state_of_first = parse_qs(urlsplit(to_first.headers["location"]).query)["state"][0]
    page = http.get("/source-connections/callback", params={"code": code_of_second, "state": state_of_first})
    assert page.status_code == 400
    assert http.get("/source-connections/mixed-one").json()["problem"]["kind"] == "code_expired"


def test_consent_by_a_non_admin_is_flagged_with_the_fix(
    http: httpx.Client, browser: Any, sim: Any, new_connection: Callable[..., dict[str, Any]]
) -> None:
    created = new_connection("Agent consent")
    assert browser.connect(http, created["auth_url"], user_email=sim.agent_email).status_code == 303
    view = http.get("/source-connections/agent-consent").json()
    assert view["status"] == "error"
    assert view["problem"]["kind"] == "not_admin"
    assert "admin" in view["problem"]["fixes"][0]
    assert view["connected_user"]["role"] == "agent"
    assert view["runs"] == [] and view["current_run"] is None  # no sync that would fail anyway


def test_expired_authorization_code_says_to_approve_again_promptly(serve_service: Any, tmp_path: Any) -> None:
    """Codes live 120 s at Zendesk; here the simulator runs in-process with a 1-second code life."""
    import threading
    import time

    import uvicorn
    from cryptography.fernet import Fernet

    from zendesk_simulator.app import create_app as simulator_app
    from zendesk_simulator.config import OAuthClientSpec, SimulatorConfig
    from zendesk_simulator.testing import free_port
    from zensync.service.app import ServiceSettings

    port, sim_port = free_port(), free_port()
    callback = f"http://localhost:{port}/source-connections/callback"
    config = SimulatorConfig(
        port=sim_port,
        tickets=5,
        authorization_code_ttl=1,
        oauth_clients=[OAuthClientSpec("zensync", "zensync-secret", redirect_uris=[callback])],
    )
    sim_server = uvicorn.Server(
        uvicorn.Config(simulator_app(config), host="127.0.0.1", port=sim_port, log_level="warning")
    )
    thread = threading.Thread(target=sim_server.run, daemon=True)
    thread.start()
    while not sim_server.started:
        time.sleep(0.02)
    settings = ServiceSettings(
        db=str(tmp_path / "z.db"),
        port=port,
        api_key=None,
        scheduling=False,
        zendesk_base_url=f"http://127.0.0.1:{sim_port}",
    )
    try:
        with serve_service(settings, Fernet.generate_key().decode()) as svc, svc.client() as http:
            created = http.post(
                "/source-connections",
                json={
                    "config": {"subdomain": "acme"},
                    "auth": {"client_id": "zensync", "client_secret": "zensync-secret"},
                },
            ).json()
            with httpx.Client(timeout=30) as browser:
                page = browser.get(created["auth_url"])
                token = page.text.split('name="authenticity_token" value="')[1].split('"')[0]
                carried = dict(parse_qs(urlsplit(created["auth_url"]).query))
                form = {k: v[0] for k, v in carried.items()}
                answer = browser.post(
                    f"http://127.0.0.1:{sim_port}/oauth/authorizations",
                    data={**form, "authenticity_token": token, "decision": "allow"},
                )
            location = answer.headers["location"]
            time.sleep(1.5)  # the user's browser takes its time coming back
            late = http.get(location.replace(callback, svc.base_url + "/source-connections/callback"))
            assert late.status_code == 400
            assert "The authorization code expired or was already used" in late.text
            problem = http.get(f"/source-connections/{created['id']}").json()["problem"]
            assert problem["kind"] == "code_expired"
            assert "expired" in problem["cause"]  # what Zendesk said is quoted
            assert "Start the connection again" in problem["fixes"][0]
    finally:
        sim_server.should_exit = True
        thread.join(timeout=10)
