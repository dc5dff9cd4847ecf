"""`python admin_tools.py ...` is `portal admin ...` (the name the public docs use)."""

from portal.cli.admin import admin_app

if __name__ == "__main__":
    admin_app()
