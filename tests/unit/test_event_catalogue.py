"""The event catalogue (portal/events.py) and docs/realtime.md list the same server → client events, and the
payloads the models make are the ones documented (same keys, same order, nulls included).

The document's rule: in the "Server → client" section, the first cell of each table row names its events in
backticks (several separated by " / "); the payload cell's backticked examples that are plain JSON are
payloads of those events.
"""

from __future__ import annotations

import inspect
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from portal import events
from portal.browser.chromium import ChromiumVm
from portal.browser.neko_docker import NekoVm
from portal.db.models import Chat, Message, Notification, User
from portal.events import CATALOGUE, Event, MessageNew, NotificationNew, RoomConfig, VmCredentials
from portal.services.messages import message_view
from portal.services.notifications import notification_view

DOC = Path(__file__).resolve().parents[2] / "docs" / "realtime.md"
SECTION = "## Server → client"


def server_to_client_rows() -> list[list[str]]:
    """The cells of each table row of the section (header and separator left out)."""
    text = DOC.read_text(encoding="utf-8")
    start = text.index(SECTION) + len(SECTION)
    end = text.find("\n## ", start)
    section = text[start : end if end != -1 else len(text)]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    cells = [[cell.strip() for cell in row.strip("|").split(" | ")] for row in rows]
    return [row for row in cells[2:] if row]


def documented_events(row: list[str]) -> list[str]:
    return re.findall(r"`([^`]+)`", row[0])


def json_examples(cell: str) -> list[Any]:
    examples = []
    for snippet in re.findall(r"`([^`]+)`", cell):
        if snippet[:1] in "{[":
            try:
                examples.append(json.loads(snippet))
            except json.JSONDecodeError:
                continue  # an outline such as {"id", "username", …}, not a payload
    return examples


def wire(data: Any) -> str:
    """The bytes a payload goes out as (python-socketio encodes with json.dumps)."""
    return json.dumps(data)


def test_the_document_lists_exactly_the_catalogue() -> None:
    documented = [name for row in server_to_client_rows() for name in documented_events(row)]
    assert len(documented) == len(set(documented)), "an event is listed twice in docs/realtime.md"
    assert sorted(documented) == sorted(CATALOGUE)


def test_every_event_model_is_in_the_catalogue_under_its_name() -> None:
    models = [
        model
        for _, model in inspect.getmembers(events, inspect.isclass)
        if issubclass(model, Event) and model is not Event
    ]
    assert sorted(model.__name__ for model in models) == sorted(
        model.__name__ for model in CATALOGUE.values()
    )
    for name, model in CATALOGUE.items():
        assert model.name == name
        camel = "".join(part.capitalize() for part in re.split(r"[:_]", name))
        assert model.__name__ == camel, f"{name} is modelled by {model.__name__}, expected {camel}"


@pytest.mark.parametrize(
    ("names", "example"),
    [
        pytest.param(documented_events(row), example, id=" / ".join(documented_events(row)))
        for row in server_to_client_rows()
        for example in json_examples(row[-1])
    ],
)
def test_each_documented_payload_is_what_its_model_sends(names: list[str], example: Any) -> None:
    made = []
    for name in names:
        try:
            made.append(wire(CATALOGUE[name].from_payload(example).payload()))
        except ValueError:
            continue  # the example of the row's other event
    assert wire(example) in made, f"no model of {names} sends {example}"


def test_the_documented_history_message_is_what_message_new_sends() -> None:
    text = DOC.read_text(encoding="utf-8")
    block = text.split("The history message object (`message:new`):\n```json\n", 1)[1].split("```", 1)[0]
    example = json.loads(block)
    assert wire(MessageNew.from_payload(example).payload()) == wire(example)


# ---- payloads built as the services build them ----------------------------------------------------------


def test_message_new_keeps_the_history_message_object() -> None:
    now = datetime(2026, 11, 28, 20, 34, 21, 200847, tzinfo=UTC)
    chat = Chat(id=7, name="movie-night")
    sender = User(id=5, username="bob", avatar_source=None)
    for author in (None, sender):
        message = Message(
            chat_id=7,
            ms=1764361234567,
            seq=0,
            sender_id=author and author.id,
            sender_level=author and 0,
            type="user" if author else "system",
            content="x",
            epoch=3,
            created_at=now,
        )
        view = message_view(message, chat, author)
        assert wire(MessageNew.model_validate(view).payload()) == wire(view)


def test_notification_new_is_the_notification_object() -> None:
    row = Notification(
        id=1,
        user_id=5,
        title="Welcome",
        body="Hello",
        type="info",
        read_at=None,
        created_at=datetime(2026, 1, 2, 3, 4, 5, 6000, tzinfo=UTC),
        created_by=None,
    )
    view = notification_view(row)
    assert wire(NotificationNew(**view.model_dump()).payload()) == wire(view.model_dump(mode="json"))


@pytest.mark.parametrize(
    "changed",
    [
        # a portal config update: the flags, the name, then slug and visibility, then the wipe preset
        {
            "history_visible": False,
            "locked_controls": True,
            "name": "x",
            "slug": None,
            "visibility": "private",
        },
        {"allow_control_requests": True, "slug": "movie-night", "visibility": "public", "wipe_preset": "1h"},
        {"wipe_preset": None},
        # an admin update: name, label, description, browser config, then slug and visibility
        {
            "name": "x",
            "label": None,
            "description": "d",
            "browser_config": {"browser": "chromium", "start_url": None, "kiosk": True},
            "slug": "s",
            "visibility": "official",
        },
    ],
)
def test_room_config_sends_the_changed_fields_in_their_order(changed: dict[str, Any]) -> None:
    payload = {"chat_id": 7, **changed}
    assert wire(RoomConfig.model_validate(payload).payload()) == wire(payload)


async def test_vm_credentials_keep_each_backends_shape() -> None:
    chromium = ChromiumVm.__new__(ChromiumVm)  # only the fields credentials() reads
    chromium.chat_id, chromium.width, chromium.height = 7, 1280, 720
    neko = NekoVm.__new__(NekoVm)
    neko.chat_id, neko.url = 7, "http://vm-host:49153"
    neko.admin_password, neko.member_password = "admin-secret", "member-secret"
    for credentials in (await chromium.credentials(5, "host"), await neko.credentials(5, "admin")):
        assert wire(VmCredentials.model_validate(credentials).payload()) == wire(credentials)
