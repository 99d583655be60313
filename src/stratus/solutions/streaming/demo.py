"""Demo data for `stratus up --demo`: an admin, a device in the catalogue, a demo channel
with a schedule, and (when ffmpeg is installed) its simulated device live."""

from __future__ import annotations

import shutil
from datetime import timedelta
from typing import Any

from stratus.solutions.streaming import service
from stratus.solutions.streaming.domain.accounts import Role
from stratus.solutions.streaming.domain.orders import Product
from stratus.solutions.streaming.media.device import start_device
from stratus.solutions.streaming.service import Caller

ADMIN_EMAIL = "admin@streaming.example.com"
OWNER_EMAIL = "demo@streaming.example.com"
DEMO_PASSWORD = "demo-password-1"  # noqa: S105 - printed demo credentials


def load(runtime: Any) -> list[str]:
    """Load the demo; returns lines for the start-up banner."""
    site = runtime.services["/streaming/site"]
    ports = site.ports
    admin = service.ensure_admin(ports, ADMIN_EMAIL, DEMO_PASSWORD)
    ports.store.put_product(Product("stratus-box", "Stratus Box (4 cameras)", 29900))
    ports.store.put_product(Product("stratus-mini", "Stratus Mini (1 camera)", 9900))
    owner = ports.store.user_by_email(OWNER_EMAIL)
    if owner is None:
        owner = service.register(ports, OWNER_EMAIL, DEMO_PASSWORD, "Demo Venue")
    service.set_role(ports, Caller(admin.user_id, Role.ADMIN, "admin"), owner.user_id, Role.OWNER)
    who = Caller(owner.user_id, Role.OWNER, "Demo Venue")
    channels = ports.store.channels_of(owner.user_id)
    channel = channels[0] if channels else service.create_channel(
        ports, who, "Demo channel", "A simulated device with a test picture and a tone."
    )
    service.customise_channel(ports, who, channel.channel_id, theme="ocean")
    if not any(s.status.value == "scheduled" for s in ports.store.streams_of(channel.channel_id)):
        service.schedule_stream(ports, who, channel.channel_id, "Friday night session",
                                ports.clock.now() + timedelta(days=2))
    code, _ = service.new_pairing(ports, who)
    paired = service.pair_device(ports, code, "demo device")
    base = f"{runtime.url}/streaming/site"
    lines = [
        f"site: {base}/  channel: {base}/channel.html?c={channel.channel_id}",
        f"admin: {ADMIN_EMAIL} / owner: {OWNER_EMAIL} (password {DEMO_PASSWORD})",
        f"ingest: {paired.ingest_url}/{paired.stream_key}",
    ]
    if shutil.which("ffmpeg"):
        site.demo_processes.append(start_device(paired.ingest_url, paired.stream_key))
        lines.append("demo device is live (ffmpeg test source)")
    else:
        lines.append("ffmpeg not installed: the demo channel stays offline")
    return lines
