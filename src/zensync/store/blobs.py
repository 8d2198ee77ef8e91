"""Attachment bytes, stored once per content: ``<blob dir>/ab/abcdef…`` (SHA-256 hex).

Paths come only from the hash, never from a file name Zendesk sent, so no attachment name
can reach outside the folder. Files arrive by atomic rename from a temporary file in the
same folder: a reader never sees half a file, and a crash leaves at worst a temporary file
that :meth:`BlobStore.prune` removes later.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from zensync.store.base import StoreError
from zensync.store.files import FILE_MODE, private_dir

_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
TMP_DIR = "tmp"
_PART_RE = re.compile(r"^\.zensync-(\d+)-.*\.part$")


def _process_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def check_sha256(sha256: str) -> str:
    if not isinstance(sha256, str) or not _SHA256_RE.match(sha256):
        raise ValueError(f"Not a SHA-256 hex digest: {sha256!r} (expected 64 lowercase hex characters).")
    return sha256


class BlobStore:
    """Content-addressed files under one folder."""

    def __init__(self, root: Path | None, *, missing_hint: str = "") -> None:
        self._root = root
        self._missing_hint = missing_hint

    @property
    def root(self) -> Path:
        if self._root is None:
            raise StoreError(
                "This store has no folder for attachment files"
                + (f"; {self._missing_hint}" if self._missing_hint else ".")
            )
        return self._root

    @property
    def configured(self) -> bool:
        return self._root is not None

    def require(self) -> Path:
        """The folder, or the StoreError that says how to configure one."""
        return self.root

    def file(self, sha256: str) -> str:
        """Where the bytes of ``sha256`` are (or go), as a string.

        Paths made for every attachment are strings, not :class:`~pathlib.Path` objects:
        pathlib interns each part of a path it parses (``sys.intern``), so every hash would
        pass through the interpreter's table of interned strings, which grows to the most it
        ever held and never shrinks (3.8 MB instead of 1.9 in a sync of 30,000 tickets,
        bench/README.md, "Memory: interned hashes").
        """
        check_sha256(sha256)
        return os.path.join(self.root, sha256[:2], sha256)

    def path(self, sha256: str) -> Path:
        return Path(self.file(sha256))

    def exists(self, sha256: str) -> bool:
        return os.path.isfile(self.file(sha256))

    def temp_folder(self) -> Path:
        """The shared temporary folder, on the same filesystem as the blobs (made if missing).

        Files in it need unique names (``tempfile.mkstemp``); :meth:`prune` removes those a
        crash left behind.
        """
        return private_dir(self.root / TMP_DIR)

    def remove_orphaned_temp_files(self) -> int:
        """Remove partial downloads whose process is gone (a sync killed mid-download).

        Downloads name their temporary files ``.zensync-<pid>-….part``; a file whose process
        no longer runs can never be finished. Files of live processes (another sync, even of
        another connection in this process) are left alone.
        """
        if self._root is None:
            return 0
        folder = self._root / TMP_DIR
        if not folder.is_dir():
            return 0
        removed = 0
        for entry in folder.iterdir():
            match = _PART_RE.match(entry.name)
            if match is None or _process_alive(int(match.group(1))):
                continue
            with contextlib.suppress(FileNotFoundError):
                entry.unlink()
                removed += 1
        return removed

    def place(self, tmp_path: str | os.PathLike[str], sha256: str) -> str:
        """Move ``tmp_path`` to its place by atomic rename (or drop it if already stored);
        the final path, as a string (see :meth:`file`)."""
        final = self.file(sha256)
        if os.path.isfile(final):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp_path)
            with contextlib.suppress(FileNotFoundError):
                os.utime(final)  # in use again: see remove()
            return final
        folder = os.path.dirname(final)
        if not os.path.isdir(folder):
            private_dir(Path(folder))
        os.chmod(tmp_path, FILE_MODE)  # owner-only: attachments are customer data
        os.replace(tmp_path, final)
        return final

    def put(self, tmp_path: str | os.PathLike[str], sha256: str) -> Path:
        """:meth:`place`, with the final path as a :class:`~pathlib.Path`."""
        return Path(self.place(tmp_path, sha256))

    def remove(self, shas: Iterable[str], *, unused_since: float) -> int:
        """Delete these files, unless placed or reused since ``unused_since`` (their mtime)."""
        removed = 0
        for sha256 in shas:
            path = self.path(sha256)
            with contextlib.suppress(FileNotFoundError):
                if path.stat().st_mtime >= unused_since:
                    continue
                path.unlink()
                removed += 1
        return removed

    def prune(
        self,
        referenced: Iterable[str] | Callable[[list[str]], Iterable[str]],
        *,
        older_than_seconds: float = 3600.0,
    ) -> int:
        """Delete files no row references (and stale temporary files); return how many.

        ``referenced``: the hashes rows refer to, or a function that tells which of the hashes
        it is given are referred to; it is asked one folder at a time, so a store of a million
        files is never listed in memory at once.

        Files younger than ``older_than_seconds`` are kept: a sync may have stored them for
        a page it has not committed yet.
        """
        if self._root is None or not self._root.is_dir():
            return 0
        if callable(referenced):
            which_referenced = referenced
        else:
            keep = set(referenced)

            def which_referenced(names: list[str]) -> Iterable[str]:
                return keep.intersection(names)

        cutoff = time.time() - older_than_seconds
        removed = 0
        for folder in self._root.iterdir():
            if not folder.is_dir():
                continue
            stale_tmp = folder.name == TMP_DIR
            entries = list(folder.iterdir())
            hashes = [] if stale_tmp else [e.name for e in entries if _SHA256_RE.match(e.name)]
            kept = set(which_referenced(hashes)) if hashes else set()
            for entry in entries:
                if not stale_tmp and (not _SHA256_RE.match(entry.name) or entry.name in kept):
                    continue
                with contextlib.suppress(FileNotFoundError):
                    if entry.stat().st_mtime >= cutoff:
                        continue
                    if entry.is_dir():
                        shutil.rmtree(entry, ignore_errors=True)
                    else:
                        entry.unlink()
                    removed += 1
        return removed
