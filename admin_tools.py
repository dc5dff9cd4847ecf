"""`python admin_tools.py ...` is `portal admin ...` (the name the public docs use)."""

from portal.cli.admin import admin_app
from portal.cli.main import run_cli

if __name__ == "__main__":
    run_cli(admin_app, "admin_tools.py")
