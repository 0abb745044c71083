"""The master key file: created 0600 in a 0700 folder, never stored in the database.

Format (JSON): {"format": "gate-master-key/1", "current": {"id", "key"}, "pending": {"id", "key"}?,
"retired": [id, ...]?}. "pending" exists only while `gate keys rotate` is re-wrapping data keys; a
rotation that was interrupted finds it and finishes the job with the same new key. "retired" lists the
ids of master keys this installation has destroyed: a data key wrapped by one of them can never be
opened again (crypto-shredding), so a restored copy holding one is deleted, not reported as damage.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import secrets
import stat
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from gate.errors import ConflictError, KeyUnavailableError
from gate.secrets.files import fsync_dir

FORMAT = "gate-master-key/1"
KEY_BYTES = 32


@dataclass(frozen=True)
class MasterKey:
    id: str
    key: bytes

    @classmethod
    def generate(cls) -> MasterKey:
        return cls(id=secrets.token_hex(8), key=secrets.token_bytes(KEY_BYTES))

    def to_json(self) -> dict[str, str]:
        return {"id": self.id, "key": base64.b64encode(self.key).decode("ascii")}

    @classmethod
    def from_json(cls, data: object, where: Path) -> MasterKey:
        try:
            if not isinstance(data, dict):
                raise TypeError(f"expected a JSON object, got {type(data).__name__}")
            key = base64.b64decode(data["key"], validate=True)
            key_id = str(data["id"])
        except (KeyError, TypeError, ValueError) as err:
            raise KeyUnavailableError(
                f"The key file {where} is damaged ({err}). Restore it from your key backup."
            ) from err
        if len(key) != KEY_BYTES:
            raise KeyUnavailableError(
                f"The key file {where} holds a key of the wrong length. Restore it from your key backup."
            )
        return cls(id=key_id, key=key)


@dataclass(frozen=True)
class Keyring:
    current: MasterKey
    pending: MasterKey | None = None
    retired: tuple[str, ...] = ()

    def holds(self, key_id: str) -> bool:
        return any(key is not None and key.id == key_id for key in (self.current, self.pending))

    def by_id(self, key_id: str) -> MasterKey:
        for key in (self.current, self.pending):
            if key is not None and key.id == key_id:
                return key
        raise KeyUnavailableError(
            f"No master key with id {key_id} in the key file: it is the wrong key file, or a rotation "
            "was finished with another copy. Restore the key file that matches this database."
        )

    @property
    def sealing_key(self) -> MasterKey:
        """New data keys are wrapped under the key a rotation is moving to, so it never has to revisit them."""
        return self.pending or self.current


def keyring_to_json(keyring: Keyring) -> dict[str, object]:
    data: dict[str, object] = {"format": FORMAT, "current": keyring.current.to_json()}
    if keyring.pending:
        data["pending"] = keyring.pending.to_json()
    if keyring.retired:
        data["retired"] = list(keyring.retired)
    return data


def keyring_from_json(data: object, where: Path) -> Keyring:
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise KeyUnavailableError(f"The key file {where} is not a gate key file ({FORMAT}).")
    pending = data.get("pending")
    retired = data.get("retired", [])
    if not isinstance(retired, list):
        raise KeyUnavailableError(f"The key file {where} is damaged (retired is not a list).")
    return Keyring(
        current=MasterKey.from_json(data.get("current"), where),
        pending=MasterKey.from_json(pending, where) if pending else None,
        retired=tuple(str(key_id) for key_id in retired),
    )


class KeyStore(Protocol):
    """Where a gate's keyring lives: the local key file (one gate) or the site's key slots (many gates,
    gate.store.site_keys). Templates, rotation and upkeep only use this."""

    path: Path
    #: The alarm raised on /health while the keyring cannot be read.
    alarm: str

    def exists(self) -> bool: ...

    def load(self) -> Keyring: ...

    def save(self, keyring: Keyring) -> None: ...

    def exclusive(self) -> AbstractContextManager[None]: ...


class KeyFile:
    alarm = "key_file_fault"

    def __init__(self, path: Path) -> None:
        self.path = path

    def exists(self) -> bool:
        return self.path.exists()

    def create(self) -> Keyring:
        if self.path.exists():
            raise ConflictError(f"A key file already exists at {self.path}; refusing to overwrite it.")
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.path.parent, 0o700)
        keyring = Keyring(current=MasterKey.generate())
        self._write_new(self.path, keyring)
        return keyring

    def load(self) -> Keyring:
        try:
            info = self.path.stat()
            raw = self.path.read_text(encoding="utf-8")
        except FileNotFoundError as err:
            raise KeyUnavailableError(
                f"The master key file {self.path} is missing: face verification is unavailable "
                "(card and PIN still work). Restore the key file, or run `gate keys init` on a new installation."
            ) from err
        except OSError as err:
            raise KeyUnavailableError(f"The master key file {self.path} cannot be read: {err}.") from err
        if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise KeyUnavailableError(
                f"The master key file {self.path} is readable by other users: run `chmod 600 {self.path}`."
            )
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as err:
            raise KeyUnavailableError(
                f"The key file {self.path} is not a gate key file. Restore it from your key backup."
            ) from err
        return keyring_from_json(data, self.path)

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """One key-changing job at a time across processes (the service, the web UI, the CLI)."""
        lock_path = self.path.with_name(f".{self.path.name}.lock")
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def save(self, keyring: Keyring) -> None:
        """Replace atomically: a crash leaves either the old or the new file, never half of one."""
        tmp = self.path.with_name(f".{self.path.name}.{secrets.token_hex(4)}.tmp")
        self._write_new(tmp, keyring)
        os.replace(tmp, self.path)
        fsync_dir(self.path.parent)

    @staticmethod
    def _write_new(path: Path, keyring: Keyring) -> None:
        data = keyring_to_json(keyring)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle)
            handle.flush()
            os.fsync(handle.fileno())
