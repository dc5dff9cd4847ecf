"""The web client's crypto (web/src/lib/crypto) against the SDK's (portal/client/e2ee.py, PyNaCl), both ways,
run in Chromium: sealed chat-key blobs, CiphertextV2 messages and safety codes. If either side drifts
(nonce derivation, layout, JSON shape), these fail.

The client's crypto module is built on its own for this test (web/vite.crypto.config.ts) into a temporary
folder and loaded into a blank page as `window.PortalCrypto`.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from nacl.exceptions import CryptoError
from nacl.public import PrivateKey, SealedBox
from nacl.secret import SecretBox
from playwright.async_api import Browser, Page

from portal.client.e2ee import (
    KeyPair,
    b64decode,
    b64encode,
    decrypt,
    encrypt,
    envelope_epoch,
    new_chat_key,
    safety_code,
    wrap,
)
from tests.web.conftest import REPO


@pytest_asyncio.fixture(scope="module")
async def crypto_script(tmp_path_factory: pytest.TempPathFactory) -> Path:
    npx = shutil.which("npx")
    if npx is None:
        pytest.skip("npx NOT FOUND: the crypto interop test did NOT run (install Node.js + npm)")
    out = tmp_path_factory.mktemp("crypto")
    process = await asyncio.create_subprocess_exec(
        npx,
        "vite",
        "build",
        "--config",
        "vite.crypto.config.ts",
        "--logLevel",
        "error",
        "--bypass-lock",  # each xdist worker builds into its own folder; Vite's lock is per project
        cwd=REPO / "web",
        env={**os.environ, "PORTAL_CRYPTO_OUT": str(out)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    assert process.returncode == 0, output.decode()
    return out / "crypto.js"


@pytest_asyncio.fixture
async def page(browser: Browser, crypto_script: Path) -> AsyncIterator[Page]:
    context = await browser.new_context()
    page = await context.new_page()
    await page.set_content("<!doctype html><title>crypto</title>")
    await page.add_script_tag(path=str(crypto_script))
    yield page
    await context.close()


async def browser_key_pair(page: Page) -> tuple[str, str]:
    """A key pair made by the client: (public, secret) in base64."""
    pair = await page.evaluate(
        """() => { const p = PortalCrypto.generateKeyPair();
                   return [PortalCrypto.toBase64(p.publicKey), PortalCrypto.toBase64(p.secretKey)]; }"""
    )
    return pair[0], pair[1]


async def test_a_key_sealed_by_the_sdk_opens_in_the_browser(page: Page) -> None:
    public, secret = await browser_key_pair(page)
    chat_key = new_chat_key()
    blob = wrap(chat_key, public)
    assert len(b64decode(blob)) == 80  # the size the server checks
    opened = await page.evaluate(
        """([blob, pub, sec]) => PortalCrypto.toBase64(PortalCrypto.unwrap(blob,
               {publicKey: PortalCrypto.fromBase64(pub), secretKey: PortalCrypto.fromBase64(sec)}))""",
        [blob, public, secret],
    )
    assert b64decode(opened) == chat_key


async def test_a_key_sealed_in_the_browser_opens_with_pynacl(page: Page) -> None:
    recipient = KeyPair.generate()
    chat_key = new_chat_key()
    blob = await page.evaluate(
        "([key, pub]) => PortalCrypto.wrap(PortalCrypto.fromBase64(key), pub)",
        [b64encode(chat_key), recipient.public_key_b64],
    )
    assert len(b64decode(blob)) == 80
    assert recipient.unwrap(blob) == chat_key
    # and no other key opens it
    stranger = PrivateKey.generate()
    with pytest.raises(CryptoError):
        SealedBox(stranger).decrypt(b64decode(blob))


async def test_messages_cross_both_ways(page: Page) -> None:
    chat_key = new_chat_key()
    text = "héllo 👋 — «E2EE» \n second line"
    from_sdk = encrypt(chat_key, 7, text)
    opened = await page.evaluate(
        "([key, content]) => PortalCrypto.decrypt(PortalCrypto.fromBase64(key), content)",
        [b64encode(chat_key), from_sdk],
    )
    assert opened == text

    from_browser = await page.evaluate(
        "([key, text]) => PortalCrypto.encrypt(PortalCrypto.fromBase64(key), 7, text)",
        [b64encode(chat_key), text],
    )
    assert envelope_epoch(from_browser) == 7
    assert decrypt(chat_key, from_browser) == text
    # the layout is nonce (24) || secretbox, as PyNaCl's SecretBox reads it
    sealed = b64decode(json.loads(from_browser)["ct"])
    assert SecretBox(chat_key).decrypt(sealed[24:], sealed[:24]).decode() == text


async def test_the_browser_refuses_what_does_not_open(page: Page) -> None:
    public, secret = await browser_key_pair(page)
    other = KeyPair.generate()
    blob_for_other = wrap(new_chat_key(), other.public_key_b64)
    refused = await page.evaluate(
        """([blob, pub, sec, content]) => {
             const pair = {publicKey: PortalCrypto.fromBase64(pub), secretKey: PortalCrypto.fromBase64(sec)};
             const errors = [];
             for (const attempt of [
               () => PortalCrypto.unwrap(blob, pair),
               () => PortalCrypto.unwrap("not base64!!", pair),
               () => PortalCrypto.decrypt(PortalCrypto.fromBase64(pub), content),
               () => PortalCrypto.decrypt(PortalCrypto.fromBase64(pub), "{\\"v\\":2}"),
               () => PortalCrypto.wrap(PortalCrypto.fromBase64(pub), "c2hvcnQ="),
             ]) { try { attempt(); errors.push("opened"); } catch (e) { errors.push(e.name); } }
             return errors; }""",
        [blob_for_other, public, secret, encrypt(new_chat_key(), 1, "secret")],
    )
    assert refused == ["E2EEError"] * 5


async def test_safety_codes_agree(page: Page) -> None:
    keys = [KeyPair.generate().public_key_b64 for _ in range(5)]
    codes = await page.evaluate("(keys) => keys.map(k => PortalCrypto.safetyCode(k))", keys)
    assert codes == [safety_code(k) for k in keys]
    assert all(len(code) == 14 and code.replace(" ", "").isdigit() for code in codes)
