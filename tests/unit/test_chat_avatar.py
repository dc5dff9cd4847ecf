"""A chat's `avatar_url` is resolved from its stored `avatar_source` (03 §2.1)."""

from __future__ import annotations

import pytest

from portal.services.chat_views import chat_avatar_url


@pytest.mark.parametrize(
    ("source", "url"),
    [
        (None, None),
        ("discord_0", "https://cdn.discordapp.com/embed/avatars/0.png"),
        ("discord_5", "https://cdn.discordapp.com/embed/avatars/5.png"),
        ("discord_6", None),
        ("https://cdn.example.org/chat.png", "https://cdn.example.org/chat.png"),
        ("javascript:alert(1)", None),
    ],
)
def test_the_stored_key_becomes_a_url(source: str | None, url: str | None) -> None:
    assert chat_avatar_url(source) == url
