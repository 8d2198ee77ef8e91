"""The CLI's settings: command-line options, ``ZENSYNC_*`` environment variables, a TOML file.

One place decides where a setting comes from so that every command agrees. Precedence, highest
first: command-line option > environment variable > config file > default. The config file is
``--config PATH`` when given (it must exist), else ``zensync.toml`` in the working directory when
present. Its keys are the option names with underscores (``db``, ``subdomain``, ``base_url``,
``email``, ``api_token``, ``access_token``, ``connection``, ``exclude_closed_tickets``,
``attachments``, ``blob_dir``), at top level or under a ``[zensync]`` table.

Secrets (``api_token``, ``access_token``) are :class:`pydantic.SecretStr`: their ``repr`` and
``str`` are masked, so a settings object can be printed or logged without leaking them.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

DEFAULT_CONFIG_FILE = "zensync.toml"
DEFAULT_DB = "zensync.db"
ENV_PREFIX = "ZENSYNC_"


class SettingsError(ValueError):
    """A setting is missing, malformed or contradicts another; the message names the fix."""


class Settings(BaseSettings):
    """Everything the CLI needs to reach an account and a store."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        extra="forbid",  # a misspelt key in zensync.toml is an error, not silently ignored
        env_ignore_empty=True,  # `ZENSYNC_EMAIL=` means "unset", not "empty email"
        validate_default=True,
    )
    # The config file's values, set per load (see load_settings).
    file_values: ClassVar[dict[str, Any]] = {}

    db: str = Field(DEFAULT_DB, description="SQLite path or database URL")
    subdomain: str | None = None
    base_url: str | None = Field(None, description="Override of https://{subdomain}.zendesk.com")
    email: str | None = None
    api_token: SecretStr | None = None
    access_token: SecretStr | None = None
    connection: str | None = Field(None, description="Name of a stored connection")
    exclude_closed_tickets: bool | None = Field(None, description="None: the connection's own setting")
    attachments: bool = True
    blob_dir: str | None = Field(None, description="Attachment files (default: <db file>.blobs for SQLite)")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """CLI (init kwargs) > environment > TOML file > defaults; no .env or secrets dir."""
        file_settings = InitSettingsSource(settings_cls, dict(cls.file_values))
        return (init_settings, env_settings, file_settings)

    @property
    def has_explicit_credentials(self) -> bool:
        """Whether credentials were given directly rather than through a stored connection."""
        return self.access_token is not None or self.api_token is not None or self.email is not None


def _find_config_file(explicit: Path | None, cwd: Path) -> Path | None:
    if explicit is not None:
        if not explicit.is_file():
            raise SettingsError(f"config file {str(explicit)!r} does not exist — check --config")
        return explicit
    candidate = cwd / DEFAULT_CONFIG_FILE
    return candidate if candidate.is_file() else None


def _read_config_file(path: Path) -> dict[str, Any]:
    """The file's settings, with a ``[zensync]`` table's keys merged over top-level ones."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(f"cannot read config file {str(path)!r}: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"config file {str(path)!r} is not valid TOML ({exc}) — fix the file") from exc
    table = data.pop("zensync", None)
    if isinstance(table, dict):
        data.update(table)
    return {key.replace("-", "_"): value for key, value in data.items()}


def load_settings(
    cli_values: Mapping[str, Any] | None = None,
    *,
    config_file: Path | None = None,
    cwd: Path | None = None,
) -> Settings:
    """Merge the sources into one validated :class:`Settings`.

    ``cli_values`` holds the command-line options; ``None`` values mean "not given" and fall
    through to the environment and the file.
    """
    path = _find_config_file(config_file, cwd or Path.cwd())
    file_values = _read_config_file(path) if path is not None else {}
    bound = type("Settings", (Settings,), {"file_values": file_values})
    given = {k: v for k, v in (cli_values or {}).items() if v is not None}
    try:
        settings: Settings = bound(**given)
    except ValidationError as exc:
        raise SettingsError(_explain(exc, path)) from exc
    return settings


def _explain(exc: ValidationError, path: Path | None) -> str:
    """Turn pydantic's report into one line that says which setting to fix and where."""
    known = ", ".join(sorted(Settings.model_fields))
    parts: list[str] = []
    for error in exc.errors():
        key = ".".join(str(p) for p in error["loc"]) or "settings"
        if error["type"] == "extra_forbidden":
            where = f" in {str(path)!r}" if path is not None else ""
            parts.append(f"unknown setting {key!r}{where} — known settings: {known}")
        else:
            env = ENV_PREFIX + key.upper()
            parts.append(
                f"setting {key!r} is invalid ({error['msg']}) — check --{key.replace('_', '-')}, "
                f"${env} or the config file"
            )
    return "; ".join(parts)
