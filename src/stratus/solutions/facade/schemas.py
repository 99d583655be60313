"""pydantic v2 models of the facade API's bodies (the OpenAPI document is made from them)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NoteIn(_Model):
    """A note to add to a customer."""

    text: str = Field(min_length=1, max_length=2000, description="The note, 1-2000 characters")


class Note(_Model):
    """A stored note."""

    id: int
    text: str
    author: str | None = None
    createdAt: str  # noqa: N815 - the API's field names are camelCase


class Profile(_Model):
    """The customer as the legacy API knows them."""

    id: str
    name: str
    email: str
    phone: str
    countryCode: str  # noqa: N815


class Order(_Model):
    """One legacy order."""

    id: str
    placedAt: str  # noqa: N815
    status: str
    totalCents: int  # noqa: N815


class OrderSummary(_Model):
    """Totals the legacy API does not give."""

    count: int
    totalCents: int  # noqa: N815
    lastOrderAt: str | None  # noqa: N815


class Loyalty(_Model):
    """Loyalty data from the facade database."""

    tier: str
    points: int
    updatedAt: str  # noqa: N815


class SourceError(_Model):
    """A source that failed, in a partial answer."""

    source: str
    error: str
    message: str


class Overview(_Model):
    """Everything the new frontend needs about a customer, in one answer."""

    customerId: str  # noqa: N815
    profile: Profile | None
    orders: list[Order] | None
    orderSummary: OrderSummary | None  # noqa: N815
    loyalty: Loyalty | None
    partial: bool = Field(description="true when a source failed; see errors")
    errors: list[SourceError]


class Product(_Model):
    """A product of the catalogue."""

    sku: str
    description: str
    priceCents: int  # noqa: N815


class Country(_Model):
    """Reference data."""

    code: str
    name: str
    currency: str


class Problem(_Model):
    """An error answer: a message and, for bad input, the reasons."""

    message: str
    errors: list[str] = Field(default_factory=list)
