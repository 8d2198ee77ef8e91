"""Where each CLI setting comes from: option > ZENSYNC_* environment > zensync.toml > default."""

from __future__ import annotations

from pathlib import Path

import pytest

from zensync.settings import SettingsError, load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for key in list(os.environ):
        if key.startswith("ZENSYNC_"):
            monkeypatch.delenv(key)


def test_defaults_without_file_or_env(tmp_path: Path) -> None:
    settings = load_settings({}, cwd=tmp_path)
    assert settings.db == "zensync.db"
    assert settings.attachments is True
    assert settings.exclude_closed_tickets is None  # not given: a stored connection keeps its own
    assert settings.subdomain is None


def test_precedence_cli_over_env_over_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "zensync.toml").write_text(
        'db = "file.db"\nsubdomain = "filesub"\nemail = "file@example.com"\nattachments = false\n'
    )
    monkeypatch.setenv("ZENSYNC_DB", "env.db")
    monkeypatch.setenv("ZENSYNC_SUBDOMAIN", "envsub")

    settings = load_settings({"db": "cli.db", "subdomain": None}, cwd=tmp_path)

    assert settings.db == "cli.db"  # option wins
    assert settings.subdomain == "envsub"  # None option falls through to the environment
    assert settings.email == "file@example.com"  # only the file sets it
    assert settings.attachments is False


def test_explicit_config_file_and_zensync_table(tmp_path: Path) -> None:
    path = tmp_path / "other.toml"
    path.write_text('[zensync]\nsubdomain = "acme"\napi-token = "tok-123"\nexclude_closed_tickets = true\n')
    settings = load_settings({}, config_file=path, cwd=tmp_path)
    assert settings.subdomain == "acme"
    assert settings.exclude_closed_tickets is True
    assert settings.api_token is not None and settings.api_token.get_secret_value() == "tok-123"


def test_secrets_are_masked_in_repr(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZENSYNC_API_TOKEN", "very-secret-token")
    monkeypatch.setenv("ZENSYNC_ACCESS_TOKEN", "very-secret-bearer")
    settings = load_settings({}, cwd=tmp_path)
    assert "very-secret" not in repr(settings)
    assert "very-secret" not in str(settings)


def test_unknown_key_in_file_names_it_and_the_known_ones(tmp_path: Path) -> None:
    (tmp_path / "zensync.toml").write_text('subdomian = "acme"\n')
    with pytest.raises(SettingsError, match=r"unknown setting 'subdomian'.*known settings: .*subdomain"):
        load_settings({}, cwd=tmp_path)


def test_missing_explicit_config_file(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="does not exist — check --config"):
        load_settings({}, config_file=tmp_path / "nope.toml", cwd=tmp_path)


def test_malformed_toml(tmp_path: Path) -> None:
    (tmp_path / "zensync.toml").write_text("subdomain = \n")
    with pytest.raises(SettingsError, match="not valid TOML"):
        load_settings({}, cwd=tmp_path)


def test_bad_boolean_from_env_names_the_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZENSYNC_ATTACHMENTS", "sometimes")
    with pytest.raises(SettingsError, match=r"\$ZENSYNC_ATTACHMENTS"):
        load_settings({}, cwd=tmp_path)


def test_empty_env_var_means_unset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "zensync.toml").write_text('email = "file@example.com"\n')
    monkeypatch.setenv("ZENSYNC_EMAIL", "")
    assert load_settings({}, cwd=tmp_path).email == "file@example.com"
