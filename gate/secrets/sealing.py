"""A gate's own key pair and sealing a keyring for one gate (ECIES: X25519 + HKDF-SHA256 + AES-256-GCM).

Many gates share one site master key without copying files: the keyring is stored in the database once
per approved gate, sealed for that gate's public key (gate.store.site_keys). Only the gate holding the
private key can open its copy. Each seal uses a fresh ephemeral key, so two seals of the same keyring
look unrelated.

The private key file (`<key folder>/gate.key`, 0600 in a 0700 folder) is JSON:
{"format": "gate-site-key/1", "gate": NAME, "private": base64 of 32 bytes}. A gate replaces its key
pair every time it picks up a new keyring (gate.store.site_keys), so a private key stolen later does not
open the copies of destroyed site keys that older database backups still hold.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from gate.errors import ConflictError, KeyUnavailableError
from gate.secrets.files import fsync_dir

FORMAT = "gate-site-key/1"
FILE_NAME = "gate.key"
#: Written before the database learns the new public key, promoted after: a crash in between leaves
#: both files, and the gate uses whichever matches its slot.
NEXT_NAME = "gate.key.next"
_INFO = b"gate-site-slot/1"
_PUBLIC = 32
_NONCE = 12


def _raw_public(key: X25519PrivateKey | X25519PublicKey) -> bytes:
    public = key.public_key() if isinstance(key, X25519PrivateKey) else key
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _aead_key(shared: bytes, ephemeral: bytes, recipient: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=ephemeral + recipient, info=_INFO).derive(shared)


def seal(recipient_public: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """ephemeral public (32) | nonce (12) | AES-GCM ciphertext and tag."""
    try:
        recipient = X25519PublicKey.from_public_bytes(recipient_public)
    except ValueError as err:
        raise KeyUnavailableError(f"A gate's public key is not an X25519 key ({err}).") from err
    ephemeral = X25519PrivateKey.generate()
    ephemeral_public = _raw_public(ephemeral)
    key = _aead_key(ephemeral.exchange(recipient), ephemeral_public, recipient_public)
    nonce = secrets.token_bytes(_NONCE)
    return ephemeral_public + nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


@dataclass(frozen=True)
class GateKeyPair:
    gate: str
    private: X25519PrivateKey
    path: Path

    @property
    def public(self) -> bytes:
        return _raw_public(self.private)

    def open(self, sealed: bytes, aad: bytes) -> bytes:
        if len(sealed) < _PUBLIC + _NONCE + 16:
            raise KeyUnavailableError(f"The site key slot of gate {self.gate} is damaged (too short).")
        ephemeral_public, nonce, body = sealed[:_PUBLIC], sealed[_PUBLIC:_PUBLIC + _NONCE], sealed[_PUBLIC + _NONCE:]
        try:
            shared = self.private.exchange(X25519PublicKey.from_public_bytes(ephemeral_public))
            return AESGCM(_aead_key(shared, ephemeral_public, self.public)).decrypt(nonce, body, aad)
        except (InvalidTag, ValueError) as err:
            raise KeyUnavailableError(
                f"The site key slot of gate {self.gate} does not open with this gate's private key {self.path}: "
                "it is damaged or was written for another key. Face is unavailable here; card and PIN work."
            ) from err

    @classmethod
    def generate(cls, gate: str, path: Path) -> GateKeyPair:
        return cls(gate, X25519PrivateKey.generate(), path)

    def write(self, *, replace: bool = False) -> None:
        """0600 in a 0700 folder, fsynced; never overwrites unless `replace` (then atomically)."""
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.path.parent, 0o700)
        if self.path.exists() and not replace:
            raise ConflictError(f"A gate key already exists at {self.path}; this gate has joined a site already.")
        raw = self.private.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                         serialization.NoEncryption())
        data = {"format": FORMAT, "gate": self.gate, "private": base64.b64encode(raw).decode("ascii")}
        tmp = self.path.with_name(f".{self.path.name}.{secrets.token_hex(4)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.path)
        fsync_dir(self.path.parent)

    @classmethod
    def read(cls, path: Path) -> GateKeyPair:
        try:
            info = path.stat()
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as err:
            raise KeyUnavailableError(
                f"The gate key {path} is missing: face is unavailable here (card and PIN work). "
                "Run `gate join` again and have the gate approved."
            ) from err
        except (OSError, ValueError) as err:
            raise KeyUnavailableError(f"The gate key {path} cannot be read ({err}).") from err
        if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise KeyUnavailableError(f"The gate key {path} is readable by other users: run `chmod 600 {path}`.")
        try:
            if not isinstance(data, dict) or data.get("format") != FORMAT:
                raise ValueError(f"not a {FORMAT} file")
            raw = base64.b64decode(data["private"], validate=True)
            return cls(str(data["gate"]), X25519PrivateKey.from_private_bytes(raw), path)
        except (KeyError, TypeError, ValueError) as err:
            raise KeyUnavailableError(f"The gate key {path} is damaged ({err}).") from err


def promote(next_path: Path, path: Path) -> None:
    """The next key pair becomes the gate's key; the old private key is gone with the replaced file."""
    os.replace(next_path, path)
    fsync_dir(path.parent)

