"""Normalisers: one provider's export row → :class:`~..focus.FocusRow`.

A normaliser is bound to a file's header once (:func:`bind`), then maps every row's cells.
:func:`detect` names the provider from the header alone, so ``--provider`` is optional.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from stratus.solutions.costs.domain.focus import PROVIDERS, FocusRow, RowError


class Normaliser(Protocol):
    """Maps the cells of one data row (header order) to a FocusRow, or raises RowError."""

    def __call__(self, cells: Sequence[str]) -> FocusRow: ...


class UnknownFormatError(ValueError):
    """The header matches no supported export format."""


def clean_header(header: Sequence[str]) -> list[str]:
    """Header cells without a UTF-8 BOM and surrounding blanks."""
    return [cell.lstrip("\ufeff").strip() for cell in header]


def detect(header: Sequence[str]) -> str:
    """The provider whose export has this header (one of ``PROVIDERS``)."""
    names = set(clean_header(header))
    lowered = {name.lower() for name in names}
    if "ContractCommitmentId" in names and "BilledCost" not in names:
        raise UnknownFormatError(
            "a FOCUS 1.3 contract commitment dataset: it holds commitments, not cost rows"
        )
    if {"BilledCost", "ChargePeriodStart"} <= names:
        if "x_ResourceType" in names or any(n.startswith("oci_") for n in names):
            return "oci"
        if any(n.startswith("x_") for n in names) and "x_Operation" in names:
            return "aws-focus"
        return "focus"
    if "lineItem/UnblendedCost" in names or "line_item_unblended_cost" in lowered:
        return "aws-cur"
    if "meterid" in lowered and ("cost" in lowered or "costinbillingcurrency" in lowered):
        return "azure"
    if "cost" in lowered and ("usage_start_time" in lowered or "service.description" in lowered):
        return "gcp"
    raise UnknownFormatError(
        "the header matches no supported export (legacy AWS CUR, CUR 2.0, FOCUS, Azure EA/MCA,"
        " GCP billing export, OCI FOCUS)"
    )


def bind(provider: str, header: Sequence[str]) -> Normaliser:
    """The normaliser of ``provider`` for a file with this header; UnknownFormatError when the
    header lacks a column the provider's mapping requires."""
    from stratus.solutions.costs.domain.normalise import aws_cur, azure, focus, gcp

    cells = clean_header(header)
    if provider not in PROVIDERS:
        raise UnknownFormatError(
            f"unknown provider {provider!r}; use one of {', '.join(PROVIDERS)}"
        )
    try:
        if provider in ("focus", "aws-focus", "oci"):
            return focus.FocusNormaliser(cells, provider)
        if provider == "aws-cur":
            return aws_cur.CurNormaliser(cells)
        if provider == "azure":
            return azure.AzureNormaliser(cells)
        return gcp.GcpNormaliser(cells)
    except KeyError as missing:
        raise UnknownFormatError(
            f"the header has no column {missing.args[0]!r}, which a {provider} export has"
        ) from None


__all__ = ["Normaliser", "RowError", "UnknownFormatError", "bind", "clean_header", "detect"]
