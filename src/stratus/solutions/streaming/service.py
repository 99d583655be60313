"""Use cases of the streaming platform: functions taking ``(ports, ...)``.

Errors: :class:`~stratus.solutions.streaming.domain.DomainError` (400),
:class:`~stratus.solutions.streaming.domain.NotAllowedError` (403),
:class:`~stratus.solutions.streaming.store.MissingError` (404),
:class:`~stratus.solutions.streaming.domain.ConflictError` (409), :class:`AuthError` (401).
"""

from __future__ import annotations

import secrets as pysecrets
import uuid
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from stratus.platform.ports import (
    AlreadyExistsError,
    AuthenticationError,
    Claims,
    Clock,
    ConditionFailedError,
    Email,
    InvalidRequestError,
    Mailer,
    NotFoundError,
    ObjectStore,
    PortError,
    SecretStore,
    UserPool,
)
from stratus.solutions.streaming.domain import ConflictError, DomainError, NotAllowedError
from stratus.solutions.streaming.domain.accounts import (
    ROLE_GROUPS,
    Role,
    Settings,
    User,
    normalise_email,
    require,
    role_of_groups,
)
from stratus.solutions.streaming.domain.chat import (
    ChatMessage,
    ChatRoom,
    ReviewHook,
    default_review,
)
from stratus.solutions.streaming.domain.devices import (
    Device,
    Quality,
    key_digest,
    new_pairing_code,
    normalise_code,
)
from stratus.solutions.streaming.domain.orders import (
    Order,
    OrderStatus,
    Product,
    Shipping,
    price_order,
)
from stratus.solutions.streaming.domain.streams import (
    Channel,
    Recording,
    Stream,
    StreamStatus,
    Visibility,
    check_title,
)
from stratus.solutions.streaming.ingestchannels import (
    IngestChannels,
    LocalIngestChannels,
    local_channel_arn,
)
from stratus.solutions.streaming.mediasigning import MediaSigner
from stratus.solutions.streaming.store import MissingError, Store
from stratus.solutions.streaming.uploads import MAX_UPLOAD_BYTES, UploadSigner, upload_key
from stratus.solutions.streaming.warehouse import MAX_DAYS, TrackedEvent, Warehouse

BLOCKED_WORDS = frozenset({"spoiler", "badword"})


class AuthError(Exception):
    """Missing, expired or invalid credentials (401)."""


@dataclass(frozen=True)
class PaymentResult:
    """What the payment provider answered."""

    ok: bool
    reference: str
    reason: str = ""


class PaymentProvider(Protocol):
    """Charges an order. Stripe-like on AWS; :class:`TestPaymentProvider` locally."""

    def charge(self, order_id: str, amount_cents: int, currency: str, token: str) -> PaymentResult:
        """Charge ``amount_cents``; never raises for a declined payment."""
        ...


class TestPaymentProvider:
    """Local payments: ``tok_ok`` (and any ``tok_ok_*``) succeeds, ``tok_declined`` fails."""

    __test__ = False  # not a pytest class

    def charge(self, order_id: str, amount_cents: int, currency: str, token: str) -> PaymentResult:
        if token.startswith("tok_ok"):
            return PaymentResult(True, f"test_{order_id[:8]}_{amount_cents}{currency.lower()}")
        return PaymentResult(False, "", "card declined (test provider)")


@dataclass(frozen=True)
class Ports:
    """Everything the use cases need."""

    store: Store
    recordings: ObjectStore
    mailer: Mailer
    clock: Clock
    secrets: SecretStore
    payments: PaymentProvider
    warehouse: Warehouse
    users: UserPool
    """Accounts, passwords, groups (roles) and session tokens: Cognito on AWS."""
    uploads: UploadSigner | None = None
    ingest: IngestChannels | None = None
    """Devices' ingest channels; None: the local media service's (keys in the table)."""
    media: MediaSigner | None = None
    """CloudFront signed cookies/URLs for private media on AWS; None locally, where the
    mounted site checks a recording's visibility on every request."""
    sender: str = "noreply@streaming.example.com"
    reconnect_window_s: float = 10.0
    ingest_url: str = ""
    site_url: str = ""
    review: ReviewHook = field(default_factory=lambda: default_review(BLOCKED_WORDS))


def _id() -> str:
    return uuid.uuid4().hex[:16]


# ---- accounts and sessions --------------------------------------------------------------------


