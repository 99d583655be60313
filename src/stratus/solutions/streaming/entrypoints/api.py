"""REST handlers (API Gateway proxy): accounts, shop, devices, channels, admin.

Each ``*_handler`` serves one area's routes (see the template); all are thin: validate the
body, call :mod:`stratus.solutions.streaming.service`, shape the answer.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import asdict
from typing import Any

from stratus.platform.restapi import BadRequestError, path_param, query_param, respond
from stratus.solutions.streaming import bootstrap, mediasigning, schemas, service
from stratus.solutions.streaming.domain.accounts import Role, User
from stratus.solutions.streaming.domain.devices import Device, Quality
from stratus.solutions.streaming.domain.orders import OrderStatus, Shipping
from stratus.solutions.streaming.domain.streams import (
    Channel,
    Recording,
    Stream,
    StreamStatus,
    Visibility,
)
from stratus.solutions.streaming.entrypoints.http import (
    Route,
    caller,
    dispatch,
    optional_caller,
    parse_body,
    track_quietly,
)
from stratus.solutions.streaming.service import Ports
from stratus.solutions.streaming.store import MissingError


def _user(u: User) -> dict[str, Any]:
    return {"user_id": u.user_id, "email": u.email, "role": u.role.value,
            "display_name": u.settings.display_name,
            "email_notifications": u.settings.email_notifications,
            "created_at": u.created_at}


def _device(d: Device) -> dict[str, Any]:
    return {"device_id": d.device_id, "name": d.name, "channel_id": d.channel_id,
            "quality": d.quality.value, "revoked": d.revoked, "key_version": d.key_version,
            "created_at": d.created_at}


def _channel(c: Channel, ports: Ports) -> dict[str, Any]:
    return {**asdict(c), "likes": ports.store.likes(f"channel:{c.channel_id}"),
            "cover_url": f"/media/{c.cover_key}" if c.cover_key else None}


def _live_playlist(ports: Ports, live: Stream) -> str:
    """The device's IVS playback URL on AWS; locally the site's live HLS of the stream."""
    if live.device_id:
        try:
            playback = ports.store.device(live.device_id).playback_url
        except MissingError:
            playback = ""
        if playback:
            return playback
    return f"/live/{live.stream_id}/index.m3u8"


def _media_host(event: dict[str, Any], ports: Ports) -> str | None:
    """The CloudFront host the browser uses (for signed media); None locally."""
    if ports.media is None:
        return None
    return mediasigning.site_host(event.get("headers"), ports.site_url)


def _recording(r: Recording, ports: Ports, event: dict[str, Any]) -> dict[str, Any]:
    """A recording the caller may see. On AWS its thumbnail is a CloudFront signed URL (the
    playlist's folder needs the cookies of GET /recordings/{id}); locally plain site paths."""
    thumbnail = f"/media/{r.thumbnail_key}" if r.thumbnail_key else None
    host = _media_host(event, ports)
    if r.thumbnail_key and ports.media is not None and host:
        thumbnail = ports.media.object_url(host, r.thumbnail_key)
    return {**asdict(r), "playlist_url": f"/media/{r.playlist_key}", "thumbnail_url": thumbnail}


# ---- accounts ---------------------------------------------------------------------------------


def _register(event: dict[str, Any], ports: Ports) -> dict[str, Any]:
    body = parse_body(event, schemas.Register)
    service.register(ports, body.email, body.password, body.display_name)
    user, token = service.login(ports, body.email, body.password)
    return respond(201, {"user": _user(user), "token": token})


def _login(event: dict[str, Any], ports: Ports) -> dict[str, Any]:
    body = parse_body(event, schemas.Login)
    user, token = service.login(ports, body.email, body.password)
    return respond(200, {"user": _user(user), "token": token})


def _me(event: dict[str, Any], ports: Ports) -> dict[str, Any]:
    return respond(200, _user(ports.store.user(caller(event, ports).user_id)))


def _update_me(event: dict[str, Any], ports: Ports) -> dict[str, Any]:
    body = parse_body(event, schemas.UpdateSettings)
    user = service.update_settings(
        ports, caller(event, ports), body.display_name, body.email_notifications
    )
    return respond(200, _user(user))


def _notifications(event: dict[str, Any], ports: Ports) -> dict[str, Any]:
    who = caller(event, ports)
    return respond(200, {"notifications": ports.store.notifications(who.user_id),
                         "following": ports.store.following(who.user_id)})


ACCOUNT_ROUTES: dict[tuple[str, str], Route] = {
    ("POST", "/auth/register"): _register,
    ("POST", "/auth/login"): _login,
    ("GET", "/me"): _me,
    ("PUT", "/me"): _update_me,
    ("GET", "/me/notifications"): _notifications,
}


def accounts_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Registration, login (JWT), account settings, notifications."""
    return dispatch(event, ACCOUNT_ROUTES, bootstrap.ports())


# ---- shop -------------------------------------------------------------------------------------


def _products(event: dict[str, Any], ports: Ports) -> dict[str, Any]:
    return respond(200, {"products": [asdict(p) for p in ports.store.products() if p.active]})


def _place_order(event: dict[str, Any], ports: Ports) -> dict[str, Any]:
    body = parse_body(event, schemas.PlaceOrder)
    order = service.place_order(
        ports, caller(event, ports), body.product_id, body.quantity,
        Shipping(**body.shipping.model_dump()), body.payment_token,
    )
    return respond(201 if order.status is OrderStatus.PAID else 402, asdict(order))


def _my_orders(event: dict[str, Any], ports: Ports) -> dict[str, Any]:
    who = caller(event, ports)
    return respond(200, {"orders": [asdict(o) for o in ports.store.orders_of(who.user_id)]})


def _pay(event: dict[str, Any], ports: Ports) -> dict[str, Any]:
    body = parse_body(event, schemas.PayOrder)
    order = service.pay_order(ports, caller(event, ports), path_param(event, "orderId"),
                              body.payment_token)
    return respond(200 if order.status is OrderStatus.PAID else 402, asdict(order))


def _move(event: dict[str, Any], ports: Ports) -> dict[str, Any]:
    body = parse_body(event, schemas.MoveOrder)
    order = service.move_order(ports, caller(event, ports), path_param(event, "orderId"),
                               OrderStatus(body.status))
    return respond(200, asdict(order))


SHOP_ROUTES: dict[tuple[str, str], Route] = {
    ("GET", "/products"): _products,
    ("POST", "/orders"): _place_order,
    ("GET", "/orders"): _my_orders,
    ("POST", "/orders/{orderId}/pay"): _pay,
    ("POST", "/orders/{orderId}/status"): _move,
}


def shop_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Catalogue and orders (payment through the provider interface)."""
    return dispatch(event, SHOP_ROUTES, bootstrap.ports())


# ---- devices ----------------------------------------------------------------------------------


def _pairing(event: dict[str, Any], ports: Ports) -> dict[str, Any]:
    code, expires = service.new_pairing(ports, caller(event, ports))
    return respond(201, {"code": code, "expires_at": expires})


def _pair(event: dict[str, Any], ports: Ports) -> dict[str, Any]:
    body = parse_body(event, schemas.PairDevice)
    paired = service.pair_device(ports, body.code, body.name)
    return respond(201, {"device": _device(paired.device), "stream_key": paired.stream_key,
                         "ingest_url": paired.ingest_url})


def _devices(event: dict[str, Any], ports: Ports) -> dict[str, Any]:
    who = caller(event, ports)
    return respond(200, {"devices": [_device(d) for d in ports.store.devices_of(who.user_id)]})


def _configure(event: dict[str, Any], ports: Ports) -> dict[str, Any]:
    body = parse_body(event, schemas.ConfigureDevice)
    device = service.configure_device(
        ports, caller(event, ports), path_param(event, "deviceId"), name=body.name,
        channel_id=body.channel_id, quality=Quality(body.quality) if body.quality else None,
    )
    return respond(200, _device(device))


def _rotate(event: dict[str, Any], ports: Ports) -> dict[str, Any]:
    paired = service.rotate_key(ports, caller(event, ports), path_param(event, "deviceId"))
    return respond(200, {"device": _device(paired.device), "stream_key": paired.stream_key,
                         "ingest_url": paired.ingest_url})


def _revoke(event: dict[str, Any], ports: Ports) -> dict[str, Any]:
    device = service.revoke_key(ports, caller(event, ports), path_param(event, "deviceId"))
    return respond(200, _device(device))


DEVICE_ROUTES: dict[tuple[str, str], Route] = {
    ("POST", "/pairing-codes"): _pairing,
    ("POST", "/devices/pair"): _pair,
    ("GET", "/devices"): _devices,
    ("PUT", "/devices/{deviceId}"): _configure,
    ("POST", "/devices/{deviceId}/rotate-key"): _rotate,
    ("POST", "/devices/{deviceId}/revoke-key"): _revoke,
}


def devices_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Device owner space: pairing codes, pairing, configuration, stream keys."""
    return dispatch(event, DEVICE_ROUTES, bootstrap.ports())


# ---- channels, streams, recordings, social, chat ----------------------------------------------


def _home(event: dict[str, Any], ports: Ports) -> dict[str, Any]:
    channels = {c.channel_id: c for c in ports.store.channels()}

    def card(s: Any) -> dict[str, Any]:
        c = channels.get(s.channel_id)
        return {**asdict(s), "channel_name": c.name if c else ""}

    live = [card(s) for s in ports.store.streams_with(StreamStatus.LIVE)]
    upcoming = [card(s) for s in ports.store.streams_with(StreamStatus.SCHEDULED)]
    public = [_recording(r, ports, event) for r in ports.store.recordings()
              if r.visibility is Visibility.PUBLIC and r.ready][:12]
    return respond(200, {"live": live, "upcoming": upcoming, "recordings": public,
                         "channels": [_channel(c, ports) for c in channels.values()]})


def _channels(event: dict[str, Any], ports: Ports) -> dict[str, Any]:
    mine = query_param(event, "mine")
    if mine:
        who = caller(event, ports)
        found = ports.store.channels_of(who.user_id)
    else:
        found = ports.store.channels()
    return respond(200, {"channels": [_channel(c, ports) for c in found]})


def _create_channel(event: dict[str, Any], ports: Ports) -> dict[str, Any]:
    body = parse_body(event, schemas.CreateChannel)
    channel = service.create_channel(ports, caller(event, ports), body.name, body.description)
    return respond(201, _channel(channel, ports))


def _get_channel(event: dict[str, Any], ports: Ports) -> dict[str, Any]:
    channel = ports.store.channel(path_param(event, "channelId"))
    who = optional_caller(event, ports)
    mine = who is not None and (who.user_id == channel.owner_id or who.role is Role.ADMIN)
    live = ports.store.stream(channel.live_stream_id) if channel.live_stream_id else None
    streams = ports.store.streams_of(channel.channel_id)
    recordings = [
        _recording(r, ports, event) for r in ports.store.recordings_of(channel.channel_id)
        if mine or (r.visibility is Visibility.PUBLIC and r.ready)
    ]
    track_quietly(ports, event, "view_channel", channel_id=channel.channel_id,
                  stream_id=live.stream_id if live else "")
    return respond(200, {
        "channel": _channel(channel, ports), "mine": mine,
        "live": {**asdict(live), "playlist_url": _live_playlist(ports, live)} if live else None,
        "schedule": [asdict(s) for s in streams if s.status is StreamStatus.SCHEDULED],
        "history": [asdict(s) for s in streams if s.status is StreamStatus.ENDED][:20],
        "recordings": recordings,
        "comments": ports.store.comments(f"channel:{channel.channel_id}"),
        "chat": [asdict(m) for m in ports.store.chat_history(channel.channel_id)],
    })


def _customise(event: dict[str, Any], ports: Ports) -> dict[str, Any]:
    body = parse_body(event, schemas.CustomiseChannel)
    cover = None
    if body.cover_base64 is not None:
        try:
            cover = base64.b64decode(body.cover_base64, validate=True)
        except (binascii.Error, ValueError):
            raise BadRequestError(["cover_base64: not base64"]) from None
    channel = service.customise_channel(
        ports, caller(event, ports), path_param(event, "channelId"), theme=body.theme,
        description=body.description, cover=cover, cover_type=body.cover_type,
    )
    return respond(200, _channel(channel, ports))


def _schedule(event: dict[str, Any], ports: Ports) -> dict[str, Any]:
    body = parse_body(event, schemas.ScheduleStream)
    stream = service.schedule_stream(ports, caller(event, ports), path_param(event, "channelId"),
                                     body.title, body.scheduled_at)
    return respond(201, asdict(stream))


def _streams(event: dict[str, Any], ports: Ports) -> dict[str, Any]:
    streams = ports.store.streams_of(path_param(event, "channelId"))
    return respond(200, {"streams": [asdict(s) for s in streams]})


def _stop(event: dict[str, Any], ports: Ports) -> dict[str, Any]:
    stream = service.stop_stream(ports, caller(event, ports), path_param(event, "streamId"))
    return respond(200, asdict(stream))


def _get_recording(event: dict[str, Any], ports: Ports) -> dict[str, Any]:
    recording = ports.store.recording(path_param(event, "recordingId"))
    if not service.can_watch_recording(ports, optional_caller(event, ports), recording):
        return respond(404, {"message": "recording not found"})
    track_quietly(ports, event, "view_recording", channel_id=recording.channel_id,
                  recording_id=recording.recording_id,
                  stream_id=recording.recording_id if recording.source == "stream" else "")
    body = {**_recording(recording, ports, event),
            "likes": ports.store.likes(f"recording:{recording.recording_id}")}
    host = _media_host(event, ports)
    if ports.media is None or host is None or not recording.playlist_key:
        return respond(200, body)
    # AWS: CloudFront signed cookies for the playlist's folder (playlist and segments).
    grant = ports.media.grant_folder(host, recording.playlist_key)
    response = respond(200, {**body, "media_expires_at": grant.expires_at})
    response["multiValueHeaders"] = {"Set-Cookie": grant.set_cookies}
    return response


def _start_upload(event: dict[str, Any], ports: Ports) -> dict[str, Any]:
    body = parse_body(event, schemas.StartUpload)
    grant = service.start_upload(
        ports, caller(event, ports), path_param(event, "channelId"), body.title, body.content_type,
        body.size_bytes, Quality(body.quality),
    )
    return respond(201, {
        "recording": _recording(grant.recording, ports, event),
        "upload": {"url": grant.upload_url, "method": "PUT",
                   "headers": {"Content-Type": grant.content_type},
                   "expires_at": grant.expires_at},
    })


def _set_visibility(event: dict[str, Any], ports: Ports) -> dict[str, Any]:
    body = parse_body(event, schemas.SetVisibility)
    recording = service.set_recording_visibility(
        ports, caller(event, ports), path_param(event, "recordingId"), Visibility(body.visibility)
    )
    return respond(200, _recording(recording, ports, event))


def _target(event: dict[str, Any]) -> str:
    target = path_param(event, "target")
    kind, _, ident = target.partition(":")
    if kind not in ("channel", "recording") or not ident:
        raise BadRequestError(["target: channel:ID or recording:ID"])
    return target


def _like(event: dict[str, Any], ports: Ports) -> dict[str, Any]:
    return respond(200, {"likes": service.like(ports, caller(event, ports), _target(event))})


def _comments(event: dict[str, Any], ports: Ports) -> dict[str, Any]:
    return respond(200, {"comments": ports.store.comments(_target(event))})


def _comment(event: dict[str, Any], ports: Ports) -> dict[str, Any]:
    body = parse_body(event, schemas.CommentIn)
    return respond(201, service.comment(ports, caller(event, ports), _target(event), body.text))


def _follow(event: dict[str, Any], ports: Ports) -> dict[str, Any]:
    service.follow(ports, caller(event, ports), path_param(event, "channelId"))
    return respond(200, {"following": True})


def _chat_history(event: dict[str, Any], ports: Ports) -> dict[str, Any]:
    messages = ports.store.chat_history(path_param(event, "channelId"))
    return respond(200, {"messages": [asdict(m) for m in messages]})


def _chat_post(event: dict[str, Any], ports: Ports) -> dict[str, Any]:
    body = parse_body(event, schemas.ChatIn)
    channel_id = path_param(event, "channelId")
    message = service.post_chat(ports, caller(event, ports), channel_id, body.text)
    return respond(201, asdict(message))


def _moderate(event: dict[str, Any], ports: Ports) -> dict[str, Any]:
    body = parse_body(event, schemas.Moderate)
    result = service.moderate(ports, caller(event, ports), path_param(event, "channelId"),
                              body.action, target=body.target, seconds=body.seconds)
    return respond(200, asdict(result))


CHANNEL_ROUTES: dict[tuple[str, str], Route] = {
    ("GET", "/home"): _home,
    ("GET", "/channels"): _channels,
    ("POST", "/channels"): _create_channel,
    ("GET", "/channels/{channelId}"): _get_channel,
    ("PUT", "/channels/{channelId}"): _customise,
    ("POST", "/channels/{channelId}/streams"): _schedule,
    ("POST", "/channels/{channelId}/uploads"): _start_upload,
    ("GET", "/channels/{channelId}/streams"): _streams,
    ("POST", "/channels/{channelId}/follow"): _follow,
    ("GET", "/channels/{channelId}/chat"): _chat_history,
    ("POST", "/channels/{channelId}/chat"): _chat_post,
    ("POST", "/channels/{channelId}/moderation"): _moderate,
    ("POST", "/streams/{streamId}/stop"): _stop,
    ("GET", "/recordings/{recordingId}"): _get_recording,
    ("PUT", "/recordings/{recordingId}"): _set_visibility,
    ("POST", "/likes/{target}"): _like,
    ("GET", "/comments/{target}"): _comments,
    ("POST", "/comments/{target}"): _comment,
}


def channels_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Public site and channel space: home, channels, streams, recordings, social, chat."""
    return dispatch(event, CHANNEL_ROUTES, bootstrap.ports())


# ---- admin ------------------------------------------------------------------------------------


def _admin(event: dict[str, Any], ports: Ports) -> service.Caller:
    who = caller(event, ports)
    if who.role is not Role.ADMIN:
        from stratus.solutions.streaming.domain import NotAllowedError

        raise NotAllowedError("this needs the admin role")
    return who


def _admin_list(kind: str) -> Route:
    def route(event: dict[str, Any], ports: Ports) -> dict[str, Any]:
        _admin(event, ports)
        rows: list[Any]
        if kind == "users":
            rows = [_user(u) for u in ports.store.users()]
        elif kind == "orders":
            rows = [asdict(o) for o in ports.store.orders()]
        elif kind == "devices":
            rows = [{**_device(d), "owner_id": d.owner_id} for d in ports.store.devices()]
        elif kind == "streams":
            rows = [asdict(s) for status in StreamStatus for s in ports.store.streams_with(status)]
        else:
            rows = [_recording(r, ports, event) for r in ports.store.recordings()]
        return respond(200, {kind: rows})

    return route


def _set_role(event: dict[str, Any], ports: Ports) -> dict[str, Any]:
    body = parse_body(event, schemas.SetRole)
    user_id = path_param(event, "userId")
    user = service.set_role(ports, caller(event, ports), user_id, Role(body.role))
    return respond(200, _user(user))


def _put_product(event: dict[str, Any], ports: Ports) -> dict[str, Any]:
    body = parse_body(event, schemas.PutProduct)
    product = service.put_product(ports, caller(event, ports), path_param(event, "productId"),
                                  body.name, body.price_cents, body.active)
    return respond(200, asdict(product))


def _dashboard(event: dict[str, Any], ports: Ports) -> dict[str, Any]:
    return respond(200, service.dashboard(ports, caller(event, ports)))


def _report(event: dict[str, Any], ports: Ports) -> dict[str, Any]:
    try:
        top = int(query_param(event, "top") or 10)
    except ValueError:
        raise BadRequestError(["top: a number"]) from None
    return respond(200, service.tracking_report(
        ports, caller(event, ports), query_param(event, "day"), start=query_param(event, "from"),
        end=query_param(event, "to"), top=max(1, min(top, 100)),
    ))


ADMIN_ROUTES: dict[tuple[str, str], Route] = {
    ("GET", "/admin/users"): _admin_list("users"),
    ("PUT", "/admin/users/{userId}/role"): _set_role,
    ("PUT", "/admin/products/{productId}"): _put_product,
    ("GET", "/admin/orders"): _admin_list("orders"),
    ("GET", "/admin/devices"): _admin_list("devices"),
    ("GET", "/admin/streams"): _admin_list("streams"),
    ("GET", "/admin/recordings"): _admin_list("recordings"),
    ("GET", "/admin/dashboard"): _dashboard,
    ("GET", "/admin/report"): _report,
}


def admin_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Internal site: users, prices, orders, devices, streams, recordings, dashboard, report."""
    return dispatch(event, ADMIN_ROUTES, bootstrap.ports())
