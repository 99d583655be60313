"""Request bodies of the REST API (pydantic v2): the edge validates, the domain decides."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=2000)


class Register(_Body):
    email: str = Field(max_length=254)
    password: str = Field(max_length=200)
    display_name: str = Field(default="", max_length=60)


class Login(_Body):
    email: str = Field(max_length=254)
    password: str = Field(max_length=200)


class UpdateSettings(_Body):
    display_name: str | None = None
    email_notifications: bool | None = None


class ShippingIn(_Body):
    name: str = Field(min_length=1, max_length=100)
    address: str = Field(min_length=1, max_length=200)
    city: str = Field(min_length=1, max_length=100)
    postcode: str = Field(min_length=1, max_length=20)
    country: str = Field(min_length=2, max_length=2)


class PlaceOrder(_Body):
    product_id: str = Field(min_length=1, max_length=60)
    quantity: int = Field(default=1)
    shipping: ShippingIn
    payment_token: str = Field(min_length=1, max_length=100)


class PayOrder(_Body):
    payment_token: str = Field(min_length=1, max_length=100)


class MoveOrder(_Body):
    status: Literal["shipped", "delivered", "cancelled"]


class PairDevice(_Body):
    code: str = Field(min_length=1, max_length=20)
    name: str = Field(default="device", max_length=60)


class ConfigureDevice(_Body):
    name: str | None = Field(default=None, max_length=60)
    channel_id: str | None = None
    quality: Literal["passthrough", "ladder"] | None = None


class CreateChannel(_Body):
    name: str = Field(max_length=60)
    description: str = Field(default="", max_length=500)


class CustomiseChannel(_Body):
    theme: str | None = None
    description: str | None = Field(default=None, max_length=500)
    cover_base64: str | None = Field(default=None, max_length=3_000_000)
    cover_type: str = "image/png"


class ScheduleStream(_Body):
    title: str = Field(max_length=120)
    scheduled_at: datetime | None = None


class StartUpload(_Body):
    title: str = Field(min_length=1, max_length=120)
    content_type: str = Field(pattern=r"^video/[A-Za-z0-9.+\-]+$", max_length=100)
    size_bytes: int = Field(ge=1)
    quality: Literal["passthrough", "ladder"] = "passthrough"


class SetVisibility(_Body):
    visibility: Literal["private", "public"]


class CommentIn(_Body):
    text: str = Field(max_length=1000)


class ChatIn(_Body):
    text: str = Field(max_length=500)


class Moderate(_Body):
    action: Literal["delete", "ban", "unban", "slow"]
    target: str = ""
    seconds: int = 0


class SetRole(_Body):
    role: Literal["viewer", "owner", "admin"]


class PutProduct(_Body):
    name: str = Field(max_length=100)
    price_cents: int
    active: bool = True
