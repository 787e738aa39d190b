"""One personal field as one binary value (docs/erasure.md, "What is encrypted").

``version (1 byte) | key id (16 bytes) | nonce (12 bytes) | AES-256-GCM ciphertext and tag``,
with the associated data ``table.column:row-key`` so that a ciphertext copied into another row
or column fails to decrypt. The blind-index key for search is derived from the data key
(HKDF-SHA256, info ``blind-index``), so it dies with it.

kiosk.sealing stores every sealed personal field in this format; the blind-index tokens are
not used yet (docs/erasure.md says what is left).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any, NamedTuple

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from kiosk.keystore import KEY_ID_BYTES, DataKey

FORMAT_VERSION = 1
NONCE_BYTES = 12
HEADER_BYTES = 1 + KEY_ID_BYTES + NONCE_BYTES
BLIND_TOKEN_BYTES = 16


class ErasedValue(Exception):
    """The value's key has been destroyed: it is past its erase date and shown as "(erased)"."""


def associated_data(table: str, column: str, row_key: bytes) -> bytes:
    return f"{table}.{column}:".encode() + row_key


def encrypt(data_key: DataKey, plaintext: str | bytes, ad: bytes) -> bytes:
    """Text is sealed as UTF-8; bytes (a signed-document PDF) as they are."""
    nonce = secrets.token_bytes(NONCE_BYTES)
    raw = plaintext.encode() if isinstance(plaintext, str) else plaintext
    sealed = data_key.cipher.encrypt(nonce, raw, ad)
    return bytes([FORMAT_VERSION]) + data_key.key_id + nonce + sealed


def key_id_of(value: bytes) -> bytes:
    return value[1 : 1 + KEY_ID_BYTES]


def decrypt(find_key: Callable[[bytes], DataKey | None], value: bytes, ad: bytes) -> str:
    """The plaintext; raises ErasedValue when the key is gone, InvalidTag when tampered with."""
    return decrypt_bytes(find_key, value, ad).decode()


def decrypt_bytes(find_key: Callable[[bytes], DataKey | None], value: bytes, ad: bytes) -> bytes:
    """:func:`decrypt` for a value sealed as bytes."""
    if not value or value[0] != FORMAT_VERSION:
        raise ValueError("unknown encrypted field format")
    data_key = find_key(key_id_of(value))
    if data_key is None:
        raise ErasedValue
    nonce = value[1 + KEY_ID_BYTES : HEADER_BYTES]
    return data_key.cipher.decrypt(nonce, value[HEADER_BYTES:], ad)


def blind_index_key(data_key: DataKey) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"blind-index").derive(
        data_key.key
    )


#: A token's first bytes: the erase day of the key it is made under (days since 2000-01-01),
#: so that the token index keeps each day's tokens together (kiosk.blind_index).
TOKEN_DAY_BYTES = 2
_DAY_ZERO = date(2000, 1, 1)


def token_day(erase_day: date) -> bytes:
    return max(0, (erase_day - _DAY_ZERO).days).to_bytes(TOKEN_DAY_BYTES, "big")


def blind_token(index_key: bytes, folded_prefix: str, day: bytes = b"") -> bytes:
    """``day`` (from :func:`token_day`) followed by the HMAC, BLIND_TOKEN_BYTES in all."""
    digest = hmac.digest(index_key, folded_prefix.encode(), "sha256")
    return day + digest[: BLIND_TOKEN_BYTES - len(day)]


class TokenMaker(NamedTuple):
    """HMAC-SHA256 keyed with one index key, as the two hash states the key begins
    (RFC 2104: the key XOR ipad, then XOR opad), to copy for each token (:func:`blind_tokens`)."""

    inner: Any
    outer: Any


_BLOCK = 64  # SHA-256's block size


def token_maker(index_key: bytes) -> TokenMaker:
    if len(index_key) > _BLOCK:
        index_key = hashlib.sha256(index_key).digest()
    padded = index_key.ljust(_BLOCK, b"\0")
    return TokenMaker(
        hashlib.sha256(bytes(byte ^ 0x36 for byte in padded)),
        hashlib.sha256(bytes(byte ^ 0x5C for byte in padded)),
    )


def blind_tokens(
    makers: Sequence[tuple[bytes, TokenMaker] | tuple[bytes, TokenMaker, int]], folded_prefix: str
) -> list[bytes]:
    """``blind_token`` of one prefix under many keys, each a (day, :func:`token_maker`, ...)
    tuple (kiosk.blind_index.SearchKey).

    A search makes one token per live key (thousands at a site that keeps visits a year).
    Copying the two hash states a key begins costs 0.7 µs a token, against 1.2 µs for a copy
    of a keyed ``hmac.HMAC`` (Python code around the same states) and 1.7 µs for
    ``hmac.digest`` (keying anew each time), measured with 3,884 keys."""
    message = folded_prefix.encode()
    size = BLIND_TOKEN_BYTES
    tokens = []
    for made in makers:
        day = made[0]
        inner, outer = made[1]
        inner = inner.copy()
        inner.update(message)
        outer = outer.copy()
        outer.update(inner.digest())
        tokens.append(day + outer.digest()[: size - len(day)])
    return tokens


__all__ = [
    "ErasedValue",
    "InvalidTag",
    "TokenMaker",
    "associated_data",
    "blind_index_key",
    "blind_token",
    "blind_tokens",
    "decrypt",
    "decrypt_bytes",
    "encrypt",
    "key_id_of",
    "token_day",
    "token_maker",
]
