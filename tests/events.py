"""The events a node sends, seen from its notifier: `capture_events` (like Zulip's capture_send_event_calls)
and the test-only `Marker` that `SocketProbe.assert_silent` sends (tests/sockets.py).

    async with capture_events(portal.container) as sent:
        await act(owner, chat_id, "unban", member.id)  # a member whose socket stayed in the room
    assert sent.names() == ["user:unbanned", "room:members", "chat:status"]
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, ClassVar

from portal.container import Container
from portal.events import CATALOGUE, Event, SessionEnded
from portal.services.notifier import Rooms, chat_room, session_room


class Marker(Event):
    """A test-only event (not in the catalogue) a node sends one socket: whatever the node had sent that
    socket before arrives before it."""

    name: ClassVar[str] = "test:marker"
    token: str


@dataclass(frozen=True)
class SentEvent:
    """One event as the node sent it. `rooms` None is every connected socket; an eviction's rooms are the
    chat room (only `user_id`'s sockets there, when set) and the other rooms it names."""

    name: str
    payload: Any
    rooms: tuple[str, ...] | None
    user_id: int | None = None


class SentEvents(list[SentEvent]):
    def names(self) -> list[str]:
        return [event.name for event in self]

    def named(self, name: str) -> list[SentEvent]:
        return [event for event in self if event.name == name]

    def about(self, chat_id: int) -> SentEvents:
        """The events whose payload names `chat_id` (other tests' chats share the server)."""
        return SentEvents(
            e for e in self if isinstance(e.payload, dict) and e.payload.get("chat_id") == chat_id
        )


def _rooms(room: Rooms | None) -> tuple[str, ...] | None:
    if room is None:
        return None
    return (room,) if isinstance(room, str) else tuple(room)


def _checked(name: str, payload: Any) -> None:
    """Every event sent is in the catalogue, and its payload is exactly what its model makes of it (this
    holds the services that still emit by name to the catalogue too)."""
    model = CATALOGUE.get(name)
    assert model is not None, f"{name!r} is not in portal.events.CATALOGUE"
    assert model.from_payload(payload).payload() == payload, f"{name} payload off its model: {payload!r}"


@contextlib.asynccontextmanager
async def capture_events(container: Container) -> AsyncIterator[SentEvents]:
    """Record, in order, what `container`'s notifier sends while the block runs (it is still sent): room
    emits (`send` goes through `emit`), evictions that carry an event, bus deliveries (`deliver`) and
    `session:ended`. Not recorded: frames, the `chat:list` a connecting socket gets, and markers. Events
    that other nodes send are theirs to capture. Each payload is checked against its catalogue model."""
    notifier = container.notifier
    sent = SentEvents()

    def record(name: str, payload: Any, rooms: tuple[str, ...] | None, user_id: int | None = None) -> None:
        if name == Marker.name:
            return
        _checked(name, payload)
        sent.append(SentEvent(name, payload, rooms, user_id))

    emit, evict, end_session, deliver = notifier.emit, notifier.evict, notifier.end_session, notifier.deliver

    async def emitting(event: str, data: Any, *, room: Rooms | None, skip_sid: str | None = None) -> None:
        record(event, data, _rooms(room))
        await emit(event, data, room=room, skip_sid=skip_sid)

    async def evicting(
        chat_id: int,
        *,
        event: Event | None = None,
        user_id: int | None = None,
        also_rooms: list[str] | None = None,
    ) -> None:
        if event is not None:
            record(event.name, event.payload(), (chat_room(chat_id), *(also_rooms or [])), user_id)
        await evict(chat_id, event=event, user_id=user_id, also_rooms=also_rooms)

    async def delivering(event: Event, *, room: Rooms) -> None:
        record(event.name, event.payload(), _rooms(room))
        await deliver(event, room=room)

    async def ending(token_hash: str, reason: str) -> None:
        record(SessionEnded.name, SessionEnded(reason=reason).payload(), (session_room(token_hash),))
        await end_session(token_hash, reason)

    replaced = {"emit": emitting, "evict": evicting, "end_session": ending, "deliver": delivering}
    shadowed = {name: vars(notifier)[name] for name in replaced if name in vars(notifier)}  # a nested capture
    for name, method in replaced.items():
        setattr(notifier, name, method)
    try:
        yield sent
    finally:
        for name in replaced:
            if name in shadowed:
                setattr(notifier, name, shadowed[name])
            else:
                delattr(notifier, name)