def _pool_error(exc: PortError) -> Exception:
    """The use-case error for a refusal of the user pool."""
    if isinstance(exc, AlreadyExistsError):
        return ConflictError("email: already registered")
    if isinstance(exc, InvalidRequestError):
        return DomainError(str(exc))
    if isinstance(exc, NotFoundError):
        return MissingError("user not found in the user pool")
    return exc


def register(ports: Ports, email: str, password: str, display_name: str) -> User:
    """A new viewer: a user of the pool (which checks the password policy) and a profile in
    the table keyed by its ``sub``. ConflictError when the email is registered."""
    address = normalise_email(email)
    name = display_name.strip() or address.split("@", 1)[0]
    try:
        sub = ports.users.sign_up(address, password)
    except (AlreadyExistsError, InvalidRequestError) as exc:
        raise _pool_error(exc) from exc
    user = User(user_id=sub, email=address, role=Role.VIEWER, created_at=ports.clock.now(),
                settings=Settings(display_name=name[:60]))
    try:
        ports.store.add_user(user)
    except BaseException:
        with suppress(PortError):  # no pool user without a profile
            ports.users.delete_user(sub)
        raise
    return user


def _profile(ports: Ports, claims: Claims) -> User:
    """The profile of a signed-in user; a pool user made outside the API (an operator in the
    console) gets one on first sign-in, with the role of its groups."""
    try:
        return ports.store.user(claims.sub)
    except MissingError:
        if not claims.email:
            raise
    address = claims.email
    user = User(user_id=claims.sub, email=address, role=role_of_groups(claims.groups),
                created_at=ports.clock.now(),
                settings=Settings(display_name=address.split("@", 1)[0][:60]))
    try:
        ports.store.add_user(user)
    except ConflictError:  # a concurrent first sign-in made it
        return ports.store.user(claims.sub)
    return user


def login(ports: Ports, email: str, password: str) -> tuple[User, str]:
    """The user and a session token (the pool's id token); AuthError for a wrong email or
    password (the same answer for both)."""
    try:
        tokens = ports.users.authenticate(email, password)
        claims = ports.users.verify(tokens.id_token)
    except AuthenticationError as exc:
        raise AuthError(str(exc)) from exc
    return _profile(ports, claims), tokens.id_token


@dataclass(frozen=True)
class Caller:
    """Who is calling, from a verified session token."""

    user_id: str
    role: Role
    name: str


def authenticate(ports: Ports, token: str | None) -> Caller:
    """The caller of a ``Bearer`` token; AuthError when it is missing or not valid now.

    The pool checks signature, issuer, client and expiry (against its clock). The role is
    read from the profile, not from the token's groups: a token keeps the groups it was
    issued with, and a role change (a paid order, an admin's decision) must count from the
    next request, not the next sign-in."""
    if not token:
        raise AuthError("sign in first (Authorization: Bearer TOKEN)")
    raw = token.removeprefix("Bearer ").strip()
    try:
        claims = ports.users.verify(raw)
    except AuthenticationError as exc:
        raise AuthError(f"session not valid: {exc}") from exc
    try:
        user = ports.store.user(claims.sub)
    except MissingError as exc:
        raise AuthError("session user no longer exists") from exc
    return Caller(user.user_id, user.role, user.settings.display_name)


def update_settings(
    ports: Ports, caller: Caller, display_name: str | None, email_notifications: bool | None
) -> User:
    """Change the caller's account settings."""
    user = ports.store.user(caller.user_id)
    settings = user.settings
    if display_name is not None:
        if not display_name.strip() or len(display_name) > 60:
            raise DomainError("display_name: 1 to 60 characters")
        settings = replace(settings, display_name=display_name.strip())
    if email_notifications is not None:
        settings = replace(settings, email_notifications=email_notifications)
    user = replace(user, settings=settings)
    ports.store.put_user(user)
    return user


def change_role(ports: Ports, user: User, role: Role) -> User:
    """Give ``user`` exactly the pool group of ``role`` (none for a viewer), then record the
    role in the profile. Groups first: a failure leaves the profile's old role, and the
    change can be made again."""
    try:
        for other, group in ROLE_GROUPS.items():
            if other is role:
                ports.users.add_to_group(user.user_id, group)
            else:
                ports.users.remove_from_group(user.user_id, group)
    except (NotFoundError, InvalidRequestError) as exc:
        raise _pool_error(exc) from exc
    user = replace(user, role=role)
    ports.store.put_user(user)
    return user


