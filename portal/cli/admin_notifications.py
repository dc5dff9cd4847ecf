"""`portal admin notifications ...` (docs/cli.md)."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

import typer
from pydantic import ValidationError

from portal.cli.common import JsonOption, emit, fail, run
from portal.schemas.common import RequestModel, error_message
from portal.schemas.notifications import SendNotificationIn

notifications_app = typer.Typer(help="Notifications to users.", no_args_is_help=True)

M = TypeVar("M", bound=RequestModel)


def validated(model: type[M], fields: dict[str, Any]) -> M:
    """The REST body the options make, checked by the same rules (and worded the same) as the endpoint;
    options left out are left out of the body, so the defaults are the endpoint's."""
    try:
        return model.model_validate({name: value for name, value in fields.items() if value is not None})
    except ValidationError as exc:
        first = exc.errors()[0]
        fail(error_message({**first, "loc": ("body", *first["loc"])}))  # worded as for a REST body


def id_list(value: str | None, name: str) -> list[int] | None:
    """`--user-ids 1,2,3` → [1, 2, 3]; an empty value is an empty list (which the rules refuse)."""
    if value is None:
        return None
    try:
        return [int(part) for part in value.split(",") if part.strip()]
    except ValueError:
        fail(f"{name} must be a comma-separated list of integers")


@notifications_app.command("send")
def notifications_send(
    title: Annotated[str, typer.Option(help="1–100 characters")],
    body: Annotated[str, typer.Option(help="1–2000 characters")],
    type: Annotated[str | None, typer.Option(help="info (default), success, warning or error")] = None,
    user_ids: Annotated[
        str | None, typer.Option(help="comma-separated user ids (1–1000); leave out to send to everyone")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Send a notification to some users or to every registered user (POST /v1/admin/notifications).

    Connected clients are told through Redis, or the local server's control socket when there is one."""
    request = validated(
        SendNotificationIn,
        {"title": title, "body": body, "type": type, "user_ids": id_list(user_ids, "user_ids")},
    )
    sent = run(lambda c: c.notifications.send(request, actor=None))
    emit(sent, as_json, sent.message)
