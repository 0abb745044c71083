"""A file on the gate's own disk sealed with a gate-local key (AES-256-GCM), written atomically.

For data the gate keeps for itself (the offline copy of card numbers and PIN hashes), not shared with
other gates: the key is this gate's own, in its own file beside the master key (0600 in the 0700 key
folder, created on first use), so a second gate or a copied disk image without the key folder cannot
read it. The master key is not used for this: it is the site's (face templates), may be rotated
elsewhere, and must never be needed just to open the door by card.

File layout: MAGIC, a 12-byte nonce, then the AES-GCM ciphertext of the payload. The associated data
(`purpose`) binds a file to what it is for, so one sealed file cannot be passed off as another.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import stat
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from gate.errors import GateError
from gate.secrets.files import fsync_dir

LOCAL_KEY_FORMAT = "gate-local-key/1"
LOCAL_KEY_NAME = "gate-local.key"
MAGIC = b"gate-sealed/1\n"
NONCE_BYTES = 12
KEY_BYTES = 32


class SealedFileError(GateError):
    """A sealed file or its key cannot be used (missing, damaged, tampered, or readable by others)."""


def local_key_path(master_key_file: Path) -> Path:
    """The gate-local key lives in the key folder, beside the master key file."""
    return master_key_file.parent / LOCAL_KEY_NAME


def load_or_create_local_key(path: Path) -> bytes:
    """The gate-local key; created (0600, folder 0700) the first time it is needed."""
    try:
        return _load_local_key(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = secrets.token_bytes(KEY_BYTES)
    body = json.dumps({"format": LOCAL_KEY_FORMAT, "key": base64.b64encode(key).decode("ascii")}).encode()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _load_local_key(path)  # another process made it first: use theirs
    try:
        os.write(fd, body)
        os.fsync(fd)
    finally:
        os.close(fd)
    fsync_dir(path.parent)
    return key


def _load_local_key(path: Path) -> bytes:
    info = path.stat()  # FileNotFoundError: the caller creates the key
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SealedFileError(f"The gate-local key file {path} is readable by other users: run `chmod 600 {path}`.")
    try:
        data = json.loads(path.read_bytes())
        key = base64.b64decode(data["key"], validate=True) if data.get("format") == LOCAL_KEY_FORMAT else b""
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
        raise SealedFileError(f"The gate-local key file {path} is damaged ({err}).") from err
    if len(key) != KEY_BYTES:
        raise SealedFileError(f"The gate-local key file {path} is not a gate-local key.")
    return key


def write_sealed(path: Path, key: bytes, purpose: str, payload: bytes) -> None:
    """Encrypt and replace `path` atomically (a crash leaves the old file or the new one), 0600 in a
    0700 folder."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    nonce = secrets.token_bytes(NONCE_BYTES)
    sealed = MAGIC + nonce + AESGCM(key).encrypt(nonce, payload, purpose.encode())
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, sealed)
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    os.close(fd)
    os.replace(tmp, path)
    fsync_dir(path.parent)


def read_sealed(path: Path, key: bytes, purpose: str) -> bytes:
    """The payload; FileNotFoundError when there is no file, SealedFileError when it does not open."""
    raw = path.read_bytes()
    if not raw.startswith(MAGIC) or len(raw) < len(MAGIC) + NONCE_BYTES + 16:
        raise SealedFileError(f"{path} is not a sealed gate file.")
    nonce = raw[len(MAGIC):len(MAGIC) + NONCE_BYTES]
    try:
        return AESGCM(key).decrypt(nonce, raw[len(MAGIC) + NONCE_BYTES:], purpose.encode())
    except InvalidTag as err:
        raise SealedFileError(f"{path} fails authentication: it was altered, or sealed with another key.") from err

