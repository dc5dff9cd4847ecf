"""Socket.IO probes live in tests/sockets.py (shared by every test package); re-exported for old imports."""

from tests.sockets import EVENT_TIMEOUT, QUIET, SocketProbe, eventually, online

__all__ = ["EVENT_TIMEOUT", "QUIET", "SocketProbe", "eventually", "online"]
