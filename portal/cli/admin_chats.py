"""`portal admin chats ...` (docs/cli.md): the `/v1/admin/chats/*` actions, with `actor=None`."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from portal.cli.common import JsonOption, emit, fail, json_object, parse, run, table
from portal.schemas.chats import AdminChatDetailOut, AdminChatOut, AdminCreateChatIn, AdminUpdateChatIn

chats_app = typer.Typer(help="Group chats: official chats, owners, VMs, kicks.", no_args_is_help=True)

ChatId = Annotated[int, typer.Option("--chat-id", help="the chat's id")]
BrowserConfig = Annotated[
    str | None,
    typer.Option(help='JSON object, e.g. \'{"browser": "firefox", "start_url": null, "kiosk": false}\''),
]
LIST_COLUMNS = ["id", "name", "visibility", "slug", "owner_id", "label", "last_activity_at"]
MAX_LIMIT = 1000


@chats_app.command("create-official")
def chats_create_official(
    name: Annotated[str, typer.Option(help="2–64 characters")],
    slug: Annotated[str, typer.Option(help="2–32 characters: a-z, 0-9 and -")],
    owner_id: Annotated[
        int | None, typer.Option(help="the owner (default: the Owner with the lowest id)")
    ] = None,
    description: Annotated[str | None, typer.Option(help="up to 500 characters")] = None,
    allow_control_requests: Annotated[
        bool, typer.Option("--allow-control-requests", help="viewers may request VM control")
    ] = False,
    browser_config: BrowserConfig = None,
    as_json: JsonOption = False,
) -> None:
    """Create an official chat (POST /v1/admin/chats); slots apply to its owner."""
    fields: dict[str, Any] = {"name": name, "slug": slug, "allow_control_requests": allow_control_requests}
    if description is not None:
        fields["description"] = description
    if browser_config is not None:
        fields["browser_config"] = json_object("--browser-config", browser_config)
    body = parse(AdminCreateChatIn, fields)
    state = run(lambda c: c.admin_chats.create_official(body, actor=None, owner_id=owner_id))
    emit(
        state,
        as_json,
        f"created official chat {state.chat_id} ({state.chat_name}, /{state.slug}) owned by {state.username}",
    )


@chats_app.command("list")
def chats_list(
    q: Annotated[str | None, typer.Option(help="part of the name or slug, or an exact id")] = None,
    offset: Annotated[int, typer.Option(min=0, help="chats to skip")] = 0,
    limit: Annotated[
        int | None, typer.Option(min=1, max=MAX_LIMIT, help=f"at most this many (1–{MAX_LIMIT}; default all)")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Every group chat, public and private, oldest first (GET /v1/admin/chats)."""
    chats = [chat for chat in run(lambda c: c.admin_chats.list()) if _matches(chat, q)]
    chats = chats[offset:] if limit is None else chats[offset : offset + limit]
    emit(chats, as_json, table([chat.model_dump(mode="json") for chat in chats], LIST_COLUMNS))


def _matches(chat: AdminChatOut, q: str | None) -> bool:
    if not q:
        return True
    needle = q.strip().lower()
    if needle.isdigit() and int(needle) == chat.id:
        return True
    return needle in chat.name.lower() or needle in (chat.slug or "")


@chats_app.command("show")
def chats_show(chat_id: ChatId, as_json: JsonOption = False) -> None:
    """One chat with its browser config and members (GET /v1/admin/chats/{id})."""
    detail = run(lambda c: c.admin_chats.detail(chat_id, actor=None))
    emit(detail, as_json, _detail_text(detail))


def _detail_text(detail: AdminChatDetailOut) -> str:
    config = detail.browser_config
    lines = [
        f"chat {detail.id}: {detail.name}",
        f"  visibility   {detail.visibility}" + (f" (/{detail.slug})" if detail.slug else ""),
        f"  owner_id     {detail.owner_id if detail.owner_id is not None else '-'}",
        f"  label        {detail.label or '-'}",
        f"  description  {detail.description or '-'}",
        f"  browser      {config.browser}, start_url {config.start_url or '-'}, "
        f"kiosk {'yes' if config.kiosk else 'no'}",
        f"  created      {detail.created_at.isoformat()}",
        f"  last active  {detail.last_activity_at.isoformat()}",
        f"members ({detail.member_count}, owner not counted):",
    ]
    rows = [
        {
            "user_id": member.user.id,
            "username": member.user.username,
            "permission_level": member.user.permission_level,
            "online": member.is_online,
            "joined_at": member.joined_at.isoformat(),
        }
        for member in detail.members
    ]
    lines.append(table(rows, ["user_id", "username", "permission_level", "online", "joined_at"]))
    return "\n".join(lines)