def set_role(ports: Ports, caller: Caller, user_id: str, role: Role) -> User:
    """Admin: change a user's role (its pool groups and its profile)."""
    require(caller.role, Role.ADMIN)
    return change_role(ports, ports.store.user(user_id), role)


def ensure_admin(ports: Ports, email: str, password: str) -> User:
    """Create (or promote) an admin account: for the demo and `stratus streaming admin`."""
    existing = ports.store.user_by_email(normalise_email(email))
    user = existing or register(ports, email, password, "admin")
    return change_role(ports, user, Role.ADMIN)


# ---- catalogue and orders ---------------------------------------------------------------------


def put_product(
    ports: Ports, caller: Caller, product_id: str, name: str, price_cents: int, active: bool
) -> Product:
    """Admin: create or reprice a catalogue entry."""
    require(caller.role, Role.ADMIN)
    if price_cents < 0 or not name.strip():
        raise DomainError("price_cents must be >= 0 and name non-empty")
    product = Product(product_id=product_id, name=name.strip(), price_cents=price_cents,
                      active=active)
    ports.store.put_product(product)
    return product


def place_order(
    ports: Ports, caller: Caller, product_id: str, quantity: int, shipping: Shipping,
    payment_token: str,
) -> Order:
    """Order devices and pay at once; a paid order makes the caller a device owner."""
    product = ports.store.product(product_id)
    amount = price_order(product, quantity)
    now = ports.clock.now()
    order = Order(
        order_id=_id(), user_id=caller.user_id, product_id=product_id, quantity=quantity,
        amount_cents=amount, currency=product.currency, shipping=shipping,
        status=OrderStatus.PLACED, created_at=now, history=(("placed", now.isoformat()),),
    )
    ports.store.put_order(order)
    return pay_order(ports, caller, order.order_id, payment_token)


def pay_order(ports: Ports, caller: Caller, order_id: str, payment_token: str) -> Order:
    """Charge the order; paid orders upgrade a viewer to device owner."""
    order = ports.store.order(order_id)
    if order.user_id != caller.user_id:
        raise NotAllowedError("not your order")
    result = ports.payments.charge(order.order_id, order.amount_cents, order.currency,
                                   payment_token)
    now = ports.clock.now()
    if result.ok:
        order = replace(order.move_to(OrderStatus.PAID, now), payment_reference=result.reference)
        user = ports.store.user(caller.user_id)
        if user.role is Role.VIEWER:
            change_role(ports, user, Role.OWNER)
    else:
        order = order.move_to(OrderStatus.PAYMENT_FAILED, now)
    ports.store.put_order(order)
    return order


def move_order(ports: Ports, caller: Caller, order_id: str, status: OrderStatus) -> Order:
    """Admin ships/delivers/cancels; an owner may cancel an order not yet shipped."""
    order = ports.store.order(order_id)
    if caller.role is not Role.ADMIN and not (
        status is OrderStatus.CANCELLED and order.user_id == caller.user_id
    ):
        raise NotAllowedError("only an admin moves orders")
    order = order.move_to(status, ports.clock.now())
    ports.store.put_order(order)
    return order


# ---- channels, pairing, devices ---------------------------------------------------------------


def create_channel(ports: Ports, caller: Caller, name: str, description: str = "") -> Channel:
    """A new channel of a device owner."""
    require(caller.role, Role.OWNER)
    cleaned = name.strip()
    if not 1 <= len(cleaned) <= 60:
        raise DomainError("name: 1 to 60 characters")
    channel = Channel(channel_id=_id(), owner_id=caller.user_id, name=cleaned,
                      description=description.strip()[:500])
    ports.store.put_channel(channel)
    return channel


def _own_channel(ports: Ports, caller: Caller, channel_id: str) -> Channel:
    channel = ports.store.channel(channel_id)
    if channel.owner_id != caller.user_id and caller.role is not Role.ADMIN:
        raise NotAllowedError("not your channel")
    return channel


def customise_channel(
    ports: Ports, caller: Caller, channel_id: str, *, theme: str | None = None,
    description: str | None = None, cover: bytes | None = None, cover_type: str = "image/png",
) -> Channel:
    """Theme, description and cover image of the channel page."""
    channel = _own_channel(ports, caller, channel_id).customise(
        theme=theme, description=description
    )
    if cover is not None:
        if not cover or len(cover) > 2_000_000 or not cover_type.startswith("image/"):
            raise DomainError("cover: an image up to 2 MB")
        key = f"covers/{channel_id}/{_id()}"
        ports.recordings.put(key, cover, content_type=cover_type)
        channel = replace(channel, cover_key=key)
    ports.store.put_channel(channel)
    return channel


