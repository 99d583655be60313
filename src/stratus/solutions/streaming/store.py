"""Single-table persistence of the streaming domain on the TableStore port.

Keys (``PK``/``SK``) and the two indexes (``GSI1``: ``Data1``/``Sort1``, ``GSI2``:
``Data2``/``Sort2``):

==================  ==================  ==========================  ==========================
entity              PK / SK             Data1 (GSI1)                Data2 (GSI2)
==================  ==================  ==========================  ==========================
user (profile)      USER#sub / META                                 USER
email -> user       EMAIL#email / META
product             PRODUCT#id / META                               PRODUCT
order               ORDER#id / META     USER#uid#ORDER              ORDER
pairing code        PAIR#code / META
device              DEVICE#id / META    OWNER#uid#DEVICE            DEVICE
stream key          KEY#sha256 / META
local ingest        LOCALINGEST#did / META  (the device's current key digest, local target)
ingest channel      INGEST#arn / META       (channel ARN -> device, for IVS events)
ingest session      SESSION#sid / META      (IVS stream id -> our stream id)
current session     STREAM#id / SESSION     (the stream's latest IVS stream id)
channel             CHANNEL#id / META   OWNER#uid#CHANNEL           CHANNEL
stream              STREAM#id / META    CHANNEL#cid#STREAM          STREAM#status
recording           REC#id / META       CHANNEL#cid#REC             REC
chat room           CHANNEL#id / CHAT
chat message        CHAT#cid / ts#id
like                LIKE#target / uid
comment             COMMENT#target / ts#id
follow              FOLLOW#cid / uid    FOLLOWER#uid
notification        NOTIF#uid / ts#id
tracking event      TRACK#yyyy-mm-dd / ts#id
==================  ==================  ==========================  ==========================
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict
from datetime import datetime
from decimal import Decimal
from typing import Any

from stratus.platform.ports import ConditionFailedError, TableStore
from stratus.platform.ports.table import NotExists
from stratus.solutions.streaming.domain import ConflictError
from stratus.solutions.streaming.domain.accounts import Role, Settings, User
from stratus.solutions.streaming.domain.chat import ChatMessage, ChatRoom
from stratus.solutions.streaming.domain.devices import Device, PairingCode, Quality
from stratus.solutions.streaming.domain.orders import Order, OrderStatus, Product, Shipping
from stratus.solutions.streaming.domain.streams import (
    Channel,
    Recording,
    Stream,
    StreamStatus,
    Visibility,
)

META = "META"


def _dt(value: Any) -> datetime | None:
    return None if value in (None, "") else datetime.fromisoformat(str(value))


def _at(value: Any) -> datetime:
    """A stored timestamp that every item of its kind has."""
    return datetime.fromisoformat(str(value))


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _num(value: Any) -> float:
    return float(value) if isinstance(value, int | float | Decimal) else 0.0


class MissingError(LookupError):
    """No such entity (404)."""


class Store:
    """Typed reads and writes of every streaming entity on one table."""

    def __init__(self, table: TableStore) -> None:
        self.table = table

    # -- generic --------------------------------------------------------------------------------

    def _get(self, pk: str, sk: str = META) -> dict[str, Any]:
        item = self.table.get({"PK": pk, "SK": sk})
        if item is None:
            raise MissingError(pk.split("#", 1)[0].lower() + " not found")
        return item

    def _query(
        self, value: str, index: str | None = None, *, forward: bool = True, limit: int = 200
    ) -> Iterator[dict[str, Any]]:
        start: str | None = None
        seen = 0
        while True:
            page = self.table.query(value, index=index, start=start, forward=forward, limit=100)
            for item in page.items:
                yield item
                seen += 1
                if seen >= limit:
                    return
            start = page.next_token
            if not start:
                return

    def _create(self, item: dict[str, Any]) -> None:
        try:
            self.table.put(item, condition=NotExists("PK"))
        except ConditionFailedError as exc:
            raise ConflictError(f"{item['PK']} already exists") from exc

    # -- users ----------------------------------------------------------------------------------

    def add_user(self, user: User) -> None:
        """Create the user's profile (no password: the user pool has it); ConflictError when
        the email is taken (an EMAIL# guard item)."""
        try:
            self.table.put(
                {"PK": f"EMAIL#{user.email}", "SK": META, "user_id": user.user_id},
                condition=NotExists("PK"),
            )
        except ConditionFailedError as exc:
            raise ConflictError("email: already registered") from exc
        self.put_user(user)

    def put_user(self, user: User) -> None:
        self.table.put(
            {
                "PK": f"USER#{user.user_id}", "SK": META, "Data2": "USER",
                "Sort2": _iso(user.created_at), "user_id": user.user_id, "email": user.email,
                "role": user.role.value,
                "created_at": _iso(user.created_at), "display_name": user.settings.display_name,
                "email_notifications": user.settings.email_notifications,
            }
        )

    @staticmethod
    def _user(item: dict[str, Any]) -> User:
        return User(
            user_id=item["user_id"], email=item["email"], role=Role(item["role"]),
            created_at=_at(item["created_at"]),
            settings=Settings(
                display_name=item.get("display_name", ""),
                email_notifications=bool(item.get("email_notifications", True)),
            ),
        )

    def user(self, user_id: str) -> User:
        return self._user(self._get(f"USER#{user_id}"))

    def user_by_email(self, email: str) -> User | None:
        guard = self.table.get({"PK": f"EMAIL#{email}", "SK": META})
        return None if guard is None else self.user(str(guard["user_id"]))

    def users(self) -> list[User]:
        return [self._user(i) for i in self._query("USER", "GSI2")]

    # -- catalogue and orders -------------------------------------------------------------------

    def put_product(self, p: Product) -> None:
        self.table.put({"PK": f"PRODUCT#{p.product_id}", "SK": META, "Data2": "PRODUCT",
                        "Sort2": p.product_id, **asdict(p)})

    @staticmethod
    def _product(i: dict[str, Any]) -> Product:
        return Product(product_id=i["product_id"], name=i["name"],
                       price_cents=int(i["price_cents"]), currency=i["currency"],
                       active=bool(i["active"]))

    def product(self, product_id: str) -> Product:
        return self._product(self._get(f"PRODUCT#{product_id}"))

    def products(self) -> list[Product]:
        return [self._product(i) for i in self._query("PRODUCT", "GSI2")]

    def put_order(self, o: Order) -> None:
        self.table.put({
            "PK": f"ORDER#{o.order_id}", "SK": META, "Data1": f"USER#{o.user_id}#ORDER",
            "Sort1": _iso(o.created_at), "Data2": "ORDER", "Sort2": _iso(o.created_at),
            "order_id": o.order_id, "user_id": o.user_id, "product_id": o.product_id,
            "quantity": o.quantity, "amount_cents": o.amount_cents, "currency": o.currency,
            "shipping": asdict(o.shipping), "status": o.status.value,
            "created_at": _iso(o.created_at), "payment_reference": o.payment_reference,
            "history": [list(h) for h in o.history],
        })

    @staticmethod
    def _order(i: dict[str, Any]) -> Order:
        return Order(
            order_id=i["order_id"], user_id=i["user_id"], product_id=i["product_id"],
            quantity=int(i["quantity"]), amount_cents=int(i["amount_cents"]),
            currency=i["currency"], shipping=Shipping(**i["shipping"]),
            status=OrderStatus(i["status"]), created_at=_at(i["created_at"]),
            payment_reference=i.get("payment_reference", ""),
            history=tuple((str(a), str(b)) for a, b in i.get("history", [])),
        )

    def order(self, order_id: str) -> Order:
        return self._order(self._get(f"ORDER#{order_id}"))

    def orders_of(self, user_id: str) -> list[Order]:
        return [self._order(i) for i in self._query(f"USER#{user_id}#ORDER", "GSI1")]

    def orders(self) -> list[Order]:
        return [self._order(i) for i in self._query("ORDER", "GSI2")]

    # -- pairing, devices, keys -----------------------------------------------------------------

    def add_pairing(self, p: PairingCode) -> None:
        self._create({"PK": f"PAIR#{p.code}", "SK": META, "code": p.code, "owner_id": p.owner_id,
                      "expires_at": _iso(p.expires_at), "used": p.used})

    def pairing(self, code: str) -> PairingCode:
        i = self._get(f"PAIR#{code}")
        return PairingCode(code=i["code"], owner_id=i["owner_id"],
                           expires_at=_at(i["expires_at"]), used=bool(i["used"]))

    def use_pairing(self, p: PairingCode) -> None:
        """Mark used, only if still unused (two devices racing for one code: one wins)."""
        from stratus.platform.ports.table import Compare

        try:
            self.table.update({"PK": f"PAIR#{p.code}", "SK": META}, set={"used": True},
                              condition=Compare("used", "=", False))
        except ConditionFailedError as exc:
            raise ConflictError("pairing code: already used") from exc

    def put_device(self, d: Device) -> None:
        self.table.put({
            "PK": f"DEVICE#{d.device_id}", "SK": META, "Data1": f"OWNER#{d.owner_id}#DEVICE",
            "Sort1": _iso(d.created_at), "Data2": "DEVICE", "Sort2": _iso(d.created_at),
            "device_id": d.device_id, "owner_id": d.owner_id, "name": d.name,
            "channel_id": d.channel_id, "key_digest": d.key_digest,
            "created_at": _iso(d.created_at), "quality": d.quality.value,
            "key_version": d.key_version, "ingest_arn": d.ingest_arn,
            "playback_url": d.playback_url,
        })

    @staticmethod
    def _device(i: dict[str, Any]) -> Device:
        return Device(
            device_id=i["device_id"], owner_id=i["owner_id"], name=i["name"],
            channel_id=i["channel_id"], key_digest=i.get("key_digest"),
            created_at=_at(i["created_at"]), quality=Quality(i["quality"]),
            key_version=int(i.get("key_version", 1)), ingest_arn=i.get("ingest_arn") or "",
            playback_url=i.get("playback_url") or "",
        )

    def device(self, device_id: str) -> Device:
        return self._device(self._get(f"DEVICE#{device_id}"))

    def devices_of(self, owner_id: str) -> list[Device]:
        return [self._device(i) for i in self._query(f"OWNER#{owner_id}#DEVICE", "GSI1")]

    def devices(self) -> list[Device]:
        return [self._device(i) for i in self._query("DEVICE", "GSI2")]

    def put_key(self, digest: str, device_id: str) -> None:
        self.table.put({"PK": f"KEY#{digest}", "SK": META, "device_id": device_id})

    def delete_key(self, digest: str | None) -> None:
        if digest:
            self.table.delete({"PK": f"KEY#{digest}", "SK": META})

    def key_owner(self, digest: str) -> str | None:
        """The device a key digest is indexed to (the index alone, see ``device_by_key``)."""
        item = self.table.get({"PK": f"KEY#{digest}", "SK": META})
        return None if item is None else str(item["device_id"])

    def device_by_key(self, digest: str) -> Device | None:
        device_id = self.key_owner(digest)
        if device_id is None:
            return None
        device = self.device(device_id)
        return device if device.key_digest == digest else None

    def put_local_ingest(self, device_id: str, digest: str | None) -> None:
        self.table.put({"PK": f"LOCALINGEST#{device_id}", "SK": META, "key_digest": digest})

    def local_ingest_exists(self, device_id: str) -> bool:
        return self.table.get({"PK": f"LOCALINGEST#{device_id}", "SK": META}) is not None

    def local_ingest_digest(self, device_id: str) -> str | None:
        item = self.table.get({"PK": f"LOCALINGEST#{device_id}", "SK": META}) or {}
        return item.get("key_digest") or None

    def delete_local_ingest(self, device_id: str) -> None:
        self.table.delete({"PK": f"LOCALINGEST#{device_id}", "SK": META})

    def put_ingest(self, arn: str, device_id: str) -> None:
        self.table.put({"PK": f"INGEST#{arn}", "SK": META, "device_id": device_id})

    def device_by_ingest(self, arn: str) -> Device | None:
        """The device whose ingest channel is ``arn`` (None for a channel not ours)."""
        item = self.table.get({"PK": f"INGEST#{arn}", "SK": META})
        if item is None:
            return None
        device = self.device(str(item["device_id"]))
        return device if device.ingest_arn == arn else None

    def put_session(self, session_id: str, stream_id: str) -> None:
        """An IVS stream (session) feeds our stream; it is the stream's current one."""
        self.table.put({"PK": f"SESSION#{session_id}", "SK": META, "stream_id": stream_id})
        self.table.put({"PK": f"STREAM#{stream_id}", "SK": "SESSION", "session_id": session_id})

    def session_stream(self, session_id: str) -> str | None:
        item = self.table.get({"PK": f"SESSION#{session_id}", "SK": META})
        return None if item is None else str(item["stream_id"])

    def current_session(self, stream_id: str) -> str | None:
        item = self.table.get({"PK": f"STREAM#{stream_id}", "SK": "SESSION"})
        return None if item is None else str(item["session_id"])

    # -- channels, streams, recordings ----------------------------------------------------------

    def put_channel(self, c: Channel) -> None:
        self.table.put({
            "PK": f"CHANNEL#{c.channel_id}", "SK": META, "Data1": f"OWNER#{c.owner_id}#CHANNEL",
            "Sort1": c.channel_id, "Data2": "CHANNEL", "Sort2": c.name.lower(), **asdict(c),
        })

    @staticmethod
    def _channel(i: dict[str, Any]) -> Channel:
        return Channel(channel_id=i["channel_id"], owner_id=i["owner_id"], name=i["name"],
                       description=i.get("description", ""), theme=i.get("theme", "dark"),
                       cover_key=i.get("cover_key"), live_stream_id=i.get("live_stream_id"))

    def channel(self, channel_id: str) -> Channel:
        return self._channel(self._get(f"CHANNEL#{channel_id}"))

    def channels_of(self, owner_id: str) -> list[Channel]:
        return [self._channel(i) for i in self._query(f"OWNER#{owner_id}#CHANNEL", "GSI1")]

    def channels(self) -> list[Channel]:
        return [self._channel(i) for i in self._query("CHANNEL", "GSI2")]

    def put_stream(self, s: Stream) -> None:
        self.table.put({
            "PK": f"STREAM#{s.stream_id}", "SK": META, "Data1": f"CHANNEL#{s.channel_id}#STREAM",
            "Sort1": _iso(s.scheduled_at or s.created_at), "Data2": f"STREAM#{s.status.value}",
            "Sort2": _iso(s.scheduled_at or s.created_at), "stream_id": s.stream_id,
            "channel_id": s.channel_id, "title": s.title, "status": s.status.value,
            "created_at": _iso(s.created_at), "scheduled_at": _iso(s.scheduled_at),
            "started_at": _iso(s.started_at), "ended_at": _iso(s.ended_at),
            "interrupted_at": _iso(s.interrupted_at), "device_id": s.device_id,
            "reconnects": s.reconnects, "viewers": s.viewers,
        })

    @staticmethod
    def _stream(i: dict[str, Any]) -> Stream:
        return Stream(
            stream_id=i["stream_id"], channel_id=i["channel_id"], title=i["title"],
            status=StreamStatus(i["status"]), created_at=_at(i["created_at"]),
            scheduled_at=_dt(i.get("scheduled_at")), started_at=_dt(i.get("started_at")),
            ended_at=_dt(i.get("ended_at")), interrupted_at=_dt(i.get("interrupted_at")),
            device_id=i.get("device_id"), reconnects=int(i.get("reconnects", 0)),
            viewers=int(i.get("viewers", 0)),
        )

    def stream(self, stream_id: str) -> Stream:
        return self._stream(self._get(f"STREAM#{stream_id}"))

    def streams_of(self, channel_id: str) -> list[Stream]:
        return [self._stream(i) for i in
                self._query(f"CHANNEL#{channel_id}#STREAM", "GSI1", forward=False)]

    def streams_with(self, status: StreamStatus) -> list[Stream]:
        return [self._stream(i) for i in self._query(f"STREAM#{status.value}", "GSI2")]

    def set_viewers(self, stream_id: str, viewers: int) -> None:
        self.table.update({"PK": f"STREAM#{stream_id}", "SK": META}, set={"viewers": viewers})

    def put_recording(self, r: Recording) -> None:
        self.table.put({
            "PK": f"REC#{r.recording_id}", "SK": META, "Data1": f"CHANNEL#{r.channel_id}#REC",
            "Sort1": _iso(r.created_at), "Data2": "REC", "Sort2": _iso(r.created_at),
            "recording_id": r.recording_id, "channel_id": r.channel_id, "title": r.title,
            "created_at": _iso(r.created_at), "visibility": r.visibility.value,
            "ready": r.ready, "duration_s": Decimal(str(round(r.duration_s, 3))),
            "playlist_key": r.playlist_key, "thumbnail_key": r.thumbnail_key,
            "source": r.source, "quality": r.quality, "error": r.error,
        })

    @staticmethod
    def _recording(i: dict[str, Any]) -> Recording:
        return Recording(
            recording_id=i["recording_id"], channel_id=i["channel_id"], title=i["title"],
            created_at=_at(i["created_at"]),
            visibility=Visibility(i["visibility"]), ready=bool(i["ready"]),
            duration_s=_num(i.get("duration_s")), playlist_key=i.get("playlist_key", ""),
            thumbnail_key=i.get("thumbnail_key"), source=i.get("source", "stream"),
            quality=i.get("quality", "passthrough"), error=i.get("error", ""),
        )

    def recording(self, recording_id: str) -> Recording:
        return self._recording(self._get(f"REC#{recording_id}"))

    def find_recording(self, recording_id: str) -> Recording | None:
        item = self.table.get({"PK": f"REC#{recording_id}", "SK": META})
        return None if item is None else self._recording(item)

    def recordings_of(self, channel_id: str) -> list[Recording]:
        return [self._recording(i) for i in
                self._query(f"CHANNEL#{channel_id}#REC", "GSI1", forward=False)]

    def recordings(self) -> list[Recording]:
        return [self._recording(i) for i in self._query("REC", "GSI2", forward=False)]

    # -- chat -----------------------------------------------------------------------------------

    def chat_room(self, channel: Channel) -> ChatRoom:
        item = self.table.get({"PK": f"CHANNEL#{channel.channel_id}", "SK": "CHAT"}) or {}
        return ChatRoom(
            channel_id=channel.channel_id, owner_id=channel.owner_id,
            banned=frozenset(item.get("banned", [])), slow_mode_s=int(item.get("slow", 0)),
            moderators=frozenset(item.get("moderators", [])),
            last_post={k: d for k, v in (item.get("last_post") or {}).items()
                       if (d := _dt(v)) is not None},
        )

    def put_chat_room(self, room: ChatRoom) -> None:
        self.table.put({
            "PK": f"CHANNEL#{room.channel_id}", "SK": "CHAT", "banned": sorted(room.banned),
            "slow": room.slow_mode_s, "moderators": sorted(room.moderators),
            "last_post": {k: v.isoformat() for k, v in room.last_post.items()},
        })

    def add_chat_message(self, m: ChatMessage) -> None:
        self.table.put({
            "PK": f"CHAT#{m.channel_id}", "SK": f"{m.at.isoformat()}#{m.message_id}",
            "Data1": f"CHATMSG#{m.message_id}", "Sort1": m.channel_id,
            "message_id": m.message_id, "channel_id": m.channel_id, "user_id": m.user_id,
            "user_name": m.user_name, "text": m.text, "at": m.at.isoformat(),
            "deleted": m.deleted,
        })

    @staticmethod
    def _chat(i: dict[str, Any]) -> ChatMessage:
        return ChatMessage(message_id=i["message_id"], channel_id=i["channel_id"],
                           user_id=i["user_id"], user_name=i["user_name"], text=i["text"],
                           at=_at(i["at"]), deleted=bool(i["deleted"]))

    def chat_history(self, channel_id: str, limit: int = 50) -> list[ChatMessage]:
        items = list(self._query(f"CHAT#{channel_id}", forward=False, limit=limit))
        return [self._chat(i) for i in reversed(items)]

    def delete_chat_message(self, channel_id: str, message_id: str) -> ChatMessage:
        found = list(self._query(f"CHATMSG#{message_id}", "GSI1", limit=1))
        if not found or found[0]["channel_id"] != channel_id:
            raise MissingError("message not found")
        item = found[0]
        self.table.update({"PK": item["PK"], "SK": item["SK"]},
                          set={"deleted": True, "text": ""})
        return self._chat({**item, "deleted": True, "text": ""})

    # -- social, notifications, tracking --------------------------------------------------------

    def like(self, target: str, user_id: str) -> bool:
        """Record a like; False when this user already liked ``target``."""
        try:
            self.table.put({"PK": f"LIKE#{target}", "SK": user_id}, condition=NotExists("PK"))
        except ConditionFailedError:
            return False
        self.table.update({"PK": f"LIKE#{target}", "SK": "#COUNT"}, add={"n": 1})
        return True

    def likes(self, target: str) -> int:
        item = self.table.get({"PK": f"LIKE#{target}", "SK": "#COUNT"})
        return 0 if item is None else int(item.get("n", 0))

    def add_comment(self, target: str, comment: dict[str, Any]) -> None:
        self.table.put({"PK": f"COMMENT#{target}", "SK": f"{comment['at']}#{comment['id']}",
                        **comment})

    def comments(self, target: str) -> list[dict[str, Any]]:
        keep = ("id", "user_id", "user_name", "text", "at")
        return [{k: i[k] for k in keep} for i in self._query(f"COMMENT#{target}")]

    def follow(self, channel_id: str, user_id: str) -> None:
        self.table.put({"PK": f"FOLLOW#{channel_id}", "SK": user_id,
                        "Data1": f"FOLLOWER#{user_id}", "Sort1": channel_id})

    def unfollow(self, channel_id: str, user_id: str) -> None:
        self.table.delete({"PK": f"FOLLOW#{channel_id}", "SK": user_id})

    def followers(self, channel_id: str) -> list[str]:
        return [str(i["SK"]) for i in self._query(f"FOLLOW#{channel_id}", limit=10_000)]

    def following(self, user_id: str) -> list[str]:
        return [str(i["Sort1"]) for i in self._query(f"FOLLOWER#{user_id}", "GSI1")]

    def add_notification(self, user_id: str, note: dict[str, Any]) -> None:
        self.table.put({"PK": f"NOTIF#{user_id}", "SK": f"{note['at']}#{note['id']}", **note})

    def notifications(self, user_id: str) -> list[dict[str, Any]]:
        keep = ("id", "kind", "text", "at", "channel_id")
        return [{k: i.get(k) for k in keep}
                for i in self._query(f"NOTIF#{user_id}", forward=False, limit=50)]

    def track(self, day: str, event: dict[str, Any]) -> None:
        self.table.put({"PK": f"TRACK#{day}", "SK": f"{event['at']}#{event['id']}", **event})

    def tracked(self, day: str) -> list[dict[str, Any]]:
        return list(self._query(f"TRACK#{day}", limit=100_000))

    def put_config(self, name: str, values: dict[str, Any]) -> None:
        self.table.put({"PK": "CONFIG", "SK": name, **values})

    def config(self, name: str) -> dict[str, Any]:
        return self.table.get({"PK": "CONFIG", "SK": name}) or {}
