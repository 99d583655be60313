from __future__ import annotations

import json
from typing import Any

from stratus.platform.events.s3 import object_created_event
from stratus.platform.runtime.app import LocalRuntime

from .conftest import Api

SHIP = {"name": "Ann", "address": "1 Main St", "city": "Berlin", "postcode": "10115",
        "country": "DE"}


def _owner(api: Api) -> str:
    status, body = api("POST", "/auth/register",
                       body={"email": "ann@example.com", "password": "correct horse 1"})
    assert status == 201
    token = str(body["token"])
    status, order = api("POST", "/orders", token=token,
                        body={"product_id": "box", "shipping": SHIP, "payment_token": "tok_ok"})
    assert (status, order["status"]) == (201, "paid")
    return token


def test_register_login_and_settings(api: Api) -> None:
    status, body = api("POST", "/auth/register",
                       body={"email": "ann@example.com", "password": "correct horse 1",
                             "display_name": "Ann"})
    assert status == 201
    assert "password_hash" not in json.dumps(body)
    status, body = api("POST", "/auth/login",
                       body={"email": "ann@example.com", "password": "correct horse 1"})
    assert status == 200
    token = body["token"]
    status, me = api("PUT", "/me", token=token, body={"email_notifications": False})
    assert (status, me["email_notifications"]) == (200, False)
    assert api("GET", "/me")[0] == 401
    assert api("GET", "/me", token="not-a-jwt")[0] == 401


def test_bad_bodies_get_400_with_reasons_and_store_nothing(api: Api, runtime: LocalRuntime) -> None:
    status, body = api("POST", "/auth/register", raw_body="{not json")
    assert status == 400
    assert "not JSON" in body["reasons"][0]
    status, body = api("POST", "/auth/register", body={"email": "x@y.co", "password": "short"})
    assert status == 400
    assert "password" in body["message"]
    status, body = api("POST", "/auth/register",
                       body={"email": "x@y.co", "password": "long enough 1", "admin": True})
    assert status == 400
    assert body["reasons"] == ["admin: Extra inputs are not permitted"]
    assert api("GET", "/home")[1]["channels"] == []


def test_order_pair_and_key_management_over_handlers(api: Api) -> None:
    token = _owner(api)
    status, declined = api("POST", "/orders", token=token,
                           body={"product_id": "box", "shipping": SHIP,
                                 "payment_token": "tok_declined"})
    assert (status, declined["status"]) == (402, "payment_failed")
    status, code = api("POST", "/pairing-codes", token=token)
    assert status == 201
    status, paired = api("POST", "/devices/pair", body={"code": code["code"], "name": "cam"})
    assert status == 201
    assert paired["stream_key"].startswith("sk_")
    assert api("POST", "/devices/pair", body={"code": code["code"]})[0] == 409
    assert api("POST", "/devices/pair", body={"code": "nope"})[0] == 400
    device_id = paired["device"]["device_id"]
    status, rotated = api("POST", "/devices/{deviceId}/rotate-key", token=token,
                          deviceId=device_id)
    assert status == 200
    assert rotated["stream_key"] != paired["stream_key"]
    status, revoked = api("POST", "/devices/{deviceId}/revoke-key", token=token,
                          deviceId=device_id)
    assert (status, revoked["revoked"]) == (200, True)
    status, devices = api("GET", "/devices", token=token)
    assert [d["device_id"] for d in devices["devices"]] == [device_id]


def test_ingest_hook_rejects_wrong_keys_and_tracks_the_stream(
    api: Api, runtime: LocalRuntime
) -> None:
    token = _owner(api)
    code = api("POST", "/pairing-codes", token=token)[1]["code"]
    paired = api("POST", "/devices/pair", body={"code": code})[1]
    refused = runtime.invoke("IngestFunction", {"call": "publish", "name": "sk_wrong"})
    assert refused == {"ok": False, "reason": "stream key not valid (wrong, rotated or revoked)"}
    granted = runtime.invoke("IngestFunction", {"call": "publish", "name": paired["stream_key"]})
    assert granted["ok"]
    assert not granted["resumed"]
    stream_id = granted["stream_id"]
    channel = api("GET", "/channels/{channelId}", channelId=granted["channel_id"])[1]
    assert channel["live"]["stream_id"] == stream_id
    assert channel["live"]["playlist_url"] == f"/live/{stream_id}/index.m3u8"
    done = runtime.invoke("IngestFunction", {"call": "publish_done", "stream_id": stream_id})
    assert done == {"ok": True, "status": "interrupted"}
    again = runtime.invoke("IngestFunction", {"call": "publish", "name": paired["stream_key"]})
    assert (again["stream_id"], again["resumed"]) == (stream_id, True)
    assert runtime.invoke("IngestFunction", {"call": "bogus"})["ok"] is False