def new_pairing(ports: Ports, caller: Caller) -> tuple[str, datetime]:
    """A one-time pairing code for a device of the caller (an owner)."""
    require(caller.role, Role.OWNER)
    code = new_pairing_code(pysecrets.token_bytes(8), caller.user_id, ports.clock.now())
    ports.store.add_pairing(code)
    return code.code, code.expires_at


@dataclass(frozen=True)
class PairedDevice:
    """What a device learns when it pairs (the key is shown only now)."""

    device: Device
    stream_key: str
    ingest_url: str


def _ingest(ports: Ports) -> IngestChannels:
    if ports.ingest is not None:
        return ports.ingest
    return LocalIngestChannels(ports.store, ports.ingest_url)


def _ingest_arn(device: Device) -> str:
    """Devices paired before ingest channels existed have local ones."""
    return device.ingest_arn or local_channel_arn(device.device_id)


def pair_device(ports: Ports, code: str, name: str = "device") -> PairedDevice:
    """The device redeems a pairing code: it gets its id, stream key and ingest URL."""
    pairing = ports.store.pairing(normalise_code(code))
    pairing.redeem(ports.clock.now())
    ports.store.use_pairing(pairing)
    owner = ports.store.user(pairing.owner_id)
    channels = ports.store.channels_of(owner.user_id)
    channel = channels[0] if channels else Channel(
        channel_id=_id(), owner_id=owner.user_id,
        name=f"{owner.settings.display_name or 'My'}'s channel",
    )
    if not channels:
        ports.store.put_channel(channel)
    device_id = _id()
    ingest = _ingest(ports).provision(device_id)
    device = Device(device_id=device_id, owner_id=owner.user_id,
                    name=name.strip()[:60] or "device", channel_id=channel.channel_id,
                    key_digest=key_digest(ingest.stream_key), created_at=ports.clock.now(),
                    ingest_arn=ingest.arn, playback_url=ingest.playback_url)
    ports.store.put_device(device)
    ports.store.put_ingest(ingest.arn, device_id)
    return PairedDevice(device, ingest.stream_key, ingest.ingest_url)


def _own_device(ports: Ports, caller: Caller, device_id: str) -> Device:
    device = ports.store.device(device_id)
    if device.owner_id != caller.user_id and caller.role is not Role.ADMIN:
        raise NotAllowedError("not your device")
    return device


def configure_device(
    ports: Ports, caller: Caller, device_id: str, *, name: str | None, channel_id: str | None,
    quality: Quality | None,
) -> Device:
    """Rename, point at another of the owner's channels, choose passthrough or ladder."""
    device = _own_device(ports, caller, device_id)
    if channel_id is not None:
        _own_channel(ports, caller, channel_id)
        device = replace(device, channel_id=channel_id)
    if name is not None:
        if not name.strip():
            raise DomainError("name: must not be empty")
        device = replace(device, name=name.strip()[:60])
    if quality is not None and quality is not device.quality:
        try:
            _ingest(ports).set_quality(_ingest_arn(device), ladder=quality is Quality.LADDER)
        except ConditionFailedError as exc:
            raise ConflictError("the device is live: stop it before changing quality") from exc
        device = replace(device, quality=quality)
    ports.store.put_device(device)
    return device


def rotate_key(ports: Ports, caller: Caller, device_id: str) -> PairedDevice:
    """A new stream key (returned once); the old one is rejected from now on."""
    device = _own_device(ports, caller, device_id)
    ingest = _ingest(ports).rotate_key(_ingest_arn(device))
    if not device.ingest_arn:
        ports.store.put_ingest(ingest.arn, device.device_id)
    device = replace(device.rotate(key_digest(ingest.stream_key)), ingest_arn=ingest.arn)
    ports.store.put_device(device)
    return PairedDevice(device, ingest.stream_key, ingest.ingest_url)


def revoke_key(ports: Ports, caller: Caller, device_id: str) -> Device:
    """No key at all: publishing is rejected (and a live stream is cut) until a rotation."""
    device = _own_device(ports, caller, device_id)
    _ingest(ports).revoke(_ingest_arn(device))
    device = device.revoke()
    ports.store.put_device(device)
    for stream in ports.store.streams_of(device.channel_id)[:5]:
        if stream.device_id == device.device_id and stream.status is not StreamStatus.ENDED:
            stop_stream(ports, Caller(device.owner_id, Role.OWNER, ""), stream.stream_id)
    return device


