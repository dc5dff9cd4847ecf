"""The SDK's E2EE primitives (00 §4): wrapping chat keys for sessions and CiphertextV2 messages."""

from __future__ import annotations

import json

import pytest

from portal.client.e2ee import (
    E2EEError,
    KeyPair,
    b64decode,
    decrypt,
    encrypt,
    envelope_epoch,
    new_chat_key,
    wrap,
)


def test_a_wrapped_chat_key_opens_only_for_its_recipient() -> None:
    alice, bob = KeyPair.generate(), KeyPair.generate()
    chat_key = new_chat_key()
    blob = wrap(chat_key, alice.public_key_b64)
    assert alice.unwrap(blob) == chat_key
    with pytest.raises(E2EEError):
        bob.unwrap(blob)


def test_public_keys_are_32_bytes_of_base64() -> None:
    assert len(b64decode(KeyPair.generate().public_key_b64)) == 32


def test_message_round_trip_and_envelope_shape() -> None:
    chat_key = new_chat_key()
    content = encrypt(chat_key, 17, "hello, world ✓")
    bundle = json.loads(content)
    assert set(bundle) == {"v", "epoch", "ct"} and bundle["v"] == 2 and bundle["epoch"] == 17
    assert len(b64decode(bundle["ct"])) >= 40  # 24-byte nonce + 16-byte MAC + the text (00 §4)
    assert envelope_epoch(content) == 17
    assert decrypt(chat_key, content) == "hello, world ✓"


def test_same_text_twice_gives_different_ciphertexts() -> None:
    chat_key = new_chat_key()
    assert encrypt(chat_key, 1, "same") != encrypt(chat_key, 1, "same")


def test_a_message_does_not_open_with_another_key() -> None:
    content = encrypt(new_chat_key(), 3, "secret")
    with pytest.raises(E2EEError):
        decrypt(new_chat_key(), content)


@pytest.mark.parametrize("content", ["not json", "{}", '{"v":2,"epoch":1,"ct":"***"}', "[]"])
def test_malformed_messages_raise_a_clear_error(content: str) -> None:
    with pytest.raises(E2EEError):
        decrypt(new_chat_key(), content)


def test_a_blob_that_is_not_base64_is_refused() -> None:
    with pytest.raises(E2EEError):
        KeyPair.generate().unwrap("%%%")
