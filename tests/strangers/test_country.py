"""`country_code` for stranger peers (05 §7; 08 §31; 01 §11): the country of the stranger's session IP from
the geo lookup (`PORTAL_GEOIP_DB`); null for registered users, unknown IPs and ended sessions."""

from __future__ import annotations

from pathlib import Path

from tests.api.test_session_geo import write_city_and_asn
from tests.helpers import Portal
from tests.servers import node_like


async def test_a_strangers_country_comes_from_its_session_ip(portal: Portal, tmp_path: Path) -> None:
    async with node_like(portal.server, geoip_db=write_city_and_asn(tmp_path)) as node:
        london = portal.client(ip="81.2.69.160", base_url=node.base_url)
        somewhere = portal.client(ip="8.8.4.4", base_url=node.base_url)
        private = portal.client(ip="10.1.2.3", base_url=node.base_url)
        ids = [(await client.stranger())["id"] for client in (london, somewhere, private)]
        registered = await portal.login(ip="81.2.69.161")
        countries = [await node.container.strangers.country_of(i) for i in (*ids, registered.id, 2**31 - 1)]
        # What the database knew at sign-in still answers on a node without a GeoIP database.
        assert await portal.container.strangers.country_of(ids[0]) == "GB"

        assert countries == ["GB", None, None, None, None]

        await london.logout()
        assert await node.container.strangers.country_of(ids[0]) is None  # no live session


async def test_without_a_geoip_database_nothing_is_known(portal: Portal) -> None:
    stranger = await portal.client(ip="81.2.69.160").stranger()
    assert await portal.container.strangers.country_of(stranger["id"]) is None