# ---- streams ----------------------------------------------------------------------------------


def schedule_stream(
    ports: Ports, caller: Caller, channel_id: str, title: str, scheduled_at: datetime | None
) -> Stream:
    """Announce a stream; the next publish of the channel's device takes it live."""
    _own_channel(ports, caller, channel_id)
    if scheduled_at is not None and scheduled_at.tzinfo is None:
        raise DomainError("scheduled_at: give a time zone (e.g. 2030-01-01T20:00:00Z)")
    now = ports.clock.now()
    stream = Stream(stream_id=_id(), channel_id=channel_id, title=check_title(title),
                    status=StreamStatus.SCHEDULED, created_at=now,
                    scheduled_at=scheduled_at or now)
    ports.store.put_stream(stream)
    return stream


@dataclass(frozen=True)
class PublishGrant:
    """An accepted publish: which stream it feeds and whether it resumes one."""

    stream: Stream
    device: Device
    resumed: bool


def start_publish(ports: Ports, stream_key: str) -> PublishGrant:
    """Ingest hook: validate the key, then resume, start a scheduled, or open a new stream.

    NotAllowedError for a wrong or revoked key."""
    device = ports.store.device_by_key(key_digest(stream_key)) if stream_key else None
    if device is None:
        raise NotAllowedError("stream key not valid (wrong, rotated or revoked)")
    return _go_live(ports, device)


def _go_live(ports: Ports, device: Device) -> PublishGrant:
    """The device publishes: resume its interrupted stream within the window, else take the
    channel's next scheduled stream live, else open a new one (ConflictError when live)."""
    now = ports.clock.now()
    window = timedelta(seconds=ports.reconnect_window_s)
    channel = ports.store.channel(device.channel_id)
    streams = ports.store.streams_of(channel.channel_id)
    for stream in streams:
        if stream.device_id == device.device_id and stream.status is StreamStatus.LIVE:
            raise ConflictError("this device is already live")
        if stream.device_id == device.device_id and stream.can_resume(now, window):
            resumed = stream.resume(now, window)
            ports.store.put_stream(resumed)
            return PublishGrant(resumed, device, resumed=True)
    scheduled = sorted(
        (s for s in streams if s.status is StreamStatus.SCHEDULED
         and (s.scheduled_at or now) <= now + timedelta(hours=1)),
        key=lambda s: s.scheduled_at or now,
    )
    if scheduled:
        stream = scheduled[0].go_live(device.device_id, now)
    else:
        stream = Stream(stream_id=_id(), channel_id=channel.channel_id,
                        title=f"{channel.name} live", status=StreamStatus.LIVE, created_at=now,
                        started_at=now, device_id=device.device_id)
    ports.store.put_stream(stream)
    ports.store.put_channel(replace(channel, live_stream_id=stream.stream_id))
    ports.store.put_recording(Recording(
        recording_id=stream.stream_id, channel_id=channel.channel_id, title=stream.title,
        created_at=now, playlist_key=f"recordings/{stream.stream_id}/index.m3u8",
    ))
    notify_go_live(ports, channel, stream)
    return PublishGrant(stream, device, resumed=False)


def end_publish(ports: Ports, stream_id: str) -> Stream:
    """Ingest hook: the encoder left; the reconnect window opens."""
    stream = ports.store.stream(stream_id).interrupt(ports.clock.now())
    ports.store.put_stream(stream)
    return stream


# IVS on AWS: its EventBridge events stand for the local publish hook's calls. A "session" is
# an IVS stream (``st-...``, new at each encoder connection); it is mapped to our stream.


def ingest_started(ports: Ports, channel_arn: str, session_id: str) -> PublishGrant | None:
    """A session began on a device's channel (Session Created or Stream Start, whichever
    comes first): the same rules as a local publish (resume within the window, a scheduled
    stream, or a new one). None when the session is known already (the second event).

    MissingError when no device has this channel."""
    device = ports.store.device_by_ingest(channel_arn)
    if device is None:
        raise MissingError(f"no device streams to {channel_arn}")
    if ports.store.session_stream(session_id) is not None:
        return None
    for stream in ports.store.streams_of(device.channel_id):
        if stream.device_id == device.device_id and stream.status is StreamStatus.LIVE:
            # A new session while ours is live: the end of the last one is late or lost.
            ports.store.put_session(session_id, stream.stream_id)
            return PublishGrant(stream, device, resumed=True)
    grant = _go_live(ports, device)
    ports.store.put_session(session_id, grant.stream.stream_id)
    return grant