def test_recording_ended_event_marks_the_recording_ready(api: Api, runtime: LocalRuntime) -> None:
    token = _owner(api)
    code = api("POST", "/pairing-codes", token=token)[1]["code"]
    paired = api("POST", "/devices/pair", body={"code": code})[1]
    stream_id = runtime.invoke("IngestFunction",
                               {"call": "publish", "name": paired["stream_key"]})["stream_id"]
    assert api("POST", "/streams/{streamId}/stop", token=token, streamId=stream_id)[0] == 200
    bucket_name = runtime.apps[0].buckets["RecordingsBucket"].name
    bucket = runtime.resources.bucket(bucket_name)
    key = f"recordings/{stream_id}/events/recording-ended.json"
    info = bucket.put(key, json.dumps({"recording_id": stream_id, "duration_s": 7.5}).encode())
    result = runtime.invoke("RecordingEndedFunction",
                            object_created_event(info, bucket=bucket_name, region="us-east-1"))
    assert result == {"ready": 1}
    assert api("GET", "/recordings/{recordingId}", recordingId=stream_id)[0] == 404  # private
    status, rec = api("GET", "/recordings/{recordingId}", token=token, recordingId=stream_id)
    assert (status, rec["ready"], rec["duration_s"]) == (200, True, 7.5)
    status, rec = api("PUT", "/recordings/{recordingId}", token=token, recordingId=stream_id,
                      body={"visibility": "public"})
    assert (status, rec["visibility"]) == (200, "public")
    home: Any = api("GET", "/home")[1]
    assert [r["recording_id"] for r in home["recordings"]] == [stream_id]


def test_admin_routes_need_the_admin_role(api: Api, runtime: LocalRuntime) -> None:
    token = _owner(api)
    assert api("GET", "/admin/dashboard", token=token)[0] == 403
    from stratus.solutions.streaming import site  # noqa: F401 - importable without a server
    from stratus.solutions.streaming.domain.accounts import Role
    from stratus.solutions.streaming.store import Store

    store = Store(runtime.resources.table(runtime.apps[0].tables["StreamingTable"].spec.name))
    user = store.user_by_email("ann@example.com")
    assert user is not None
    from dataclasses import replace

    store.put_user(replace(user, role=Role.ADMIN))
    status, board = api("GET", "/admin/dashboard", token=token)
    assert (status, board["users"], board["orders"]) == (200, 1, 1)
    status, report = api("GET", "/admin/report", token=token)
    assert status == 200
    assert report["by_action"]["POST /orders"] == 1
    status, product = api("PUT", "/admin/products/{productId}", token=token, productId="box",
                          body={"name": "Stratus Box", "price_cents": 19900})
    assert (status, product["price_cents"]) == (200, 19900)
    assert api("PUT", "/admin/products/{productId}", token=token, productId="box",
               body={"name": "x", "price_cents": "lots"})[0] == 400


def test_accounts_live_in_the_templates_user_pool_and_survive_a_restart(
    api: Api, runtime: LocalRuntime
) -> None:
    import jwt

    from stratus.platform import connect

    from .conftest import TEMPLATE

    token = _owner(api)
    pool = runtime.apps[0].user_pools["UserPool"]
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["iss"].endswith(pool.pool_id)
    assert claims["aud"] == pool.clients[0].client_id
    assert claims["exp"] - claims["iat"] == 12 * 3600  # the client's IdTokenValidity
    users = runtime.resources.user_pool(pool.pool_id, pool.clients[0].client_id)
    assert users.get_user("ann@example.com").groups == ("device-owner",)  # paid: device owner
    runtime.stop()

    again = LocalRuntime([TEMPLATE], home=runtime.home, port=0)
    connect.install(again.resources)
    try:
        status, me = Api(again)("GET", "/me", token=token)
        assert (status, me["role"]) == (200, "owner")
        status, body = Api(again)("POST", "/auth/login",
                                  body={"email": "ann@example.com", "password": "correct horse 1"})
        assert status == 200
        assert Api(again)("GET", "/me", token=str(body["token"]))[0] == 200
    finally:
        connect.install(None)
        again.stop()
