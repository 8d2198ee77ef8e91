"""Stored secrets: Fernet sealing, the key file's creation and permissions, clear key errors."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from zensync.secret_box import SecretBox, SecretKeyError, load_or_create_key_file


def test_key_file_is_created_0600_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "conf" / "zensync" / "secret.key"
    box = SecretBox.from_environment({"ZENSYNC_KEY_FILE": str(path)})
    sealed = box.encrypt("zensync-secret")

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert "zensync-secret" not in sealed
    # A second process reads the same key and opens what the first sealed.
    again = SecretBox.from_environment({"ZENSYNC_KEY_FILE": str(path)})
    assert again.decrypt(sealed) == "zensync-secret"


def test_equal_secrets_seal_differently(tmp_path: Path) -> None:
    box = SecretBox.from_key(Fernet.generate_key())
    assert box.encrypt("same") != box.encrypt("same")


def test_env_key_wins_over_key_file(tmp_path: Path) -> None:
    key = Fernet.generate_key().decode()
    box = SecretBox.from_environment({"ZENSYNC_SECRET_KEY": key, "ZENSYNC_KEY_FILE": str(tmp_path / "k")})
    assert not (tmp_path / "k").exists()
    assert SecretBox.from_key(key).decrypt(box.encrypt("t")) == "t"


def test_malformed_env_key_names_the_fix() -> None:
    with pytest.raises(SecretKeyError, match=r"ZENSYNC_SECRET_KEY.*not a Fernet key.*generate_key"):
        SecretBox.from_environment({"ZENSYNC_SECRET_KEY": "too-short"})


def test_wrong_key_says_restore_or_reconnect() -> None:
    sealed = SecretBox.from_key(Fernet.generate_key()).encrypt("token")
    with pytest.raises(SecretKeyError, match=r"another key.*reconnect"):
        SecretBox.from_key(Fernet.generate_key()).decrypt(sealed)


def test_rotation_keeps_old_values_readable() -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    sealed_old = SecretBox.from_key(old).encrypt("refresh")
    both = SecretBox.from_environment({"ZENSYNC_SECRET_KEY": f"{new},{old}"})
    assert both.decrypt(sealed_old) == "refresh"
    rotated = both.rotate(sealed_old)
    assert SecretBox.from_key(new).decrypt(rotated) == "refresh"


def test_key_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "secret.key"
    load_or_create_key_file(path)
    os.chmod(path, 0o644)
    with pytest.raises(SecretKeyError, match=r"chmod 600"):
        load_or_create_key_file(path)
