"""The consent request and the failure explanations of zensync.zendesk.oauth.

Exchanges against the simulator's real OAuth server are in tests/service/.
"""

from __future__ import annotations

import base64
import hashlib
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from zensync.zendesk.oauth import (
    DEFAULT_REDIRECT_URI,
    STATE_TTL_SECONDS,
    RedirectUriError,
    compare_redirect_uris,
    explain,
    hash_state,
    start_authorization,
    state_matches,
    token_error_of,
)


def test_consent_url_carries_every_parameter_zendesk_needs() -> None:
    request = start_authorization("https://acme.zendesk.com/", "zensync", DEFAULT_REDIRECT_URI, now=1000.0)
    parts = urlsplit(request.url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}

    # api-reference.md, "OAuth Tokens for Grant Types": authorization code grant with PKCE.
    assert (parts.scheme, parts.netloc) == ("https", "acme.zendesk.com")
    assert parts.path == "/oauth/authorizations/new"
    assert query["response_type"] == "code"
    assert query["client_id"] == "zensync"
    assert query["redirect_uri"] == DEFAULT_REDIRECT_URI
    assert query["scope"] == "read write"
    assert query["code_challenge_method"] == "S256"
    digest = hashlib.sha256(request.code_verifier.encode()).digest()
    assert query["code_challenge"] == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert query["state"] == request.state
    assert request.state_hash == hash_state(request.state) != request.state
    assert request.expires_at == 1000.0 + STATE_TTL_SECONDS == 1600.0
    assert 43 <= len(request.code_verifier) <= 128
    # Neither secret of the request shows in its repr (and so in logs).
    assert request.state not in repr(request) and request.code_verifier not in repr(request)


def test_states_are_fresh_and_compare_by_hash() -> None:
    a = start_authorization("https://acme.zendesk.com", "c", DEFAULT_REDIRECT_URI)
    b = start_authorization("https://acme.zendesk.com", "c", DEFAULT_REDIRECT_URI)
    assert a.state != b.state and a.code_verifier != b.code_verifier
    assert state_matches(a.state, a.state_hash)
    assert not state_matches(b.state, a.state_hash)


@pytest.mark.parametrize(
    ("uri", "fix"),
    [
        ("http://zensync.example.com/source-connections/callback", "use https"),
        ("localhost:8001/source-connections/callback", "absolute URL"),
        ("https://example.com/cb#x", "fragment"),
    ],
)
def test_redirect_uris_zendesk_would_refuse_are_refused_with_the_fix(uri: str, fix: str) -> None:
    with pytest.raises(RedirectUriError, match=fix):
        start_authorization("https://acme.zendesk.com", "c", uri)


def test_http_is_fine_on_loopback() -> None:
    start_authorization("https://acme.zendesk.com", "c", "http://127.0.0.1:9000/source-connections/callback")


def test_redirect_comparison_names_scheme_and_trailing_slash() -> None:
    ours = "http://localhost:8001/source-connections/callback"
    diffs = compare_redirect_uris(ours, "https://localhost:8001/source-connections/callback/")
    assert any("http vs https" in d for d in diffs)
    assert any("trailing slash" in d for d in diffs)
    assert compare_redirect_uris(ours, ours) == []
    assert any("127.0.0.1" in d for d in compare_redirect_uris(ours, ours.replace("localhost", "127.0.0.1")))
    assert any("port 8001 vs 8002" in d for d in compare_redirect_uris(ours, ours.replace("8001", "8002")))


def test_mismatch_explanation_shows_both_uris_side_by_side() -> None:
    e = explain(
        "redirect_uri_mismatch",
        stage="callback",
        redirect_uri=DEFAULT_REDIRECT_URI,
        registered_redirect_uri=DEFAULT_REDIRECT_URI + "/",
    )
    assert e.kind == "redirect_uri_mismatch"
    assert e.details == {
        "redirect URI zensync sends": DEFAULT_REDIRECT_URI,
        "redirect URL registered in Zendesk": DEFAULT_REDIRECT_URI + "/",
    }
    assert "trailing slash" in e.cause
    assert DEFAULT_REDIRECT_URI in " ".join(e.fixes)


@pytest.mark.parametrize(
    ("error", "stage", "kind", "needs_reauth", "words"),
    [
        ("access_denied", "callback", "access_denied", False, "click Allow"),
        ("invalid_client", "exchange", "invalid_client", False, "truncated"),
        ("invalid_grant", "exchange", "code_expired", False, "120 seconds"),
        ("invalid_grant", "refresh", "refresh_revoked", True, "data already synced is kept"),
        ("unauthorized_client", "exchange", "unauthorized_client", False, "Confidential"),
        ("state_expired", "state", "state_expired", False, "10 minutes"),
        ("state_reused", "state", "state_reused", False, "works once"),
        ("anything", "state", "state_invalid", False, "refused"),
        ("server_error", "exchange", "zendesk_unavailable", False, "wait a minute"),
        ("", "authorize", "invalid_authorization_request", False, "active"),
    ],
)
def test_each_failure_maps_to_an_explanation_naming_the_fix(
    error: str, stage: str, kind: str, needs_reauth: bool, words: str
) -> None:
    e = explain(error, stage=stage)  # type: ignore[arg-type]
    assert e.kind == kind
    assert e.needs_reauth is needs_reauth
    assert e.fixes, "an explanation always names a fix"
    assert words in e.message()


def test_invalid_authorization_request_lists_the_whole_checklist() -> None:
    text = explain(
        "", stage="authorize", redirect_uri="http://localhost:9000/source-connections/callback"
    ).message()
    for needle in (
        "Unique Identifier",
        "Confidential",
        "active",
        "http://localhost:9000/source-connections/callback",
    ):
        assert needle in text


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (400, {"error": "invalid_grant", "error_description": "expired"}, ("invalid_grant", "expired")),
        (401, {"error": "invalid_client", "description": "bad"}, ("invalid_client", "bad")),
        (401, "Couldn't authenticate you", ("invalid_client", "Couldn't authenticate you")),
        (502, "", ("server_error", "HTTP 502")),
        (400, {"errors": [{"code": "InvalidParam", "title": "t"}]}, ("InvalidParam", "t")),
    ],
)
def test_token_error_bodies_of_every_shape_are_read(
    status: int, body: dict[str, object] | str, expected: tuple[str, str]
) -> None:
    if isinstance(body, dict):
        response = httpx.Response(status, json=body)
    else:
        response = httpx.Response(status, text=body)
    assert token_error_of(response) == expected


@pytest.mark.parametrize(
    ("description", "kind"),
    [
        ("redirect_uri does not match the one used in the authorization request.", "redirect_uri_mismatch"),
        ("The authorization code expired; exchange it as soon as the redirect arrives.", "code_expired"),
        ("The authorization code was already used; tokens issued for it are revoked.", "code_expired"),
    ],
)
def test_invalid_grant_descriptions_are_told_apart(description: str, kind: str) -> None:
    assert explain("invalid_grant", description, stage="exchange").kind == kind