def ingest_ended(ports: Ports, session_id: str) -> Stream | None:
    """The encoder left (Session Ended or Stream End): the reconnect window opens, as after a
    local publish. None for a session not known, or no longer its stream's current one (a
    late event after a reconnect)."""
    stream_id = ports.store.session_stream(session_id)
    if stream_id is None or ports.store.current_session(stream_id) != session_id:
        return None
    return end_publish(ports, stream_id)


def ingest_recording_ended(
    ports: Ports, session_ids: list[str], *, duration_s: float, playlist_key: str,
    thumbnail_key: str | None, error: str = "",
) -> Recording:
    """IVS finished a recording (after its reconnect window, so the broadcast is over): the
    stream ends, unless a newer session continues it, and its recording is registered as a
    local one is (ready with duration and thumbnail, private) or failed with ``error``.

    MissingError when none of the sessions is known."""
    stream_id = next((found for sid in session_ids
                      if (found := ports.store.session_stream(sid)) is not None), None)
    if stream_id is None:
        raise MissingError(f"no stream was fed by IVS streams {', '.join(session_ids)}")
    if ports.store.current_session(stream_id) in session_ids:
        finish_stream(ports, stream_id)
    if error:
        return upload_failed(ports, stream_id, error)
    return recording_ready(ports, stream_id, duration_s, thumbnail_key,
                           playlist_key=playlist_key)


def ingest_recording_failed(ports: Ports, session_id: str, reason: str) -> Recording | None:
    """IVS could not start recording a session: the stream goes on, its recording shows why.
    None when the session is not known (yet)."""
    stream_id = ports.store.session_stream(session_id)
    return None if stream_id is None else upload_failed(ports, stream_id, reason)


def finish_stream(ports: Ports, stream_id: str) -> Stream:
    """The window passed without a reconnect (or the owner stopped): the stream ends."""
    stream = ports.store.stream(stream_id).end(ports.clock.now())
    ports.store.put_stream(stream)
    channel = ports.store.channel(stream.channel_id)
    if channel.live_stream_id == stream.stream_id:
        ports.store.put_channel(replace(channel, live_stream_id=None))
    return stream


def end_orphaned_streams(ports: Ports) -> list[str]:
    """After a media-server restart no encoder is connected: end every live or interrupted
    stream (their recordings are then finalised from what was written)."""
    ended = []
    for status in (StreamStatus.LIVE, StreamStatus.INTERRUPTED):
        for stream in ports.store.streams_with(status):
            finish_stream(ports, stream.stream_id)
            ended.append(stream.stream_id)
    return ended


def stop_stream(ports: Ports, caller: Caller, stream_id: str) -> Stream:
    """The owner stops a stream: the ingest cuts the encoder (IVS StopStream; locally the
    media service, seeing the stream ended), then the stream ends."""
    stream = ports.store.stream(stream_id)
    _own_channel(ports, caller, stream.channel_id)
    if stream.status is StreamStatus.SCHEDULED:
        stream = stream.end(ports.clock.now())
        ports.store.put_stream(stream)
        return stream
    if stream.status is StreamStatus.LIVE and stream.device_id:
        try:
            device = ports.store.device(stream.device_id)
        except MissingError:
            pass
        else:
            _ingest(ports).stop(_ingest_arn(device))
    return finish_stream(ports, stream_id)


def recording_ready(
    ports: Ports, recording_id: str, duration_s: float, thumbnail_key: str | None, *,
    playlist_key: str | None = None,
) -> Recording:
    """Post-stream processing finished: duration and thumbnail known (and the playlist, when
    it is not where the recording was announced: IVS's own prefix), still private."""
    recording = ports.store.find_recording(recording_id)
    if recording is None:
        raise MissingError("recording not found")
    recording = replace(recording, ready=True, duration_s=duration_s, thumbnail_key=thumbnail_key,
                        playlist_key=playlist_key or recording.playlist_key)
    ports.store.put_recording(recording)
    return recording


def set_recording_visibility(
    ports: Ports, caller: Caller, recording_id: str, visibility: Visibility
) -> Recording:
    """Publish or hide a recording of the caller's channel."""
    recording = ports.store.recording(recording_id)
    _own_channel(ports, caller, recording.channel_id)
    recording = recording.publish() if visibility is Visibility.PUBLIC else recording.unpublish()
    ports.store.put_recording(recording)
    return recording


