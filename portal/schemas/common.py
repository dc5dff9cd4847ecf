"""Request base model, reusable constrained types and the 400-message translator.

Request bodies are strict (no "5" for 5) and reject unknown top-level fields. Constraints raise
`PydanticCustomError("portal", "<rest of sentence>")` so the translator can prefix the field name and the
wording is the same for every field (docs/decisions.md, "HTTP conventions").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    field_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

INVALID_REQUEST = "Invalid request"


class RequestModel(BaseModel):
    """Base of every JSON request body."""

    model_config = ConfigDict(strict=True, extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        """NUL in any string of a body (issue 14): PostgreSQL cannot store it in text."""
        if _holds_nul(value):
            raise _fail("contains invalid characters")
        return value


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, (list, tuple, set, frozenset)):
        return any(_holds_nul(item) for item in value)
    if isinstance(value, dict):
        return any(_holds_nul(key) or _holds_nul(item) for key, item in value.items())
    if isinstance(value, BaseModel):
        return False  # a nested RequestModel checks its own fields
    return False


class Message(BaseModel):
    message: str = Field(examples=["Logged out"])


class ErrorBody(BaseModel):
    """The error envelope. Some errors add fields such as `ttl`."""

    error: str = Field(examples=["Authentication required"])
    correlation_id: str = Field(examples=["a1b2c3d4-e5f6-7890-abcd-ef1234567890"])


def _fail(message: str, **context: Any) -> PydanticCustomError:
    return PydanticCustomError("portal", message, context)


def _characters(n: object) -> str:
    return "1 character" if n == 1 else f"{n} characters"


@dataclass(frozen=True)
class Rule:
    """A constraint checked after the type (like pydantic's `AfterValidator`, with Portal's own wording)
    that also shows in the OpenAPI schema as the equivalent JSON Schema keywords, so `/docs` and generated
    clients know the limits that the server enforces."""

    check: Callable[[Any], Any]
    json_schema: tuple[tuple[str, Any], ...] = ()  # hashable, as Annotated metadata must be (unions)

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(self.check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        described = handler(schema)
        described.update(
            {key: list(value) if isinstance(value, tuple) else value for key, value in self.json_schema}
        )
        return described


def text_length(minimum: int, maximum: int) -> Rule:
    def check(value: str) -> str:
        if len(value) < minimum:
            raise _fail(f"must be at least {_characters(minimum)}")
        if len(value) > maximum:
            raise _fail(f"must be at most {_characters(maximum)}")
        return value

    return Rule(check, (("minLength", minimum), ("maxLength", maximum)))


def matches(pattern: str) -> Rule:
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise _fail("contains invalid characters")
        return value

    return Rule(check, (("pattern", f"^{pattern}$"),))


def int_range(minimum: int, maximum: int) -> Rule:
    def check(value: int) -> int:
        if not minimum <= value <= maximum:
            raise _fail(f"must be between {minimum} and {maximum}")
        return value

    return Rule(check, (("minimum", minimum), ("maximum", maximum)))


def one_of(*choices: str) -> Rule:
    def check(value: str) -> str:
        if value not in choices:
            raise _fail(f"must be one of: {', '.join(choices)}")
        return value

    return Rule(check, (("enum", choices),))


# Characters no name may carry: controls (NUL, newlines, tabs), format characters (bidi overrides and
# isolates, zero-width ones), surrogates and the line/paragraph separators (08 §66).
INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
HTTPS_URL_MAX = 512


def has_invisible_characters(value: str) -> bool:
    return any(unicodedata.category(ch) in INVISIBLE_CATEGORIES for ch in value)


def is_https_url(value: str) -> bool:
    """An `https://` URL with a host, of at most 512 characters and without spaces or control characters:
    what may be shown as an image source (never `javascript:`, `data:` or plain `http:`)."""
    if len(value) > HTTPS_URL_MAX or not value.startswith("https://"):
        return False
    rest = value[len("https://") :]
    host = rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    return bool(host) and not any(ch.isspace() or unicodedata.category(ch)[0] in "CZ" for ch in value)


def visible_text() -> Rule:
    def check(value: str) -> str:
        if has_invisible_characters(value):
            raise _fail("contains invalid characters")
        return value

    return Rule(check)


def https_url() -> Rule:
    def check(value: str) -> str:
        if not is_https_url(value):
            raise _fail("must be an https URL")
        return value

    return Rule(check, (("format", "uri"), ("pattern", "^https://"), ("maxLength", HTTPS_URL_MAX)))


# Reusable field types -------------------------------------------------------------------------------

USERNAME_PATTERN = r"[A-Za-z0-9._-]+"
PLATFORM_PATTERN = r"[a-z][a-z0-9_]{1,31}"

Username = Annotated[str, text_length(3, 32), matches(USERNAME_PATTERN)]
Platform = Annotated[str, text_length(2, 32), matches(PLATFORM_PATTERN)]
PlatformUserId = Annotated[str, text_length(1, 64), matches(r"[A-Za-z0-9._:@-]+")]
PlatformUsername = Annotated[str, text_length(1, 100), visible_text()]
HttpsUrl = Annotated[str, https_url()]
Offset = Annotated[int, int_range(0, 1_000_000_000)]


def _iso_datetime(value: Any) -> datetime:
    """Request bodies are validated strictly, which would refuse ISO strings: parse them here."""
    if isinstance(value, datetime):
        return utc(value)
    if isinstance(value, str):
        try:
            return utc(datetime.fromisoformat(value))
        except ValueError:
            pass
    raise _fail("must be an ISO-8601 date-time")


# Use this (never a bare `datetime`) for date-times in a RequestModel: "2026-01-01T00:00:00Z" → UTC.
DateTimeIn = Annotated[datetime, BeforeValidator(_iso_datetime)]


# Translation of validation errors ------------------------------------------------------------------

_TYPE_WORDS = {
    "string_type": "a string",
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "an integer",
    "bool_type": "a boolean",
    "bool_parsing": "a boolean",
    "list_type": "a list",
    "float_type": "a number",
    "float_parsing": "a number",
    "dict_type": "an object",
    "model_type": "an object",
    "model_attributes_type": "an object",
    "datetime_type": "an ISO-8601 date-time",
    "datetime_parsing": "an ISO-8601 date-time",
    "datetime_from_date_parsing": "an ISO-8601 date-time",
}
_LOCATION_ROOTS = {"body", "query", "path", "header", "cookie"}


def field_name(loc: Sequence[Any]) -> str:
    """Dotted field name without the request location and list indexes (`browser_config.start_url`)."""
    parts = [str(p) for p in loc if not isinstance(p, int)]
    if parts and parts[0] in _LOCATION_ROOTS:
        parts = parts[1:]
    return ".".join(parts)


def error_message(error: dict[str, Any]) -> str:
    """One pydantic error → the sentence shown to the client."""
    kind = error.get("type", "")
    name = field_name(error.get("loc", ()))
    ctx = error.get("ctx") or {}
    if kind == "json_invalid" or not name:
        return INVALID_REQUEST
    if kind == "missing":
        return f"{name} is required"
    if kind == "extra_forbidden":
        return f"{name} is not allowed"
    if kind == "portal":
        return f"{name} {error.get('msg', 'is invalid')}"
    if kind in _TYPE_WORDS:
        return f"{name} must be {_TYPE_WORDS[kind]}"
    if kind == "string_too_short":
        return f"{name} must be at least {_characters(ctx.get('min_length'))}"
    if kind == "string_too_long":
        return f"{name} must be at most {_characters(ctx.get('max_length'))}"
    if kind == "string_pattern_mismatch":
        return f"{name} contains invalid characters"
    if kind in ("literal_error", "enum"):
        return f"{name} must be one of: {_choices(str(ctx.get('expected', '')))}"
    return f"{name} is invalid"


def _choices(expected: str) -> str:
    """pydantic's `'a', 'b' or 'c'` → `a, b, c` (the one_of wording)."""
    return expected.replace("'", "").replace(" or ", ", ")


def first_error_message(errors: Sequence[dict[str, Any]]) -> str:
    return error_message(errors[0]) if errors else INVALID_REQUEST


def utc(value: datetime) -> datetime:
    """Read a client datetime as UTC (naive values are taken to be UTC)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
