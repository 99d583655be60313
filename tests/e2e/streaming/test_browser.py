"""Done-when: the whole live loop in headless Chromium (Playwright driving Debian's chromium).

register -> order a device -> pair it (the device simulator CLI) -> the ffmpeg test source goes
live with its key -> a viewer's player reaches ``playing`` and the playhead advances -> chat
and a like -> stop -> the recording appears, is published, and plays.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stratus.solutions.streaming.site import HLS_JS

from .conftest import Platform, needs_ffmpeg

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
STRATUS = str(Path(sys.executable).parent / "stratus")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
    "--autoplay-policy=no-user-gesture-required",
]

pytestmark = [
    needs_ffmpeg,
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(),
                       reason="chromium is not installed (apt-get install chromium)"),
    pytest.mark.skipif(not HLS_JS.exists(), reason="hls.js is not installed: run "
                       "`npm ci --prefix src/stratus/solutions/streaming/web`"),
]


@pytest.fixture
def browser() -> Iterator[Any]:
    playwright_api = pytest.importorskip("playwright.sync_api",
                                         reason="playwright is not installed (pip extra dev)")
    with playwright_api.sync_playwright() as p:
        # launch() gives every run a fresh temporary user-data-dir; one context per person.
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def _playhead_advances(page: Any) -> None:
    page.wait_for_selector("#player[data-state=playing]", timeout=30_000)
    start = page.evaluate("document.querySelector('#player').currentTime")
    page.wait_for_function(
        f"document.querySelector('#player').currentTime > {start} + 1", timeout=20_000
    )


def test_register_order_pair_live_watch_chat_like_stop_and_replay(
    platform: Platform, browser: Any
) -> None:
    site = platform.base + "/streaming/site"
    owner = browser.new_context().new_page()
    # register -> order a device
    owner.goto(site + "/index.html")
    owner.wait_for_selector("body[data-ready='1']")
    owner.fill("#register-form input[name=email]", "ann@example.com")
    owner.fill("#register-form input[name=display_name]", "Ann")
    owner.fill("#register-form input[name=password]", "correct horse 1")
    owner.click("#register-form button")
    owner.wait_for_selector("#auth-error:has-text('registered')")
    owner.goto(site + "/owner.html")
    owner.wait_for_selector("body[data-ready='1']")
    for field, value in {"name": "Ann", "address": "1 Main St", "city": "Berlin",
                         "postcode": "10115"}.items():
        owner.fill(f"#order-form input[name={field}]", value)
    owner.click("#order-form button")
    owner.wait_for_selector("#order-result:has-text('paid')")
    # pair it: the device simulator redeems the code and streams with its key
    owner.click("#pairing")
    owner.wait_for_function("/^[A-Z2-9]{8}$/.test(document.querySelector('#pairing-code')"
                            ".textContent)")
    code = owner.text_content("#pairing-code")
    device = subprocess.Popen(
        [STRATUS, "streaming", "device", "--pair", str(code), "--api",
         platform.base + "/streaming", "--duration", "120"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        for _ in range(60):  # until the device has redeemed the code
            owner.reload()
            owner.wait_for_selector("body[data-ready='1']")
            if owner.query_selector("#channels a"):
                break
            owner.wait_for_timeout(500)
        channel_url = site + "/" + str(owner.get_attribute("#channels a", "href"))
        # a viewer watches
        viewer = browser.new_context().new_page()
        viewer.goto(site + "/index.html")
        viewer.wait_for_selector("body[data-ready='1']")
        viewer.fill("#register-form input[name=email]", "vic@example.com")
        viewer.fill("#register-form input[name=password]", "another pass 2")
        viewer.click("#register-form button")
        viewer.wait_for_selector("#auth-error:has-text('registered')")
        viewer.goto(channel_url)
        _wait_live(viewer, channel_url)
        _playhead_advances(viewer)
        # chat and a like
        viewer.wait_for_selector("#chat-log[data-connected='1']")
        viewer.fill("#chat-form input[name=text]", "hello from the browser")
        viewer.click("#chat-form button")
        viewer.wait_for_selector("#chat-log .msg:has-text('hello from the browser')")
        viewer.click("#like")
        viewer.wait_for_selector("#likes:has-text('1')")
        # stop (the owner, on the channel page; her session is in this context too)
        _stop_as_owner(owner, channel_url)
        device.wait(timeout=30)  # the media service cut the encoder
    finally:
        if device.poll() is None:
            device.kill()
    # the recording appears, is published, and plays
    owner.goto(channel_url)
    for _ in range(60):
        if owner.query_selector(".publish-rec"):
            break
        owner.wait_for_timeout(500)
        owner.reload()
        owner.wait_for_selector("body[data-ready='1']")
    owner.click(".publish-rec")
    owner.wait_for_selector(".card:has-text('public') .play-rec")
    replay = browser.new_context().new_page()  # an anonymous visitor
    replay.goto(channel_url)
    replay.wait_for_selector("body[data-ready='1']")
    replay.click(".play-rec")
    _playhead_advances(replay)


def _wait_live(page: Any, url: str) -> None:
    for _ in range(40):
        page.wait_for_selector("body[data-ready='1']")
        if (page.text_content("#status") or "").startswith("LIVE"):
            return
        page.wait_for_timeout(500)
        page.goto(url)
    pytest.fail("the channel never went live")


def _stop_as_owner(page: Any, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("body[data-ready='1']")
    page.wait_for_selector("#owner-tools:not([hidden]) #stop")
    page.click("#stop")
    page.wait_for_selector("#status:has-text('stopped')")


def test_owner_uploads_a_video_publishes_it_and_a_visitor_plays_it(
    platform: Platform, browser: Any, tmp_path: Path
) -> None:
    from .test_uploads_and_demo import make_clip

    site = platform.base + "/streaming/site"
    token = platform.owner()
    status, channel = platform.api("POST", "/channels", {"name": "Clips"}, token)
    assert status == 201
    channel_url = f"{site}/channel.html?c={channel['channel_id']}"
    owner = browser.new_context().new_page()
    owner.goto(site + "/index.html")
    owner.evaluate(f"localStorage.setItem('token', {token!r})")
    owner.goto(channel_url)
    owner.wait_for_selector("body[data-ready='1']")
    owner.wait_for_selector("#upload-form:not([hidden])")
    owner.set_input_files("#upload-form input[name=file]", str(make_clip(tmp_path / "c.mp4", 4)))
    owner.fill("#upload-form input[name=title]", "Holiday clip")
    owner.click("#upload-form button")
    owner.wait_for_selector("#upload-status:has-text('ready')", timeout=60_000)
    owner.click(".card:has-text('Holiday clip') .publish-rec")
    owner.wait_for_selector(".card:has-text('public') .play-rec")
    visitor = browser.new_context().new_page()
    visitor.goto(channel_url)
    visitor.wait_for_selector("body[data-ready='1']")
    assert visitor.query_selector("#upload-form[hidden]")  # not the visitor's channel
    visitor.click(".card:has-text('Holiday clip') .play-rec")
    _playhead_advances(visitor)