def can_watch_recording(ports: Ports, caller: Caller | None, recording: Recording) -> bool:
    """Public recordings for everyone; private ones for the owner and admins."""
    if recording.visibility is Visibility.PUBLIC:
        return True
    if caller is None:
        return False
    if caller.role is Role.ADMIN:
        return True
    return ports.store.channel(recording.channel_id).owner_id == caller.user_id


UPLOAD_URL_TTL_S = 3600


@dataclass(frozen=True)
class UploadGrant:
    """A new (processing, private) recording and where to PUT its video file."""

    recording: Recording
    upload_url: str
    content_type: str
    expires_at: datetime


def start_upload(
    ports: Ports, caller: Caller, channel_id: str, title: str, content_type: str,
    size_bytes: int, quality: Quality = Quality.PASSTHROUGH,
) -> UploadGrant:
    """The owner announces a video: a private recording (processing) and a signed URL for
    one PUT of the file into the recordings bucket; its object-created event transcodes it."""
    _own_channel(ports, caller, channel_id)
    if ports.uploads is None:
        raise ConflictError("uploads are not configured on this deployment")
    if not content_type.startswith("video/"):
        raise DomainError("content_type: a video type (video/mp4, video/webm, ...)")
    if not 1 <= size_bytes <= MAX_UPLOAD_BYTES:
        raise DomainError(f"size_bytes: 1 to {MAX_UPLOAD_BYTES} bytes")
    now = ports.clock.now()
    recording = Recording(
        recording_id=_id(), channel_id=channel_id, title=check_title(title), created_at=now,
        playlist_key="", source="upload", quality=quality.value,
    )
    recording = replace(recording,
                        playlist_key=f"recordings/{recording.recording_id}/index.m3u8")
    ports.store.put_recording(recording)
    url = ports.uploads.put_url(upload_key(recording.recording_id), content_type, size_bytes,
                                UPLOAD_URL_TTL_S)
    return UploadGrant(recording, url, content_type,
                       now + timedelta(seconds=UPLOAD_URL_TTL_S))


def upload_failed(ports: Ports, recording_id: str, reason: str) -> Recording:
    """Transcoding (or an IVS recording) failed: the owner sees why; the recording never
    becomes ready."""
    recording = ports.store.find_recording(recording_id)
    if recording is None:
        raise MissingError("recording not found")
    recording = replace(recording, error=reason[:300] or "processing failed")
    ports.store.put_recording(recording)
    return recording


# ---- social -----------------------------------------------------------------------------------


def like(ports: Ports, caller: Caller, target: str) -> int:
    """Like a channel or recording (once per user); returns the count."""
    ports.store.like(target, caller.user_id)
    return ports.store.likes(target)


def comment(ports: Ports, caller: Caller, target: str, text: str) -> dict[str, Any]:
    """Comment on a channel or recording."""
    cleaned = text.strip()
    if not 1 <= len(cleaned) <= 1000:
        raise DomainError("text: 1 to 1000 characters")
    item = {"id": _id(), "user_id": caller.user_id, "user_name": caller.name, "text": cleaned,
            "at": ports.clock.now().isoformat()}
    ports.store.add_comment(target, item)
    return item


def follow(ports: Ports, caller: Caller, channel_id: str) -> None:
    ports.store.channel(channel_id)
    ports.store.follow(channel_id, caller.user_id)


def notify_go_live(ports: Ports, channel: Channel, stream: Stream) -> int:
    """In-app notification to every follower, and an email to those who want one."""
    sent = 0
    for user_id in ports.store.followers(channel.channel_id):
        note = {"id": _id(), "kind": "go-live", "channel_id": channel.channel_id,
                "text": f"{channel.name} is live: {stream.title}",
                "at": ports.clock.now().isoformat()}
        ports.store.add_notification(user_id, note)
        try:
            user = ports.store.user(user_id)
        except MissingError:
            continue
        if user.settings.email_notifications:
            link = f"{ports.site_url}/channel.html?c={channel.channel_id}" if ports.site_url else ""
            try:
                ports.mailer.send(Email(sender=ports.sender, to=[user.email],
                                        subject=f"{channel.name} is live",
                                        text=f"{stream.title}\n{link}\n"))
                sent += 1
            except PortError:
                continue  # the in-app notification is there; mail is best effort
    return sent


# ---- chat -------------------------------------------------------------------------------------


