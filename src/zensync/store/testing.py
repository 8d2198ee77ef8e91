"""A throwaway PostgreSQL server for tests and benchmarks (never used by zensync itself).

``running_postgres()`` runs ``initdb`` into a temporary folder and starts ``postgres`` on a
free loopback port with trust authentication, tuned for speed over durability (fsync off).
PostgreSQL refuses to run as root; when the tests run as root (CI), the server runs as the
unprivileged ``nobody`` user (or ``zensync-test``, created with ``useradd`` if needed).

Binaries are looked up on ``PATH`` and under ``/usr/lib/postgresql/*/bin``.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg

SUPERUSER = "postgres"
_FALLBACK_USER = "zensync-test"


def find_postgres_bin() -> Path | None:
    """The folder holding ``initdb``, ``pg_ctl`` and ``postgres``, or None."""
    on_path = shutil.which("initdb")
    candidates = [Path(on_path).resolve().parent] if on_path else []
    candidates += sorted(
        (Path(p).parent for p in glob.glob("/usr/lib/postgresql/*/bin/initdb")),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    for folder in candidates:
        if all((folder / name).exists() for name in ("initdb", "pg_ctl", "postgres")):
            return folder
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _unprivileged_user() -> pwd.struct_passwd:
    for name in ("nobody", _FALLBACK_USER):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", _FALLBACK_USER],
        check=True,
        capture_output=True,
    )
    return pwd.getpwnam(_FALLBACK_USER)


@dataclass
class PostgresServer:
    """A running server: make databases with :meth:`create_database`, reach them by URL."""

    bin_dir: Path
    root: Path
    port: int
    run_as: pwd.struct_passwd | None

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def _admin(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(
            host="127.0.0.1", port=self.port, user=SUPERUSER, dbname="postgres", autocommit=True
        )

    def create_database(self, prefix: str = "zensync_test") -> str:
        """A new empty database; returns its URL."""
        name = f"{prefix}_{secrets.token_hex(6)}"
        with self._admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, url: str) -> None:
        name = url.rsplit("/", 1)[-1]
        with self._admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        kwargs: dict[str, object] = {}
        if self.run_as is not None:
            kwargs = {"user": self.run_as.pw_uid, "group": self.run_as.pw_gid, "extra_groups": []}
        return subprocess.run(
            list(args),
            check=True,
            capture_output=True,
            text=True,
            cwd=self.root,
            env={**os.environ, "LC_ALL": "C", "LANG": "C"},
            timeout=120,
            **kwargs,  # type: ignore[call-overload]
        )

    def start(self) -> None:
        self._run(
            str(self.bin_dir / "initdb"),
            "-D",
            str(self.data_dir),
            "-U",
            SUPERUSER,
            "--auth=trust",
            "--no-sync",
            "-E",
            "UTF8",
            "--locale=C",
        )
        options = " ".join(
            [
                f"-p {self.port}",
                f"-k {self.root}",
                "-c listen_addresses=127.0.0.1",
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
                "-c max_connections=200",
                "-c shared_buffers=64MB",
            ]
        )
        self._run(
            str(self.bin_dir / "pg_ctl"),
            "-D",
            str(self.data_dir),
            "-o",
            options,
            "-l",
            str(self.root / "server.log"),
            "-w",
            "-t",
            "60",
            "start",
        )

    def stop(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)


@contextlib.contextmanager
def running_postgres(bin_dir: Path | None = None) -> Iterator[PostgresServer]:
    """Start a throwaway server; stop it and delete its files on exit."""
    bin_dir = bin_dir or find_postgres_bin()
    if bin_dir is None:
        raise FileNotFoundError(
            "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found on PATH or under "
            "/usr/lib/postgresql/*/bin; install them (Debian: apt-get install postgresql)."
        )
    root = Path(tempfile.mkdtemp(prefix="zensync-pg-"))
    run_as = _unprivileged_user() if os.geteuid() == 0 else None
    if run_as is not None:
        os.chown(root, run_as.pw_uid, run_as.pw_gid)
    server = PostgresServer(bin_dir=bin_dir, root=root, port=_free_port(), run_as=run_as)
    try:
        server.start()
    except subprocess.CalledProcessError as exc:
        log = root / "server.log"
        detail = (exc.stderr or "") + (log.read_text(errors="replace") if log.exists() else "")
        server.stop()
        raise RuntimeError(f"Could not start a test PostgreSQL server: {detail.strip()[-2000:]}") from exc
    try:
        yield server
    finally:
        server.stop()


_shared: PostgresServer | None = None
_shared_manager: contextlib.AbstractContextManager[PostgresServer] | None = None
_shared_lock = threading.Lock()


def shared_postgres() -> PostgresServer:
    """One server per process, started on first use; see :func:`stop_shared_postgres`."""
    global _shared, _shared_manager
    with _shared_lock:
        if _shared is None:
            manager = running_postgres()
            _shared = manager.__enter__()
            _shared_manager = manager
            atexit.register(stop_shared_postgres)  # in case nobody stops it explicitly
        return _shared


def stop_shared_postgres() -> None:
    """Stop the shared server (if started) and delete its files; safe to call twice."""
    global _shared, _shared_manager
    with _shared_lock:
        manager, _shared, _shared_manager = _shared_manager, None, None
    if manager is not None:
        manager.__exit__(None, None, None)
