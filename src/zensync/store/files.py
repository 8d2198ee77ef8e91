"""The SQLite file and the folders beside it: owner-only, and plain errors when they are unusable.

The database, its ``-wal`` and ``-shm`` files, the attachment folder and its files hold customer
data. zensync creates them for the owner alone (files 0600, folders 0700) and never widens
them; SQLite gives the ``-wal`` and ``-shm`` files the database file's own mode, so a database
created here keeps them owner-only too. A database that other users can already read is
opened, with a warning that names the ``chmod`` to run.

Errors: a missing folder, a read-only file, a file that is not SQLite (or is damaged) and an
SQLite file that belongs to another program each become one :class:`StoreError` sentence that
names the fix, instead of a driver error with SQL in it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

import sqlalchemy as sa

from zensync.store import sqlite_driver
from zensync.store.base import StoreError

log = logging.getLogger(__name__)

FILE_MODE = 0o600
DIR_MODE = 0o700
SIDE_FILES = ("-wal", "-shm")
ADOPT_ENV = "ZENSYNC_ADOPT_DATABASE"


def private_dir(path: Path) -> Path:
    """``mkdir -p`` whose new folders are 0700 (the umask cannot widen them; it only narrows)."""
    missing: list[Path] = []
    current = path
    while not current.exists():
        missing.append(current)
        current = current.parent
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):
            folder.mkdir(mode=DIR_MODE)
    return path


def open_private(path: Path) -> TextIO:
    """Open ``path`` to write text (truncating it); a new file is created owner-only (0600).

    For files zensync writes out of the copy (exports, run reports): they hold customer data
    too. An existing file keeps the mode its owner gave it.
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    return os.fdopen(fd, "w", encoding="utf-8")


def _shown_mode(mode: int) -> str:
    return f"{stat.S_IMODE(mode):04o}"


def prepare_sqlite_file(path: Path, *, refuse_foreign: bool = True) -> None:
    """Before SQLite opens ``path``: check it can, create it owner-only if new, warn if exposed.

    ``refuse_foreign``: refuse an SQLite file with tables but no zensync schema. It is read
    through a read-only connection, so a refused file is left exactly as it was (opening it
    for zensync would switch it to WAL mode).
    """
    parent = path.parent
    if not parent.is_dir():
        raise StoreError(
            f"The folder {parent} does not exist: create it (mkdir -p {parent}) or give a database "
            "path in an existing folder."
        )
    if not path.exists():
        if not os.access(parent, os.W_OK | os.X_OK):
            raise StoreError(
                f"Cannot create {path}: the folder {parent} is not writable by you; "
                "choose a folder you can write to."
            )
        with contextlib.suppress(FileExistsError):
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
        return
    mode = path.stat().st_mode
    if not os.access(path, os.R_OK):
        raise StoreError(f"Cannot read {path}: it belongs to another user; run zensync as its owner.")
    if not os.access(path, os.W_OK) or not mode & stat.S_IWUSR:
        raise StoreError(
            f"The database {path} is read-only (mode {_shown_mode(mode)}): make it writable "
            f"(chmod u+w {path}) or copy it somewhere writable and use that with --db."
        )
    if not os.access(parent, os.W_OK | os.X_OK) and not all(
        Path(f"{path}{suffix}").exists() for suffix in SIDE_FILES
    ):
        raise StoreError(
            f"The folder {parent} is read-only: SQLite needs to create {path.name}-wal and "
            f"{path.name}-shm beside the database; make the folder writable or move the database."
        )
    if refuse_foreign:
        _refuse_foreign_sqlite(path)
    if mode & 0o077:
        log.warning(
            "%s can be read by other users of this machine (mode %s) and holds customer data: "
            "run chmod 600 %s",
            path,
            _shown_mode(mode),
            path,
        )
    else:
        # The side files follow the database's mode when SQLite creates them; an older zensync
        # (or a copy) may have left wider ones behind.
        for suffix in SIDE_FILES:
            side = Path(f"{path}{suffix}")
            with contextlib.suppress(FileNotFoundError, PermissionError):
                if side.stat().st_mode & 0o077:
                    side.chmod(FILE_MODE)


def _refuse_foreign_sqlite(path: Path) -> None:
    try:
        conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
        try:
            rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise _explain_sqlite(exc, str(path)) from exc
    names = {str(name) for (name,) in rows}
    refuse_unless_zensync(names, str(path))


def refuse_unless_zensync(names: set[str], where: str, version_table: str = "schema_version") -> None:
    """Refuse a non-empty database that has no zensync schema (the user may adopt it)."""
    if version_table in names:
        return
    others = sorted(n for n in names if not n.startswith("sqlite_"))
    if others:
        raise StoreError(
            f"{where} already holds tables that are not zensync's ({_listed(others)}): give another "
            f"database (--db), or set {ADOPT_ENV}=1 to add zensync's tables to this one."
        )


def warn_if_exposed_folder(folder: Path | None) -> None:
    """Warn about an attachment folder other users can enter (created 0700 since this version)."""
    if folder is None:
        return
    with contextlib.suppress(OSError):
        mode = folder.stat().st_mode
        if mode & 0o077:
            log.warning(
                "%s can be read by other users of this machine (mode %s) and holds customer "
                "attachments: run chmod -R go= %s",
                folder,
                _shown_mode(mode),
                folder,
            )


def explain(exc: sa.exc.DBAPIError, where: str, *, is_file: bool) -> StoreError:
    """One sentence for a driver error raised while opening the database."""
    orig = exc.orig
    if is_file and isinstance(orig, sqlite3.Error | sqlite_driver.dbapi.Error):
        return _explain_sqlite(orig, where)
    first_line = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    return StoreError(f"Cannot open the database {where}: {first_line}; check the path or URL.")


def _explain_sqlite(orig: Exception, where: str) -> StoreError:
    code = getattr(orig, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    if primary == sqlite3.SQLITE_NOTADB:
        return StoreError(
            f"{where} is not a SQLite database (or its first page is damaged): check the --db path; "
            "to start a new database, move that file aside or give another path."
        )
    if primary == sqlite3.SQLITE_CORRUPT:
        return StoreError(
            f"The database {where} is damaged (SQLite: {orig}): restore it from a backup, or move it "
            "aside and run `zensync sync --full` to build a new one from Zendesk."
        )
    if primary == sqlite3.SQLITE_READONLY:
        return StoreError(
            f"The database {where} is read-only: make it and its folder writable "
            f"(chmod u+w {where}) or copy it somewhere writable and use that with --db."
        )
    if primary == sqlite3.SQLITE_CANTOPEN:
        return StoreError(f"Cannot open {where}: check that its folder exists and that you can write to it.")
    if primary == sqlite3.SQLITE_BUSY:
        return StoreError(
            f"The database {where} stayed locked by another process; wait for it to finish and retry."
        )
    return StoreError(f"Cannot open the database {where}: {orig}; check the path.")


def check_not_foreign(connection: sa.Connection, where: str, version_table: str) -> None:
    """PostgreSQL: refuse a database with tables but no zensync schema (see prepare_sqlite_file)."""
    refuse_unless_zensync(set(sa.inspect(connection).get_table_names()), where, version_table)


def _listed(names: Iterable[str], limit: int = 5) -> str:
    names = list(names)
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")
