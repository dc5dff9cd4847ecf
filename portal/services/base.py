"""What every service shares: the container it takes its collaborators from, and the clock's now."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from portal.container import Container


class Service:
    """A service holds no state of its own beyond caches; everything it uses comes from `self.c`."""

    def __init__(self, container: Container) -> None:
        self.c = container

    @property
    def now(self) -> datetime:
        return self.c.clock.now()
