"""The CLI tests here use the `cli` backend fixture of tests/cli (a migrated database per module, on each
backend)."""

from tests.cli.conftest import cli

__all__ = ["cli"]
