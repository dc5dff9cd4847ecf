from tests.helpers import Portal


async def test_login_flow_and_me(portal: Portal) -> None:
    owner = await portal.login("owner")
    me = await owner.client.me()
    assert me["id"] == owner.id
    assert me["permission_level"] == 3
