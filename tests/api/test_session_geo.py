"""Session geo data from a configured GeoIP database (02 §3.7; PORTAL_GEOIP_DB)."""

from __future__ import annotations

from pathlib import Path

from mmdb_writer import MMDBWriter
from netaddr import IPSet

from tests.helpers import Portal, identity_of
from tests.servers import node_like


def write_city_and_asn(directory: Path) -> str:
    city = MMDBWriter(ip_version=6, ipv4_compatible=True, database_type="GeoLite2-City", languages=["en"])
    city.insert_network(
        IPSet(["81.2.69.0/24"]),
        {
            "city": {"names": {"en": "London"}},
            "subdivisions": [{"names": {"en": "England"}}],
            "country": {"iso_code": "GB"},
            "location": {"latitude": 51.5142, "longitude": -0.0931},
        },
    )
    asn = MMDBWriter(ip_version=6, ipv4_compatible=True, database_type="GeoLite2-ASN", languages=["en"])
    asn.insert_network(IPSet(["81.2.69.0/24"]), {"autonomous_system_organization": "Andrews & Arnold Ltd"})
    city.to_db_file(str(directory / "city.mmdb"))
    asn.to_db_file(str(directory / "asn.mmdb"))
    return f"{directory / 'city.mmdb'},{directory / 'asn.mmdb'}"


async def test_sessions_carry_the_geo_of_their_client_ip(portal: Portal, tmp_path: Path) -> None:
    alice = await portal.create_user()
    async with node_like(portal.server, geoip_db=write_city_and_asn(tmp_path)) as node:
        london = portal.client(ip="81.2.69.160", base_url=node.base_url)
        nowhere = portal.client(ip="8.8.4.4", base_url=node.base_url)
        for client in (london, nowhere):
            await portal.web_login(client, *identity_of(alice))
        sessions = (await london.sessions())["sessions"]

    by_ip = {s["client_ip"]: s["geo"] for s in sessions}
    assert by_ip["81.2.69.160"] == {
        "city": "London",
        "region_name": "England",
        "country_code": "GB",
        "lat": 51.5142,
        "lon": -0.0931,
        "isp": "Andrews & Arnold Ltd",
        "org": "Andrews & Arnold Ltd",
        "is_mobile": None,
        "is_proxy": None,
        "is_hosting": None,
    }
    assert set(by_ip["8.8.4.4"].values()) == {None}  # a public IP the database does not know
