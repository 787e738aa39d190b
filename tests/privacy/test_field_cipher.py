"""Encrypted personal fields (kiosk/field_cipher.py): format, binding to row and column,
erasure by key destruction, blind-index tokens per day key."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from kiosk.field_cipher import (
    ErasedValue,
    InvalidTag,
    associated_data,
    blind_index_key,
    blind_token,
    blind_tokens,
    decrypt,
    encrypt,
    token_maker,
)
from kiosk.keystore import KeyStore, MasterKey

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
DAY = date(2027, 1, 3)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[KeyStore]:
    opened = KeyStore.open(
        f"sqlite:///{tmp_path / 'keys.sqlite3'}", MasterKey(secrets.token_bytes(32)), create=True
    )
    yield opened
    opened.close()


def test_round_trip_and_no_plaintext_in_the_value(store: KeyStore):
    key = store.key_for(1, DAY, now=NOW)
    row = secrets.token_bytes(16)
    value = encrypt(key, "Åsa Öberg", associated_data("visits", "visitor_name", row))
    assert "Åsa".encode() not in value
    assert value[1:17] == key.key_id
    ad = associated_data("visits", "visitor_name", row)
    assert decrypt(store.key, value, ad) == "Åsa Öberg"


def test_a_value_copied_to_another_row_or_column_does_not_decrypt(store: KeyStore):
    key = store.key_for(1, DAY, now=NOW)
    row = secrets.token_bytes(16)
    value = encrypt(key, "Åsa", associated_data("visits", "visitor_name", row))
    with pytest.raises(InvalidTag):
        decrypt(store.key, value, associated_data("visits", "company", row))
    with pytest.raises(InvalidTag):
        decrypt(
            store.key, value, associated_data("visits", "visitor_name", secrets.token_bytes(16))
        )


def test_destroying_the_key_erases_every_copy_of_the_value(store: KeyStore):
    key = store.key_for(1, DAY, now=NOW)
    ad = associated_data("visits", "email", b"r" * 16)
    backup_copy = encrypt(key, "asa@example.com", ad)
    store.destroy(1, through=DAY, now=NOW)
    with pytest.raises(ErasedValue):
        decrypt(store.key, backup_copy, ad)


def test_blind_tokens_are_keyed_per_day_key(store: KeyStore):
    first = blind_index_key(store.key_for(1, DAY, now=NOW))
    second = blind_index_key(store.key_for(1, date(2027, 1, 4), now=NOW))
    assert blind_token(first, "as") == blind_token(first, "as")
    assert blind_token(first, "as") != blind_token(second, "as")
    assert len(blind_token(first, "as")) == 16


@pytest.mark.parametrize("key_length", [0, 1, 32, 64, 65, 131])
@pytest.mark.parametrize("prefix", ["a", "anna", "åsa-öberg", "ö" * 40])
def test_a_search_makes_the_tokens_the_index_holds(key_length: int, prefix: str):
    """The search's token maker (two hash states copied per token) is HMAC-SHA256: the same
    tokens as blind_token, which the index rows are made with, for keys shorter than, as long
    as and longer than SHA-256's block."""
    key = bytes(range(key_length % 256)) * (key_length // 256 + 1)
    key = key[:key_length]
    day = b"\x12\x34"
    assert blind_tokens([(day, token_maker(key))], prefix) == [blind_token(key, prefix, day)]
    expected = hmac.new(key, prefix.encode(), hashlib.sha256).digest()[:14]
    assert blind_tokens([(day, token_maker(key), 7)], prefix) == [day + expected]


def test_the_token_maker_gives_rfc_4231_hmac_sha256():
    # RFC 4231, test case 2: key "Jefe", data "what do ya want for nothing?".
    maker = token_maker(b"Jefe")
    token = blind_tokens([(b"", maker)], "what do ya want for nothing?")[0]
    assert token == bytes.fromhex("5bdcc146bf60754e6a042426089575c7")