@chats_app.command("update")
def chats_update(
    chat_id: ChatId,
    name: Annotated[str | None, typer.Option(help="2–64 characters")] = None,
    visibility: Annotated[str | None, typer.Option(help="official, public or private")] = None,
    label: Annotated[str | None, typer.Option(help="1–64 characters")] = None,
    clear_label: Annotated[bool, typer.Option("--clear-label", help="remove the label")] = False,
    description: Annotated[str | None, typer.Option(help="up to 500 characters")] = None,
    clear_description: Annotated[bool, typer.Option("--clear-description")] = False,
    slug: Annotated[str | None, typer.Option(help="2–32 characters: a-z, 0-9 and -")] = None,
    clear_slug: Annotated[
        bool, typer.Option("--clear-slug", help="remove the slug (private unless --visibility)")
    ] = False,
    browser_config: BrowserConfig = None,
    as_json: JsonOption = False,
) -> None:
    """Change only the fields given (POST /v1/admin/chats/{id}/update)."""
    fields: dict[str, Any] = {}
    for field, value, clear in (
        ("name", name, False),
        ("visibility", visibility, False),
        ("label", label, clear_label),
        ("description", description, clear_description),
        ("slug", slug, clear_slug),
    ):
        if value is not None and clear:
            fail(f"--{field} and --clear-{field} exclude each other")
        if clear:
            fields[field] = None
        elif value is not None:
            fields[field] = value
    if browser_config is not None:
        fields["browser_config"] = json_object("--browser-config", browser_config)
    if not fields:
        fail("nothing to change: give at least one field")
    body = parse(AdminUpdateChatIn, fields)
    changes = {field: getattr(body, field) for field in body.model_fields_set}
    chat = run(lambda c: c.admin_chats.update(chat_id, changes, actor=None))
    emit(chat, as_json, f"updated chat {chat.id} ({chat.name}): {', '.join(sorted(fields))}")


@chats_app.command("delete")
def chats_delete(chat_id: ChatId, as_json: JsonOption = False) -> None:
    """Destroy the chat: its VM, memberships and history (POST /v1/admin/chats/{id}/delete)."""
    message = run(lambda c: c.admin_chats.delete(chat_id, actor=None))
    emit({"message": message}, as_json, message)


@chats_app.command("transfer")
def chats_transfer(
    chat_id: ChatId,
    new_owner_id: Annotated[int, typer.Option(help="the registered user who gets the chat")],
    as_json: JsonOption = False,
) -> None:
    """Give the chat to another user; slots are not checked (POST /v1/admin/chats/{id}/transfer)."""
    message = run(lambda c: c.admin_chats.transfer(chat_id, new_owner_id, actor=None))
    emit({"message": message}, as_json, message)


@chats_app.command("start")
def chats_start(chat_id: ChatId, as_json: JsonOption = False) -> None:
    """Start the chat's browser VM on a running server (POST /v1/admin/chats/{id}/start)."""
    message = run(lambda c: c.admin_chats.start(chat_id, actor=None))
    emit({"message": message}, as_json, message)


@chats_app.command("stop")
def chats_stop(chat_id: ChatId, as_json: JsonOption = False) -> None:
    """Stop the chat's browser VM wherever it runs (POST /v1/admin/chats/{id}/stop)."""
    message = run(lambda c: c.admin_chats.stop(chat_id, actor=None))
    emit({"message": message}, as_json, message)


@chats_app.command("kick")
def chats_kick(
    chat_id: ChatId,
    user_id: Annotated[int, typer.Option(help="the user to remove from the chat")],
    as_json: JsonOption = False,
) -> None:
    """Remove a user from the chat: membership, room sockets, VM control (POST /v1/admin/chats/{id}/kick)."""
    message = run(lambda c: c.admin_chats.kick(chat_id, user_id, actor=None))
    emit({"message": message}, as_json, message)
