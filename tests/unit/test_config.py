"""ZendeskConfig: what a person may type as the subdomain, and where requests may go."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from zensync.config import InvalidSubdomain, ZendeskConfig, normalize_subdomain

# (typed, normalised subdomain, notice expected)
GOOD = [
    ("mycompany", "mycompany", None),
    ("my-company2", "my-company2", None),
    ("a", "a", None),
    ("a" * 63, "a" * 63, None),
    (
        "mycompany.zendesk.com",
        "mycompany",
        "Use the subdomain only: 'mycompany' (not 'mycompany.zendesk.com')",
    ),
    ("https://mycompany.zendesk.com/", "mycompany", "Use the subdomain only: 'mycompany'"),
    ("https://mycompany.zendesk.com", "mycompany", "Use the subdomain only: 'mycompany'"),
    ("http://MyCompany.Zendesk.com/", "mycompany", "Use the subdomain only: 'mycompany'"),
    ("mycompany.zendesk.com/", "mycompany", "Use the subdomain only: 'mycompany'"),
    ("MyCompany ", "mycompany", "'mycompany'"),
    ("  acme\t", "acme", "'acme'"),
]


@pytest.mark.parametrize(("typed", "expected", "notice"), GOOD)
def test_good_forms_are_normalised_with_a_notice(typed: str, expected: str, notice: str | None) -> None:
    config = ZendeskConfig(subdomain=typed)
    assert config.subdomain == expected
    assert normalize_subdomain(typed)[0] == expected
    if notice is None:
        assert config.notices == ()
    else:
        assert len(config.notices) == 1
        assert notice in config.notices[0]


# (typed, value the message must suggest or None, words the message must contain)
BAD = [
    ("", None, "empty"),
    ("   ", None, "empty"),
    ("foo.bar", None, "part before .zendesk.com"),
    ("help.mycompany.com", None, "host-mapped"),
    ("zendesk.com", None, "part before .zendesk.com"),
    ("mycompany.", "mycompany", "part before .zendesk.com"),
    ("mycompany/agent", "mycompany", "path"),
    ("mycompany.zendesk.com/agent/tickets/1", "mycompany", "path"),
    ("https://mycompany.zendesk.com/agent/tickets/1", "mycompany", "path"),
    ("https://mycompany.zendesk.com/?x=1", "mycompany", "path"),
    ("admin@mycompany.zendesk.com", "mycompany", "'@'"),
    ("https://admin:hunter2@mycompany.zendesk.com", "mycompany", "user name or password"),
    ("mycompany.zendesk.com:443", "mycompany", "port"),
    ("mycompany:8080", "mycompany", "port"),
    ("https://mycompany.zendesk.com:8443/", "mycompany", "port"),
    ("ftp://mycompany.zendesk.com", "mycompany", "not a Zendesk address"),
    ("my company", None, "spaces"),
    ("-mycompany", "mycompany", "hyphen"),
    ("mycompany-", "mycompany", "hyphen"),
    ("a" * 64, None, "63 characters"),
    ("mycompañy", None, "ASCII"),
    ("my_company", None, "a-z, 0-9"),
    ("mycompany!", None, "a-z, 0-9"),
]


@pytest.mark.parametrize(("typed", "suggestion", "words"), BAD)
def test_bad_forms_are_refused_with_the_value_to_use(typed: str, suggestion: str | None, words: str) -> None:
    with pytest.raises(InvalidSubdomain) as caught:
        normalize_subdomain(typed)
    message = str(caught.value)
    assert words in message
    assert caught.value.suggestion == suggestion
    if suggestion:
        assert f"Use the subdomain only: {suggestion!r}" in message
    # The pydantic model refuses it with the same explanation.
    with pytest.raises(ValidationError) as model_error:
        ZendeskConfig(subdomain=typed)
    assert words in str(model_error.value)


def test_passwords_in_rejected_input_are_not_echoed() -> None:
    with pytest.raises(ValidationError) as caught:
        ZendeskConfig(subdomain="https://admin:hunter2@mycompany.zendesk.com")
    assert "hunter2" not in str(caught.value)
    with pytest.raises(ValidationError) as caught:
        ZendeskConfig(subdomain="acme", base_url="https://admin:hunter2@proxy.example.com")
    assert "hunter2" not in str(caught.value)


def test_urls_of_a_plain_account() -> None:
    config = ZendeskConfig(subdomain="acme")
    assert config.host == "acme.zendesk.com"
    assert config.api_base == "https://acme.zendesk.com"
    assert config.origin == ("https", "acme.zendesk.com", 443)
    assert config.agent_ticket_url(42) == "https://acme.zendesk.com/agent/tickets/42"
    assert config.agent_user_url(7) == "https://acme.zendesk.com/agent/users/7"
    assert config.agent_org_url(9) == "https://acme.zendesk.com/agent/organizations/9"
    assert config.exclude_closed_tickets is False


def test_base_url_override_moves_requests_but_not_agent_links() -> None:
    config = ZendeskConfig(subdomain="acme", base_url="http://127.0.0.1:8089/", exclude_closed_tickets=True)
    assert config.api_base == "http://127.0.0.1:8089"
    assert config.host == "127.0.0.1"
    assert config.origin == ("http", "127.0.0.1", 8089)
    assert config.agent_ticket_url(42) == "https://acme.zendesk.com/agent/tickets/42"
    assert config.exclude_closed_tickets is True
    proxied = ZendeskConfig(subdomain="acme", base_url="https://zendesk-proxy.example.com")
    assert proxied.origin == ("https", "zendesk-proxy.example.com", 443)


@pytest.mark.parametrize(
    ("base_url", "words"),
    [
        ("http://proxy.example.com", "use https (https://proxy.example.com)"),
        ("127.0.0.1:8089", "absolute http(s) URL"),
        ("https://proxy.example.com/zendesk", "no path, e.g. https://proxy.example.com"),
        ("https://proxy.example.com/?a=1", "no path"),
        ("ftp://proxy.example.com", "absolute http(s) URL"),
    ],
)
def test_bad_base_urls_are_refused(base_url: str, words: str) -> None:
    with pytest.raises(ValidationError) as caught:
        ZendeskConfig(subdomain="acme", base_url=base_url)
    assert words in str(caught.value)


def test_config_cannot_be_pointed_elsewhere_after_validation() -> None:
    config = ZendeskConfig(subdomain="acme")
    with pytest.raises(ValidationError):
        config.subdomain = "evil.com/"  # type: ignore[misc]
    with pytest.raises(ValidationError):
        ZendeskConfig(subdomain="acme", unknown_field=1)  # type: ignore[call-arg]


def test_notices_stay_out_of_serialised_config() -> None:
    config = ZendeskConfig(subdomain="acme.zendesk.com")
    assert config.notices
    dumped = config.model_dump()
    assert dumped == {"subdomain": "acme", "exclude_closed_tickets": False, "base_url": None}
    assert ZendeskConfig.model_validate(dumped).notices == ()