def post_chat(ports: Ports, caller: Caller, channel_id: str, text: str) -> ChatMessage:
    """Post in a channel's room after the moderation rules and the review hook."""
    channel = ports.store.channel(channel_id)
    room = ports.store.chat_room(channel)
    now = ports.clock.now()
    cleaned, room = room.check_post(caller.user_id, text, now, ports.review)
    ports.store.put_chat_room(room)
    message = ChatMessage(message_id=_id(), channel_id=channel_id, user_id=caller.user_id,
                          user_name=caller.name, text=cleaned, at=now)
    ports.store.add_chat_message(message)
    return message


def moderate(
    ports: Ports, caller: Caller, channel_id: str, action: str, *, target: str = "",
    seconds: int = 0,
) -> ChatRoom | ChatMessage:
    """``delete`` a message, ``ban``/``unban`` a user, or set ``slow`` mode."""
    channel = ports.store.channel(channel_id)
    room = ports.store.chat_room(channel)
    by = caller.user_id if caller.role is not Role.ADMIN else channel.owner_id
    if action == "delete":
        room.check_delete(by)
        return ports.store.delete_chat_message(channel_id, target)
    actions: dict[str, Callable[[], ChatRoom]] = {
        "ban": lambda: room.ban(by, target),
        "unban": lambda: room.unban(by, target),
        "slow": lambda: room.slow_mode(by, seconds),
    }
    if action not in actions:
        raise DomainError("action: delete, ban, unban or slow")
    room = actions[action]()
    ports.store.put_chat_room(room)
    return room


# ---- tracking and admin -----------------------------------------------------------------------


def track(
    ports: Ports, action: str, user_id: str | None, subject: str = "", *, channel_id: str = "",
    stream_id: str = "", recording_id: str = "",
) -> None:
    """Record a user action in the warehouse."""
    ports.warehouse.record(TrackedEvent(
        event_id=_id(), at=ports.clock.now(), action=action[:60], user_id=user_id or "-",
        channel_id=channel_id, stream_id=stream_id, recording_id=recording_id,
        detail=subject[:120],
    ))


def _day(text: str, name: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise DomainError(f"{name}: YYYY-MM-DD") from exc


def tracking_report(
    ports: Ports, caller: Caller, day: str | None = None, *, start: str | None = None,
    end: str | None = None, top: int = 10,
) -> dict[str, Any]:
    """Admin: the warehouse report over ``start``..``end`` (or one ``day``; default the last
    7 days): events by action, daily active users, views per channel, top streams."""
    require(caller.role, Role.ADMIN)
    today = ports.clock.now().date()
    if day is not None:
        first = last = _day(day, "day")
    else:
        last = _day(end, "to") if end else today
        first = _day(start, "from") if start else last - timedelta(days=6)
    if first > last or (last - first).days >= MAX_DAYS:
        raise DomainError(f"from..to: from <= to, at most {MAX_DAYS} days")
    wh = ports.warehouse
    by_action = wh.actions(first, last)
    channels = {c.channel_id: c.name for c in ports.store.channels()}
    streams = []
    for stream_id, views in wh.top_streams(first, last, top):
        try:
            found = ports.store.stream(stream_id)
            title, channel_id = found.title, found.channel_id
        except MissingError:
            title, channel_id = "", ""
        streams.append({"stream_id": stream_id, "title": title, "channel_id": channel_id,
                        "views": views})
    report: dict[str, Any] = {
        "from": first.isoformat(), "to": last.isoformat(),
        "events": sum(by_action.values()), "by_action": by_action,
        "users": wh.users(first, last),
        "daily_active_users": wh.daily_active_users(first, last),
        "views_per_channel": [
            {"channel_id": cid, "name": channels.get(cid, ""), "views": n}
            for cid, n in wh.views_per_channel(first, last).items()
        ],
        "top_streams": streams,
    }
    if day is not None:
        report["day"] = day
    return report


def dashboard(ports: Ports, caller: Caller) -> dict[str, Any]:
    """Admin: what is live now, viewers, and totals."""
    require(caller.role, Role.ADMIN)
    live = ports.store.streams_with(StreamStatus.LIVE)
    return {
        "live": [{"stream_id": s.stream_id, "channel_id": s.channel_id, "title": s.title,
                  "viewers": s.viewers, "started_at": s.started_at} for s in live],
        "viewers": sum(s.viewers for s in live),
        "users": len(ports.store.users()), "devices": len(ports.store.devices()),
        "orders": len(ports.store.orders()),
    }


def now_iso(clock: Clock) -> str:
    return clock.now().isoformat()


__all__ = ["AuthError", "ConflictError", "DomainError", "MissingError", "NotAllowedError"]
