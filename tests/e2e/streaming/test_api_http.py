"""The REST API and the site over loopback HTTP on a started runtime (no ffmpeg needed)."""

from __future__ import annotations

from .conftest import Platform


def test_a_viewer_becomes_an_owner_and_pairs_a_device(platform: Platform) -> None:
    token = platform.owner()
    status, me = platform.api("GET", "/me", token=token)
    assert (status, me["role"]) == (200, "owner")
    paired = platform.pair(token)
    assert paired["ingest_url"] == platform.site.media.ingest_url
    status, channels = platform.api("GET", "/channels?mine=1", token=token)
    assert [c["channel_id"] for c in channels["channels"]] == [paired["device"]["channel_id"]]
    status, cfg = platform.http("GET", "/streaming/site/config.json")
    assert status == 200
    assert cfg["chat_url"].startswith("ws://127.0.0.1:")


def test_bad_input_gets_a_reason_and_keeps_data(platform: Platform) -> None:
    token = platform.owner()
    status, body = platform.api("POST", "/orders", {"product_id": "stratus-box"}, token)
    assert status == 400
    assert any(r.startswith("shipping") for r in body["reasons"])
    status, body = platform.api("POST", "/orders", {"product_id": "nope", "shipping": {
        "name": "a", "address": "b", "city": "c", "postcode": "d", "country": "DE"},
        "payment_token": "tok_ok"}, token)
    assert status == 404
    status, orders = platform.api("GET", "/orders", token=token)
    assert len(orders["orders"]) == 1
    assert platform.api("GET", "/channels/missing")[0] == 404
    assert platform.http("GET", "/streaming/site/../../etc/passwd")[0] == 404
    assert platform.http("POST", "/streaming/site/index.html", {})[0] == 405


def test_the_site_serves_its_pages(platform: Platform) -> None:
    for page in ("", "/index.html", "/channel.html", "/owner.html", "/admin.html", "/app.js"):
        status, body = platform.http("GET", "/streaming/site" + page)
        assert status == 200, page
        assert body
