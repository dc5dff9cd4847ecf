"""IP geolocation behind a small interface.

Portal records, for each login session, where the client IP appears to be (shown by
``GET /v1/users/me/sessions``), and gives strangers a country code.  The default is
"nothing known" (:class:`NullGeoLookup`); an operator may point ``PORTAL_GEOIP_DB`` at one or
more MaxMind-format (``.mmdb``) databases, e.g. a GeoLite2 City db plus an ASN db plus an
Anonymous-IP db, and :class:`MaxMindGeoLookup` merges what each of them knows.

Field names mirror ip-api.com's.  Lookups are synchronous (an in-memory/mmap'd mmdb lookup
takes microseconds) and never raise: an empty, malformed, private or unknown IP gives
:data:`UNKNOWN_GEO`.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Any, Protocol, runtime_checkable

import maxminddb

__all__ = [
    "SETTING_NAME",
    "UNKNOWN_GEO",
    "GeoInfo",
    "GeoLookup",
    "MaxMindGeoLookup",
    "NullGeoLookup",
    "create_geo_lookup",
]

logger = logging.getLogger(__name__)

SETTING_NAME = "PORTAL_GEOIP_DB"


@dataclass(frozen=True)
class GeoInfo:
    """What is known about where an IP is; every field is None when unknown."""

    city: str | None = None
    region_name: str | None = None
    country_code: str | None = None  # ISO 3166-1 alpha-2, upper case
    lat: float | None = None
    lon: float | None = None
    isp: str | None = None
    org: str | None = None
    is_mobile: bool | None = None
    is_proxy: bool | None = None
    is_hosting: bool | None = None

    @classmethod
    def unknown(cls) -> GeoInfo:
        return UNKNOWN_GEO

    def to_dict(self) -> dict[str, Any]:
        """The ten fields, in declaration order (the API's ``geo`` object)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


UNKNOWN_GEO = GeoInfo()


@runtime_checkable
class GeoLookup(Protocol):
    def lookup(self, ip: str | None) -> GeoInfo:
        """Geo fields for ``ip``; never raises (bad/empty/private IPs give all-None)."""
        ...


class NullGeoLookup:
    """The default: nothing is known about any IP."""

    def lookup(self, ip: str | None) -> GeoInfo:
        return UNKNOWN_GEO

    def close(self) -> None:
        pass

    def __repr__(self) -> str:
        return "NullGeoLookup()"


# --------------------------------------------------------------------------- helpers

_BOOL_FIELDS = ("is_mobile", "is_proxy", "is_hosting")

# Keys that mark a GeoIP2 Anonymous-IP style record (MaxMind only stores the true ones).
_ANON_KEYS = frozenset(
    {
        "is_anonymous",
        "is_anonymous_proxy",
        "is_anonymous_vpn",
        "is_hosting_provider",
        "is_public_proxy",
        "is_residential_proxy",
        "is_tor_exit_node",
    }
)
_PROXY_KEYS = (
    "is_anonymous",
    "is_anonymous_proxy",
    "is_anonymous_vpn",
    "is_public_proxy",
    "is_residential_proxy",
    "is_tor_exit_node",
)


def _parse_public_ip(ip: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address to look up, or None for empty/malformed/non-public addresses."""
    if not ip or not isinstance(ip, str):
        return None
    try:
        addr = ipaddress.ip_address(ip.strip())
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped  # ::ffff:a.b.c.d as sent by dual-stack sockets
    if not addr.is_global or addr.is_multicast:
        return None
    return addr


def _str(value: Any) -> str | None:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return None


def _float(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _en_name(obj: Any) -> str | None:
    if isinstance(obj, Mapping):
        names = obj.get("names")
        if isinstance(names, Mapping):
            return _str(names.get("en"))
    return None


def _country_code(obj: Any) -> str | None:
    if isinstance(obj, Mapping):
        code = _str(obj.get("iso_code"))
        if code and len(code) == 2 and code.isascii() and code.isalpha():
            return code.upper()
    return None


def _geo_from_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """The GeoInfo fields one database record provides, detected by the record's keys."""
    out: dict[str, Any] = {}

    # GeoIP2/GeoLite2 City and Country (also DB-IP's compatible City/Country dbs).
    if "city" in record:
        out["city"] = _en_name(record["city"])
    subdivisions = record.get("subdivisions")
    if isinstance(subdivisions, list) and subdivisions:
        out["region_name"] = _en_name(subdivisions[0])
    if "country" in record:
        out["country_code"] = _country_code(record["country"])
    location = record.get("location")
    if isinstance(location, Mapping):
        lat, lon = _float(location.get("latitude")), _float(location.get("longitude"))
        if lat is not None and lon is not None:
            out["lat"], out["lon"] = lat, lon

    # Enterprise/Insights-style City records carry ISP data in "traits"; ISP, ASN,
    # Anonymous-IP and Connection-Type dbs carry the same keys at the top level.
    sources: list[Mapping[str, Any]] = [record]
    traits = record.get("traits")
    if isinstance(traits, Mapping):
        sources.append(traits)
    for src in sources:
        if "isp" in src:
            _put(out, "isp", _str(src["isp"]))
        if "organization" in src:
            _put(out, "org", _str(src["organization"]))
        if "autonomous_system_organization" in src:
            as_org = _str(src["autonomous_system_organization"])
            _put(out, "isp", as_org)
            _put(out, "org", as_org)
        if "connection_type" in src:
            conn = _str(src["connection_type"])
            if conn is not None:
                out["is_mobile"] = conn.lower() == "cellular"
        if "mobile_country_code" in src or "mobile_network_code" in src:
            out["is_mobile"] = True  # ISP dbs set these only for mobile carriers
        if _ANON_KEYS.intersection(src):
            out["is_proxy"] = any(bool(src.get(k)) for k in _PROXY_KEYS)
            # An Anonymous-IP record always has is_anonymous; a lone legacy
            # traits.is_anonymous_proxy in a City record says nothing about hosting.
            if "is_hosting_provider" in src or "is_anonymous" in src:
                out["is_hosting"] = bool(src.get("is_hosting_provider"))
    return {k: v for k, v in out.items() if v is not None}


def _put(out: dict[str, Any], key: str, value: Any) -> None:
    if out.get(key) is None:
        out[key] = value


def _merge(into: dict[str, Any], found: Mapping[str, Any]) -> None:
    """First database that knows a value wins; for the flags, a True from any db wins."""
    for key, value in found.items():
        if key in _BOOL_FIELDS:
            into[key] = bool(into.get(key)) or value
        elif into.get(key) is None:
            into[key] = value


# ------------------------------------------------------------------------ MaxMind


class MaxMindGeoLookup:
    """Looks IPs up in one or more MaxMind DB files and merges what each one knows."""

    def __init__(self, paths: Iterable[str | os.PathLike[str]], *, mode: int = maxminddb.MODE_AUTO):
        self.paths: tuple[str, ...] = tuple(os.fspath(p) for p in paths)
        if not self.paths:
            raise ValueError(f"{SETTING_NAME}: no GeoIP database file given")
        self._readers: list[maxminddb.Reader] = []
        self._ip_versions: list[int] = []
        try:
            for path in self.paths:
                reader = _open_database(path, mode)
                self._readers.append(reader)
                self._ip_versions.append(int(reader.metadata().ip_version))
        except BaseException:
            self.close()
            raise

    def lookup(self, ip: str | None) -> GeoInfo:
        try:
            addr = _parse_public_ip(ip)
            if addr is None:
                return UNKNOWN_GEO
            merged: dict[str, Any] = {}
            for path, reader, ip_version in zip(self.paths, self._readers, self._ip_versions, strict=False):
                if addr.version == 6 and ip_version == 4:
                    continue  # an IPv4-only db knows nothing about IPv6 addresses
                try:
                    record = reader.get(addr)
                except Exception:
                    logger.warning("GeoIP lookup of %s in %s failed", addr, path, exc_info=True)
                    continue
                if isinstance(record, Mapping):
                    _merge(merged, _geo_from_record(record))
            return GeoInfo(**merged) if merged else UNKNOWN_GEO
        except Exception:  # a lookup must never break a login
            logger.warning("GeoIP lookup of %r failed", ip, exc_info=True)
            return UNKNOWN_GEO

    def close(self) -> None:
        readers, self._readers = self._readers, []
        for reader in readers:
            with contextlib.suppress(Exception):
                reader.close()

    def __enter__(self) -> MaxMindGeoLookup:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"MaxMindGeoLookup({list(self.paths)!r})"


def _open_database(path: str, mode: int) -> maxminddb.Reader:
    if os.path.isdir(path):
        raise ValueError(f"{SETTING_NAME}: cannot open GeoIP database {path!r}: is a directory, not a file")
    try:
        return maxminddb.open_database(path, mode)
    except FileNotFoundError:
        reason = "no such file"
    except PermissionError:
        reason = "permission denied"
    except (OSError, ValueError, RuntimeError) as exc:  # InvalidDatabaseError is a RuntimeError
        reason = f"not a readable MaxMind DB ({type(exc).__name__}: {exc})"
    reason = " ".join(reason.split())  # keep the message on one line
    raise ValueError(f"{SETTING_NAME}: cannot open GeoIP database {path!r}: {reason}") from None


def create_geo_lookup(setting: str | None) -> GeoLookup:
    """The lookup for the ``PORTAL_GEOIP_DB`` setting.

    Empty/blank (or only commas) gives :class:`NullGeoLookup`; otherwise a comma-separated
    list of .mmdb paths, all of which must open (a missing or unreadable file raises
    ``ValueError`` naming the file and the setting, so the server refuses to start rather
    than ignore a typo).
    """
    paths = [os.path.expanduser(p.strip()) for p in (setting or "").split(",") if p.strip()]
    if not paths:
        return NullGeoLookup()
    return MaxMindGeoLookup(paths)
