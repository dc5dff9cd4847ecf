"""Geo lookup: null default and MaxMind databases (real .mmdb files built with mmdb-writer)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import maxminddb
import pytest
from mmdb_writer import MMDBWriter
from netaddr import IPSet

from portal.services.geo import (
    UNKNOWN_GEO,
    GeoInfo,
    GeoLookup,
    MaxMindGeoLookup,
    NullGeoLookup,
    create_geo_lookup,
)

FIELDS = [
    "city",
    "region_name",
    "country_code",
    "lat",
    "lon",
    "isp",
    "org",
    "is_mobile",
    "is_proxy",
    "is_hosting",
]

LONDON_NET = "81.2.69.0/24"  # City + ASN + Anonymous-IP all know this one
LONDON_IP = "81.2.69.142"
LONDON_HOSTING_NET = "81.2.69.192/28"  # a hosting/VPN range inside it (Anonymous-IP db only)
LONDON_HOSTING_IP = "81.2.69.200"
PARIS_NET = "2.2.0.0/16"  # City db only
PARIS_IP = "2.2.3.4"
MOBILE_NET = "89.160.20.0/24"  # ASN + connection type only
MOBILE_IP = "89.160.20.112"
V6_NET = "2a02:ff0::/32"
V6_IP = "2a02:ff0:1::7"
NOWHERE_IP = "8.8.4.4"  # a public address in none of the networks


def _write(path: Path, db_type: str, networks: dict[str, dict], *, ip_version: int = 6) -> str:
    writer = MMDBWriter(
        ip_version=ip_version,
        ipv4_compatible=ip_version == 6,
        database_type=db_type,
        languages=["en"],
        description=f"Portal test {db_type}",
    )
    for cidr, record in networks.items():
        writer.insert_network(IPSet([cidr]), record)
    writer.to_db_file(str(path))
    return str(path)


def _city(city: str | None, region: str | None, iso: str, lat: float, lon: float) -> dict:
    record: dict = {
        "continent": {"code": "EU", "names": {"en": "Europe"}},
        "country": {"iso_code": iso, "names": {"en": iso}},
        "location": {"latitude": lat, "longitude": lon, "accuracy_radius": 100},
    }
    if city:
        record["city"] = {"geoname_id": 1, "names": {"en": city, "de": city + "-de"}}
    if region:
        record["subdivisions"] = [{"iso_code": "X", "names": {"en": region}}, {"names": {"en": "other"}}]
    return record


@pytest.fixture(scope="module")
def dbs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    d = tmp_path_factory.mktemp("geoip")
    city = _write(
        d / "City.mmdb",
        "GeoLite2-City",
        {
            LONDON_NET: _city("London", "England", "GB", 51.5142, -0.0931),
            PARIS_NET: _city("Paris", "Île-de-France", "FR", 48.8566, 2.3522),
            V6_NET: _city(None, None, "SE", 59.3247, 18.056),
        },
    )
    asn = _write(
        d / "ASN.mmdb",
        "GeoLite2-ASN",
        {
            LONDON_NET: {
                "autonomous_system_number": 20712,
                "autonomous_system_organization": "Andrews & Arnold",
            },
            MOBILE_NET: {"autonomous_system_number": 29518, "autonomous_system_organization": "Bredband2 AB"},
            V6_NET: {"autonomous_system_number": 5678, "autonomous_system_organization": "V6 Networks"},
        },
    )
    anon = _write(
        d / "Anon.mmdb",
        "GeoIP2-Anonymous-IP",
        {
            LONDON_NET: {"is_anonymous": True, "is_anonymous_vpn": True},
            LONDON_HOSTING_NET: {"is_anonymous": True, "is_hosting_provider": True},
        },
        ip_version=4,  # an IPv4-only db: IPv6 lookups must skip it, not crash
    )
    conn = _write(
        d / "Conn.mmdb",
        "GeoIP2-Connection-Type",
        {MOBILE_NET: {"connection_type": "Cellular"}, LONDON_NET: {"connection_type": "Cable/DSL"}},
    )
    return {"city": city, "asn": asn, "anon": anon, "conn": conn, "dir": str(d)}


@pytest.fixture(scope="module")
def lookup(dbs: dict[str, str]):
    geo = create_geo_lookup(f"{dbs['city']}, {dbs['asn']},{dbs['anon']} ,{dbs['conn']}")
    yield geo
    geo.close()


def test_geoinfo_fields_and_unknown() -> None:
    assert [f.name for f in dataclasses.fields(GeoInfo)] == FIELDS
    assert GeoInfo.unknown() is UNKNOWN_GEO
    assert GeoInfo() == UNKNOWN_GEO
    assert UNKNOWN_GEO.to_dict() == dict.fromkeys(FIELDS)
    assert list(UNKNOWN_GEO.to_dict()) == FIELDS
    info = GeoInfo(city="Oslo", country_code="NO", lat=59.9, is_proxy=False)
    assert list(info.to_dict()) == FIELDS
    assert info.to_dict()["city"] == "Oslo"
    assert info.to_dict()["is_proxy"] is False
    assert info.to_dict()["isp"] is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        info.city = "Bergen"  # type: ignore[misc]


@pytest.mark.parametrize("setting", ["", "   ", " , ,", None])
def test_blank_setting_gives_null_lookup(setting: str | None) -> None:
    geo = create_geo_lookup(setting)  # type: ignore[arg-type]
    assert isinstance(geo, NullGeoLookup)
    assert isinstance(geo, GeoLookup)
    for ip in (LONDON_IP, "2001:4860:4860::8888", "", None, "garbage"):
        result = geo.lookup(ip)
        assert result == UNKNOWN_GEO
        assert result.to_dict() == dict.fromkeys(FIELDS)


def test_city_asn_anonymous_connection_merged(lookup: GeoLookup) -> None:
    assert isinstance(lookup, MaxMindGeoLookup)
    assert isinstance(lookup, GeoLookup)
    assert lookup.lookup(LONDON_IP).to_dict() == {
        "city": "London",
        "region_name": "England",
        "country_code": "GB",
        "lat": 51.5142,
        "lon": -0.0931,
        "isp": "Andrews & Arnold",
        "org": "Andrews & Arnold",
        "is_mobile": False,
        "is_proxy": True,
        "is_hosting": False,
    }


def test_hosting_subnet_of_anonymous_db(lookup: GeoLookup) -> None:
    info = lookup.lookup(LONDON_HOSTING_IP)
    assert info.city == "London"
    assert info.country_code == "GB"
    assert info.isp == "Andrews & Arnold"
    assert info.is_hosting is True
    assert info.is_proxy is True  # is_anonymous


def test_partial_knowledge_leaves_rest_none(lookup: GeoLookup) -> None:
    assert lookup.lookup(PARIS_IP) == GeoInfo(
        city="Paris", region_name="Île-de-France", country_code="FR", lat=48.8566, lon=2.3522
    )
    assert lookup.lookup(MOBILE_IP) == GeoInfo(isp="Bredband2 AB", org="Bredband2 AB", is_mobile=True)


def test_ipv6_and_ipv4_mapped(lookup: GeoLookup) -> None:
    # IPv6: found in the IPv6 City/ASN dbs; the IPv4-only Anonymous db is skipped, not an error.
    assert lookup.lookup(V6_IP) == GeoInfo(
        country_code="SE", lat=59.3247, lon=18.056, isp="V6 Networks", org="V6 Networks"
    )
    assert lookup.lookup("2a03:2880::1") == UNKNOWN_GEO
    # A dual-stack socket reports IPv4 clients as ::ffff:a.b.c.d.
    assert lookup.lookup(f"::ffff:{LONDON_IP}") == lookup.lookup(LONDON_IP)
    assert lookup.lookup(f"  {PARIS_IP}\n").city == "Paris"


def test_ip_in_no_network_is_unknown(lookup: GeoLookup) -> None:
    result = lookup.lookup(NOWHERE_IP)
    assert result == UNKNOWN_GEO
    assert result.to_dict() == dict.fromkeys(FIELDS)


@pytest.mark.parametrize(
    "ip",
    [
        None,
        "",
        "   ",
        "not an ip",
        "81.2.69.999",
        "81.2.69.142:443",
        "[2a02:ff0::1]",
        "2a02:ff0::1::2",
        "fe80::1%eth0",
        "::1",
        "127.0.0.1",
        "10.1.2.3",
        "192.168.1.1",
        "100.64.0.1",
        "224.0.0.1",
        "0.0.0.0",
        "::",
        "\x00",
        "81.2.69.142\x00",
    ],
)
def test_bad_or_private_ips_never_raise(lookup: GeoLookup, ip: str | None) -> None:
    assert lookup.lookup(ip) == UNKNOWN_GEO


def test_non_string_input_never_raises(lookup: GeoLookup) -> None:
    assert lookup.lookup(12345) == UNKNOWN_GEO  # type: ignore[arg-type]
    assert lookup.lookup(b"81.2.69.142") == UNKNOWN_GEO  # type: ignore[arg-type]


def test_single_country_db_and_memory_mode(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "Country.mmdb",
        "GeoLite2-Country",
        {"5.0.0.0/8": {"country": {"iso_code": "de", "names": {"en": "Germany"}}}},
        ip_version=4,
    )
    with MaxMindGeoLookup([path], mode=maxminddb.MODE_MEMORY) as geo:
        assert geo.lookup("5.6.7.8") == GeoInfo(country_code="DE")
        assert geo.lookup("2a02:ff0::1") == UNKNOWN_GEO  # IPv6 against an IPv4-only db
    assert geo.lookup("5.6.7.8") == UNKNOWN_GEO  # closed: still no exception


def test_isp_style_record(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "ISP.mmdb",
        "GeoIP2-ISP",
        {
            "31.0.0.0/16": {
                "autonomous_system_number": 1,
                "autonomous_system_organization": "Carrier AS",
                "isp": "Carrier Mobile",
                "organization": "Carrier Mobile Customers",
                "mobile_country_code": "310",
                "mobile_network_code": "004",
            }
        },
    )
    geo = create_geo_lookup(path)
    try:
        assert geo.lookup("31.0.1.2") == GeoInfo(
            isp="Carrier Mobile", org="Carrier Mobile Customers", is_mobile=True
        )
    finally:
        geo.close()  # type: ignore[attr-defined]


def test_missing_file_raises_value_error(dbs: dict[str, str], tmp_path: Path) -> None:
    missing = tmp_path / "GeoLite2-Cty.mmdb"
    with pytest.raises(ValueError) as excinfo:
        create_geo_lookup(f"{dbs['city']},{missing}")
    message = str(excinfo.value)
    assert "PORTAL_GEOIP_DB" in message
    assert str(missing) in message
    assert "no such file" in message
    assert "\n" not in message


def test_unreadable_file_raises_value_error(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mmdb"
    junk.write_bytes(b"this is not a maxmind database\n" * 10)
    with pytest.raises(ValueError) as excinfo:
        create_geo_lookup(str(junk))
    message = str(excinfo.value)
    assert "PORTAL_GEOIP_DB" in message
    assert str(junk) in message
    assert "\n" not in message

    with pytest.raises(ValueError, match=r"PORTAL_GEOIP_DB.*is a directory"):
        create_geo_lookup(str(tmp_path))
