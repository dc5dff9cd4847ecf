"""The CLI tests here use the `cli` fixture of tests/cli (a migrated database per module and backend)."""

from tests.cli.conftest import cli

__all__ = ["cli"]
