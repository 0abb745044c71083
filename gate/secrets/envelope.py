"""Envelope encryption of face templates with AES-256-GCM.

Each template gets its own data key; the data key is stored wrapped by the master key. The associated
data binds a ciphertext to its template id, resident pseudonym and model version, so a row copied onto
another resident, or relabelled with another model, fails to decrypt instead of matching.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import numpy as np
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from gate.errors import TemplateIntegrityError
from gate.secrets.keys import MasterKey

ENCODING_DIMENSIONS = 128
NONCE_BYTES = 12


@dataclass(frozen=True)
class SealedTemplate:
    nonce: bytes
    ciphertext: bytes
    kek_id: str
    wrapped_key: bytes


def _template_aad(template_id: str, pseudonym: str, model_version: str, count: int) -> bytes:
    return f"gate-template/1|{template_id}|{pseudonym}|{model_version}|{count}".encode()


def _wrap_aad(template_id: str, kek_id: str) -> bytes:
    return f"gate-data-key/1|{template_id}|{kek_id}".encode()


def as_encoding_matrix(encodings: np.ndarray) -> np.ndarray:
    """float32, shape (k, 128): dlib computes in float32, so nothing is lost by storing it so."""
    matrix = np.asarray(encodings, dtype=np.float32)
    if matrix.ndim == 1:
        matrix = matrix.reshape(1, -1)
    if matrix.ndim != 2 or matrix.shape[1] != ENCODING_DIMENSIONS or matrix.shape[0] == 0:
        raise ValueError(f"expected face encodings of shape (k, {ENCODING_DIMENSIONS}), got {matrix.shape}")
    if not np.all(np.isfinite(matrix)):
        raise ValueError("face encodings contain NaN or infinity")
    return np.ascontiguousarray(matrix)


def wrap_data_key(master: MasterKey, template_id: str, data_key: bytes) -> bytes:
    nonce = secrets.token_bytes(NONCE_BYTES)
    return nonce + AESGCM(master.key).encrypt(nonce, data_key, _wrap_aad(template_id, master.id))


def unwrap_data_key(master: MasterKey, template_id: str, wrapped: bytes) -> bytes:
    try:
        nonce, sealed = wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:]
        return AESGCM(master.key).decrypt(nonce, sealed, _wrap_aad(template_id, master.id))
    except InvalidTag as err:
        raise TemplateIntegrityError(
            f"The data key of template {template_id} does not open with master key {master.id}: "
            "wrong key file or tampered row."
        ) from err


def seal(master: MasterKey, template_id: str, pseudonym: str, model_version: str,
         encodings: np.ndarray) -> SealedTemplate:
    matrix = as_encoding_matrix(encodings)
    data_key = AESGCM.generate_key(bit_length=256)
    nonce = secrets.token_bytes(NONCE_BYTES)
    aad = _template_aad(template_id, pseudonym, model_version, matrix.shape[0])
    ciphertext = AESGCM(data_key).encrypt(nonce, matrix.tobytes(), aad)
    return SealedTemplate(nonce, ciphertext, master.id, wrap_data_key(master, template_id, data_key))


def open_sealed(
    master: MasterKey, template_id: str, pseudonym: str, model_version: str, count: int,
    nonce: bytes, ciphertext: bytes, wrapped_key: bytes,
) -> np.ndarray:
    data_key = unwrap_data_key(master, template_id, wrapped_key)
    try:
        plain = AESGCM(data_key).decrypt(nonce, ciphertext, _template_aad(template_id, pseudonym, model_version, count))
    except InvalidTag as err:
        raise TemplateIntegrityError(
            f"Template {template_id} failed authentication: it was copied onto another resident, "
            "relabelled, or altered. It will not be used."
        ) from err
    return np.frombuffer(plain, dtype=np.float32).reshape(count, ENCODING_DIMENSIONS).copy()
