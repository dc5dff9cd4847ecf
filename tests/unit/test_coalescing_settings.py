"""The coalescing intervals (docs/configuration.md): seconds, 0 turns them off, negative is refused."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from portal.config import Settings


@pytest.mark.parametrize("name", ["key_ask_interval", "room_list_interval"])
def test_an_interval_takes_0_and_any_positive_seconds_and_refuses_negative(name: str) -> None:
    assert getattr(Settings(**{name: 0}), name) == 0
    assert getattr(Settings(**{name: 0.001}), name) == 0.001
    with pytest.raises(ValidationError):
        Settings(**{name: -0.001})


def test_the_defaults_are_documented_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PORTAL_KEY_ASK_INTERVAL", raising=False)
    monkeypatch.delenv("PORTAL_ROOM_LIST_INTERVAL", raising=False)
    settings = Settings()
    assert settings.key_ask_interval == settings.key_distributor_timeout == 5
    assert settings.room_list_interval == 0.5


def test_the_environment_sets_the_key_ask_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORTAL_KEY_ASK_INTERVAL", "2.5")
    assert Settings().key_ask_interval == 2.5
    monkeypatch.setenv("PORTAL_KEY_ASK_INTERVAL", "-1")
    with pytest.raises(ValidationError):
        Settings()
