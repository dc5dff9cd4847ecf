"""The CLI tests of the bots group use the `cli` backends of tests/cli (a migrated database per module)."""

from tests.cli.conftest import cli  # noqa: F401
