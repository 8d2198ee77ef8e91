"""Secrets given to the CLI without putting them where other local users can read them.

A value on the command line (``--client-secret VALUE``) shows in ``ps`` to every user of the
machine and stays in shell history. Each secret option therefore also takes:

- its environment variable (``$ZENSYNC_CLIENT_SECRET``, ``$ZENSYNC_API_TOKEN`` …),
- ``-``: read it from standard input (``pass show zendesk | zensync connect … --client-secret -``),
- ``--…-file PATH``: read it from a file (the first line; a trailing newline is dropped),
- or, where the command has one, a hidden prompt.

A literal value still works, with a warning that says which of these to use instead.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

from zensync.settings import SettingsError

STDIN = "-"


class SecretInputError(SettingsError):
    """A secret could not be read from where the user pointed; the message names the fix."""


def read_secret(
    value: str | None,
    *,
    file: Path | None,
    option: str,
    env: str | None,
    warn: bool = True,
) -> str | None:
    """The secret from ``--option VALUE|-`` or ``--option-file PATH`` (at most one of them).

    ``env``: the variable Typer also fills ``value`` from; a value equal to it came from the
    environment, not the command line, and gets no warning.
    """
    if value is not None and file is not None:
        raise SecretInputError(f"give either {option} or {option}-file, not both")
    if file is not None:
        return _from_file(file, option)
    if value is None:
        return None
    if value == STDIN:
        return _from_stdin(option)
    from_env = env is not None and os.environ.get(env) == value
    if warn and not from_env:
        from zensync.cli_common import err_console

        hint = f"${env}, " if env else ""
        err_console.print(
            f"Warning: {option} on the command line is visible to other users of this machine (ps) "
            f"and stays in your shell history; use {hint}{option} - (read from standard input) or "
            f"{option}-file FILE instead.",
            markup=False,
            soft_wrap=True,
        )
    return value


def _from_stdin(option: str) -> str:
    if sys.stdin is None or sys.stdin.closed:
        raise SecretInputError(f"{option} - reads the secret from standard input, but there is none")
    line = sys.stdin.readline().rstrip("\r\n")
    if not line.strip():
        raise SecretInputError(
            f"{option} -: standard input was empty; pipe the secret in, e.g. "
            f"`printenv MY_SECRET | zensync … {option} -`"
        )
    return line


def _from_file(path: Path, option: str) -> str:
    try:
        text = path.expanduser().read_text(encoding="utf-8")
        mode = path.expanduser().stat().st_mode
    except FileNotFoundError:
        raise SecretInputError(f"{option}-file: {path} does not exist") from None
    except IsADirectoryError:
        raise SecretInputError(
            f"{option}-file: {path} is a folder; give the file that holds the secret"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SecretInputError(f"{option}-file: cannot read {path}: {exc}") from None
    lines = text.splitlines()
    secret = lines[0].strip() if lines else ""
    if not secret:
        raise SecretInputError(f"{option}-file: {path} is empty; put the secret on its first line")
    if mode & (stat.S_IRGRP | stat.S_IROTH):
        from zensync.cli_common import err_console

        err_console.print(
            f"Warning: {path} can be read by other users of this machine; run chmod 600 {path}",
            markup=False,
            soft_wrap=True,
        )
    return secret
