"""Guards on the web client's sources that its CSP and key storage depend on (docs/webclient.md): user
content is never parsed as HTML, nothing is evaluated from strings, and no inline script or style attribute
is written (the CSP would refuse them)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

WEB = Path(__file__).resolve().parents[2] / "web"
SOURCES = sorted(p for p in (WEB / "src").rglob("*") if p.suffix in {".ts", ".tsx"})
FORBIDDEN = {
    "innerHTML": re.compile(r"\.(inner|outer)HTML\b"),
    "dangerouslySetInnerHTML": re.compile(r"dangerouslySetInnerHTML"),
    "insertAdjacentHTML": re.compile(r"insertAdjacentHTML"),
    "document.write": re.compile(r"document\.write"),
    "eval": re.compile(r"(?<![\w.])eval\s*\("),
    "new Function": re.compile(r"new\s+Function\s*\("),
    "string timers": re.compile(r"set(Timeout|Interval)\(\s*[\"'`]"),
    "style attribute strings": re.compile(r"\bstyle=\s*[\"'`]"),
}


def test_the_client_has_sources() -> None:
    assert len(SOURCES) > 10, "web/src is missing"


@pytest.mark.parametrize("name", sorted(FORBIDDEN))
def test_no_source_parses_html_or_evaluates_strings(name: str) -> None:
    pattern = FORBIDDEN[name]
    found = [
        f"{path.relative_to(WEB)}:{number}: {line.strip()}"
        for path in SOURCES
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line)
    ]
    assert not found, f"{name} in the web client:\n" + "\n".join(found)


def test_index_html_has_no_inline_script_or_style() -> None:
    page = (WEB / "index.html").read_text(encoding="utf-8")
    scripts = re.findall(r"<script\b[^>]*>(.*?)</script>", page, flags=re.S)
    assert scripts and all(not body.strip() for body in scripts), "inline script in index.html"
    assert "<style" not in page and " style=" not in page
