"""Encryption of the secrets zensync stores: OAuth client secrets, access and refresh tokens.

A copy of a Zendesk account is only as safe as the credentials kept next to it, so nothing
secret is written to the database in plain text. Values are sealed with Fernet
(``cryptography``: AES-128-CBC + HMAC-SHA256, with a timestamp) under one key that lives
outside the database:

1. ``ZENSYNC_SECRET_KEY`` — a Fernet key (32 url-safe base64-encoded bytes). Several keys may
   be given comma-separated, newest first: new values are sealed with the first, old values
   still open with the others (key rotation via :class:`cryptography.fernet.MultiFernet`).
2. Otherwise the key file ``ZENSYNC_KEY_FILE`` (default ``~/.config/zensync/secret.key``),
   created with a fresh key and mode 0600 on first use. A key file readable by other users is
   refused, as ssh refuses such a private key.

Losing the key loses the stored credentials, not the synced data: the fix is to reconnect.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

ENV_KEY = "ZENSYNC_SECRET_KEY"
ENV_KEY_FILE = "ZENSYNC_KEY_FILE"
DEFAULT_KEY_FILE = Path("~/.config/zensync/secret.key")

_GENERATE_HINT = (
    'generate one with: python -c "from cryptography.fernet import Fernet; '
    'print(Fernet.generate_key().decode())"'
)


class SecretKeyError(RuntimeError):
    """The encryption key is missing, malformed, unsafe, or not the one the data was sealed with.

    The message always names the fix.
    """


@dataclass(frozen=True)
class KeySource:
    """Where the key came from, for messages (never the key itself)."""

    description: str


class SecretBox:
    """Seals and opens stored secrets with the configured Fernet key(s).

    Ciphertexts are ASCII strings, ready for a TEXT column.
    """

    def __init__(self, keys: list[bytes], source: KeySource) -> None:
        if not keys:
            raise SecretKeyError(f"no encryption key in {source.description} — {_GENERATE_HINT}")
        fernets: list[Fernet] = []
        for key in keys:
            try:
                fernets.append(Fernet(key))
            except (ValueError, TypeError) as exc:
                raise SecretKeyError(
                    f"the encryption key in {source.description} is not a Fernet key "
                    f"(32 url-safe base64-encoded bytes) — {_GENERATE_HINT}"
                ) from exc
        self._fernet = MultiFernet(fernets)
        self.source = source

    @classmethod
    def from_key(cls, key: str | bytes) -> SecretBox:
        """A box over one explicit key (tests, or a key passed in by an embedding program)."""
        raw = key.encode() if isinstance(key, str) else key
        return cls([raw], KeySource("the given key"))

    @classmethod
    def from_environment(cls, environ: dict[str, str] | None = None) -> SecretBox:
        """The box the CLI and the service use: ``ZENSYNC_SECRET_KEY``, else the key file."""
        env = os.environ if environ is None else environ
        inline = env.get(ENV_KEY, "").strip()
        if inline:
            keys = [part.strip().encode() for part in inline.split(",") if part.strip()]
            return cls(keys, KeySource(f"${ENV_KEY}"))
        path = Path(env.get(ENV_KEY_FILE) or DEFAULT_KEY_FILE).expanduser()
        return cls([load_or_create_key_file(path)], KeySource(f"key file {str(path)!r}"))

    def encrypt(self, plaintext: str) -> str:
        """Seal ``plaintext``; a fresh IV each call, so equal secrets give unequal ciphertexts."""
        return self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def decrypt(self, ciphertext: str) -> str:
        """Open a value sealed by :meth:`encrypt` under any of the configured keys."""
        try:
            return self._fernet.decrypt(ciphertext.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError) as exc:
            raise SecretKeyError(
                f"stored credentials cannot be decrypted with the key from {self.source.description}: "
                f"they were sealed with another key. Restore that key (${ENV_KEY} or ${ENV_KEY_FILE}), "
                "or reconnect the connection to store new credentials under the current key"
            ) from exc

    def rotate(self, ciphertext: str) -> str:
        """Re-seal a value under the newest key (after adding a key in front of ``ZENSYNC_SECRET_KEY``)."""
        try:
            return self._fernet.rotate(ciphertext.encode("ascii")).decode("ascii")
        except InvalidToken as exc:
            raise SecretKeyError(
                f"cannot rotate a value not sealed by any key from {self.source.description}"
            ) from exc


def load_or_create_key_file(path: Path) -> bytes:
    """Read the key file, creating it (mode 0600, directory 0700) with a new key if absent.

    Creation uses ``O_CREAT | O_EXCL`` so two processes starting at once cannot each write a
    different key: the loser reads the winner's key.
    """
    if not path.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        key = Fernet.generate_key()
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        except OSError as exc:
            raise SecretKeyError(
                f"cannot create key file {str(path)!r} ({exc.strerror}) — set ${ENV_KEY_FILE} "
                f"to a writable path or set ${ENV_KEY}"
            ) from exc
        else:
            with os.fdopen(fd, "wb") as handle:
                handle.write(key + b"\n")
            return key
    try:
        mode = path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise SecretKeyError(
                f"key file {str(path)!r} is accessible by other users (mode {stat.filemode(mode)}) — "
                f"run: chmod 600 {path}"
            )
        key = path.read_bytes().strip()
    except OSError as exc:
        raise SecretKeyError(
            f"cannot read key file {str(path)!r} ({exc.strerror}) — fix its permissions or set ${ENV_KEY}"
        ) from exc
    if not key:
        raise SecretKeyError(
            f"key file {str(path)!r} is empty — delete it to create a new key, or {_GENERATE_HINT}"
        )
    return key
