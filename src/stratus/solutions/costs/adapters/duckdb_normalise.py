"""Vectorised normalisation of a chunk of raw CSV rows in DuckDB (the fast path of the ETL).

The Python normalisers (``domain/normalise``) are the reference: they give every rejected
row its reason. This module compiles the same mapping, for one provider and one header, into
one DuckDB ``SELECT`` over ``read_csv`` of the chunk's bytes, plus an ``ok`` flag per row that
is true only when the row is one the Python normaliser would accept *and* map to exactly the
same values. A chunk is stored by this path only when DuckDB parses every row (strict CSV, the
header's width, UTF-8) and every row is ``ok``; any other chunk returns to the Python path,
so rejections, their reasons and the row numbers stay exactly what they were.

What "exactly the same values" rests on (each checked in ``tests/unit/costs``):

* cells are stripped of what ``str.strip()`` strips (every Unicode whitespace character, via
  ``trim(x, chars)``) and the literals of ``focus.NULLS`` read as empty, as ``focus.text`` does;
* money: ``CAST(... AS DECIMAL(38,12))`` rounds half away from zero, which is ``Decimal``'s
  ``quantize(ROUND_HALF_UP)``; only plain decimal and exponent spellings below 1e16 take this
  path (currency signs, thousands separators and anything else go to Python);
* timestamps: only ``YYYY-MM-DDTHH:MM:SS[.ffffff]Z`` (what CUR writes), read as UTC;
* tags: the JSON text is built column by column in sorted key order, as ``focus.tags_json``
  writes it; a value that JSON would escape, or a CUR 2.0 ``resource_tags`` map, goes to Python.

Supported: ``aws-cur`` (legacy CUR and CUR 2.0 without the ``resource_tags`` map) and the
FOCUS formats (``focus``, ``aws-focus``, ``oci``: timestamps also as ``YYYY-MM-DD[ HH:MM:SS]``,
naive meaning UTC; tags through a lookup, parsed in Python once per distinct cell of a chunk).
Azure and GCP exports always use the Python path.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from stratus.solutions.costs.domain.focus import NULLS, parse_tags
from stratus.solutions.costs.domain.normalise import clean_header
from stratus.solutions.costs.domain.normalise._columns import Columns
from stratus.solutions.costs.domain.normalise.aws_cur import CHARGE_CATEGORY, cur_key

#: Every character ``str.strip()`` removes (the last one is U+3000).
_WHITESPACE = "".join(chr(c) for c in range(0x3001) if chr(c).isspace())
#: The same set as an RE2 class (checked against str.isspace in the tests).
_SPACE_CLASS = r"[\x{09}-\x{0d}\x{1c}-\x{20}\x{85}\pZ]"
_MONEY_RE = r"|[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]{1,3})?"
_TS_RE = r"[1-9][0-9]{3}-[0-9]{2}-[0-9]{2}T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,6})?Z"
_JSON_ESCAPED_RE = r'["\\\x00-\x1f]'
#: FOCUS exports: ISO date, or date and time with ``T`` or a space, ``Z`` or naive (UTC).
_FOCUS_TS_RE = (
    r"[1-9][0-9]{3}-[0-9]{2}-[0-9]{2}"
    r"([T ]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,6})?Z?)?"
)


def _decimal(cell: str) -> str:
    """``TRY_CAST(cell AS DECIMAL(38,12))``, about six times cheaper: a plain spelling that
    fits DECIMAL(18,12) (below a million) is parsed into 64 bits and widened, the rest (and
    every exponent spelling, which the 64-bit parser rounds differently) takes the 128-bit
    cast. The tests compare both over random spellings."""
    return (
        f"coalesce(CASE WHEN contains({cell}, 'e') OR contains({cell}, 'E') THEN NULL"
        f" ELSE TRY_CAST({cell} AS DECIMAL(18,12)) END::DECIMAL(38,12),"
        f" TRY_CAST({cell} AS DECIMAL(38,12)))"
    )


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


@dataclass(frozen=True)
class ChunkSql:
    """The compiled mapping: ``select`` reads the relation ``raw`` (columns ``c0``…, and
    ``k<i>`` for each lookup) and yields the fact columns after ``provider`` (FACT_COLUMNS
    order) plus ``ok``.

    ``lookups`` maps a column index to a Python function of the raw cell: the store applies it
    to each distinct value of the column in the chunk and joins the results in as ``k<i>``
    (how tags, whose canonical JSON SQL cannot write, take the SQL path). The function raises
    (RowError) for a value the Python path would reject: the chunk then goes to Python."""

    width: int
    select: str
    lookups: tuple[tuple[int, Callable[[str | None], str]], ...] = ()


class _Cells:
    """Stripped, NULL-literal-free text of the header's columns, by index."""

    def __init__(self) -> None:
        self.used: set[int] = set()
        self.decimals: set[int] = set()
        self.stamps: set[int] = set()
        self.carried: list[str] = []  # lookup columns of ``raw`` passed through the stages

    def money(self, index: int | None) -> str:
        """The cell as DECIMAL(38,12) (NULL when empty or not a number), computed once."""
        if index is None:
            return "CAST(NULL AS DECIMAL(38,12))"
        self.text(index)
        self.decimals.add(index)
        return f"m{index}"

    def stamp(self, index: int | None) -> str:
        """The cell as a naive UTC TIMESTAMP (NULL when empty or not one), computed once."""
        if index is None:
            return "CAST(NULL AS TIMESTAMP)"
        self.text(index)
        self.stamps.add(index)
        return f"s{index}"

    def text(self, index: int | None) -> str:
        if index is None:
            return "''"
        self.used.add(index)
        return f"n{index}"

    def lookup(self, index: int) -> str:
        """The lookup column ``k<index>`` the store joins into ``raw`` (see ChunkSql)."""
        name = f"k{index}"
        if name not in self.carried:
            self.carried.append(name)
        return name

    def stage(self) -> str:
        """``t``: the used cells stripped; ``n``: NULL literals emptied.

        Each regular expression costs about a millisecond per query to set up, so one test
        per row (over all used cells joined by NUL) finds the rare row whose cells need
        ``trim(x, chars)`` (itself slow), instead of one test per cell."""
        carry = "".join(f", {name}" for name in self.carried)
        if not self.used:
            return f"(SELECT 1 AS n{carry} FROM raw)"
        used = sorted(self.used)
        ws = _literal(_WHITESPACE)
        nulls = ", ".join(_literal(v) for v in sorted(NULLS) if v)
        edge = _literal(f"(^|\\x00){_SPACE_CLASS}|{_SPACE_CLASS}(\\x00|$)")
        joined = "concat_ws(chr(0), " + ", ".join(f"coalesce(c{i}, '')" for i in used) + ")"
        stripped = ", ".join(
            f"CASE WHEN spaced THEN trim(coalesce(c{i}, ''), {ws})"
            f" ELSE coalesce(c{i}, '') END AS t{i}"
            for i in used
        )
        # A bare IN list costs ~2 us per cell; the length test first makes it nearly free.
        lengths = sorted({len(v) for v in NULLS if v})
        short = f"strlen(t{{i}}) BETWEEN {lengths[0]} AND {lengths[-1]}"
        emptied = ", ".join(
            f"CASE WHEN {short.format(i=i)} AND t{i} IN ({nulls}) THEN '' ELSE t{i} END AS n{i}"
            for i in used
        )
        # Conversions once per cell, in CASE (evaluated only for non-empty cells; an OR
        # would evaluate both sides).
        typed = "".join(
            f", CASE WHEN n{i} = '' THEN NULL ELSE {_decimal(f'n{i}')} END AS m{i}"
            for i in sorted(self.decimals)
        ) + "".join(
            f", CASE WHEN n{i} = '' THEN NULL"
            f" ELSE TRY_CAST(replace(n{i}, 'Z', '') AS TIMESTAMP) END AS s{i}"
            for i in sorted(self.stamps)
        )
        return (
            f"(SELECT *{typed} FROM (SELECT {emptied}{carry} FROM (SELECT {stripped}{carry} FROM"
            f" (SELECT *, regexp_matches({joined}, {edge}) AS spaced FROM raw))))"
        )


def _spelled(cells: list[str], patterns: list[str]) -> str:
    """One regular expression that every cell matches its pattern: the cells joined by ``;``
    against the patterns joined by ``;`` (a cell holding ``;`` makes it fail: Python path)."""
    joined = "concat_ws(';', " + ", ".join(cells) + ")"
    return f"regexp_full_match({joined}, {_literal(';'.join(f'({p})' for p in patterns))})"


def compile_aws_cur(header: Sequence[str]) -> ChunkSql | None:
    """The aws-cur mapping of ``CurNormaliser`` for this header, or None when the header has
    something the SQL does not reproduce (then every chunk uses the Python path)."""
    columns = clean_header(header)
    c = Columns(columns, key=cur_key)

    def pick(*names: str) -> int | None:
        for name in names:
            index = c.index.get(cur_key(name))
            if index is not None:
                return index
        return None

    cells = _Cells()
    unblended_i = pick("lineItem/UnblendedCost")
    billing_i = pick("bill/BillingPeriodStartDate")
    usage_i = pick("lineItem/UsageStartDate")
    currency_i = pick("lineItem/CurrencyCode")
    if None in (unblended_i, billing_i, usage_i, currency_i):
        return None
    unblended = cells.text(unblended_i)
    net = cells.text(pick("lineItem/NetUnblendedCost"))
    kind = cells.text(pick("lineItem/LineItemType"))
    billing = cells.text(billing_i)
    usage = cells.text(usage_i)
    usage_end = cells.text(pick("lineItem/UsageEndDate"))
    currency = cells.text(currency_i)
    product = cells.text(pick("lineItem/ProductCode"))
    product_name = cells.text(pick("product/ProductName"))
    tag_map = cells.text(pick("resource_tags"))
    ri_arn = cells.text(pick("reservation/ReservationARN"))

    ok: list[str] = [f"{unblended} <> ''", f"{currency} <> ''", f"{tag_map} = ''"]

    spelled: list[str] = []

    def money(index: int | None) -> str:
        value = cells.money(index)
        if index is not None:
            # Spelled as a plain number (below) and small enough for Decimal's 28 digits.
            ok.append(f"CASE WHEN n{index} = '' THEN true ELSE abs({value}) < 1e16 END")
            spelled.append(cells.text(index))
        return value

    unblended_v = money(unblended_i)
    net_v = money(pick("lineItem/NetUnblendedCost"))
    amount_v = money(pick("lineItem/UsageAmount"))
    od_v = money(pick("pricing/publicOnDemandCost"))
    sp_eff = money(pick("savingsPlan/SavingsPlanEffectiveCost"))
    sp_total = money(pick("savingsPlan/TotalCommitmentToDate"))
    sp_used = money(pick("savingsPlan/UsedCommitment"))
    ri_eff = money(pick("reservation/EffectiveCost"))
    ri_upfront = money(pick("reservation/UnusedAmortizedUpfrontFeeForBillingPeriod"))
    ri_recurring = money(pick("reservation/UnusedRecurringFee"))
    del net

    billing_v = cells.stamp(billing_i)
    usage_v = cells.stamp(usage_i)
    end_v = cells.stamp(pick("lineItem/UsageEndDate"))
    ok += [f"{billing_v} IS NOT NULL", f"{usage_v} IS NOT NULL"]
    ok.append(f"CASE WHEN {usage_end} = '' THEN true ELSE {end_v} IS NOT NULL END")
    ok.append(
        _spelled(
            [*spelled, billing, usage, usage_end],
            [_MONEY_RE] * len(spelled) + [_TS_RE, _TS_RE, "|" + _TS_RE],
        )
    )

    # Tags: resourceTags/* columns, keys sorted as json.dumps(sort_keys=True) sorts them.
    tags: dict[str, int] = {}
    for index, name in enumerate(columns):
        if name.startswith("resourceTags/"):
            key = name.removeprefix("resourceTags/")
            if key in tags:
                return None  # a duplicate key: Python keeps the last non-empty value
            tags[key] = index
    parts = []
    for key in sorted(tags):
        if not key:
            continue
        value = cells.text(tags[key])
        parts.append(
            f"CASE WHEN {value} <> '' THEN {_literal(json.dumps(key, ensure_ascii=False) + ':')}"
            f" || '\"' || {value} || '\"' END"
        )
    if parts:
        values = " || ".join(cells.text(tags[k]) for k in sorted(tags) if k)
        ok.append(f"NOT regexp_matches({values}, {_literal(_JSON_ESCAPED_RE)})")
        joined = f"concat_ws(',', {', '.join(parts)})"
        tags_sql = f"CASE WHEN {joined} = '' THEN '{{}}' ELSE '{{' || {joined} || '}}' END"
    else:
        tags_sql = "'{}'"

    category = " ".join(
        f"WHEN {_literal(k)} THEN {_literal(v)}" for k, v in CHARGE_CATEGORY.items()
    )
    zero = "CAST(0 AS DECIMAL(38,12))"
    effective = (
        f"CASE WHEN {kind} = 'SavingsPlanCoveredUsage' THEN coalesce({sp_eff}, {zero})"
        f" WHEN {kind} = 'SavingsPlanRecurringFee'"
        f" THEN coalesce({sp_total}, {zero}) - coalesce({sp_used}, {zero})"
        f" WHEN {kind} IN ('SavingsPlanNegation', 'SavingsPlanUpfrontFee') THEN {zero}"
        f" WHEN {kind} = 'DiscountedUsage' THEN coalesce({ri_eff}, {zero})"
        f" WHEN {kind} = 'RIFee'"
        f" THEN coalesce({ri_upfront}, {zero}) + coalesce({ri_recurring}, {zero})"
        f" WHEN {kind} = 'Fee' AND {ri_arn} <> '' THEN {zero}"
        f" ELSE {unblended_v} END"
    )
    region = cells.text(pick("product/regionCode", "product/region"))
    select = ", ".join(
        [
            f"strftime({billing_v}, '%Y-%m') AS billing_period",
            f"CAST({usage_v} AS DATE) AS charge_date",
            f"timezone('UTC', {usage_v}) AS charge_period_start",
            f"CASE WHEN {usage_end} = '' THEN NULL ELSE timezone('UTC', {end_v}) END"
            " AS charge_period_end",
            f"{cells.text(pick('bill/PayerAccountId'))} AS billing_account_id",
            f"{cells.text(pick('lineItem/UsageAccountId'))} AS sub_account_id",
            "'AWS' AS provider_name",
            f"CASE WHEN {product_name} <> '' THEN {product_name} ELSE {product} END"
            " AS service_name",
            f"{cells.text(pick('product/productFamily'))} AS service_category",
            f"{region} AS region_id",
            f"{cells.text(pick('lineItem/ResourceId'))} AS resource_id",
            "'' AS resource_name",
            "'' AS resource_type",
            f"{cells.text(pick('product/sku'))} AS sku_id",
            f"CASE {kind} {category} ELSE {kind} END AS charge_category",
            f"{amount_v} AS consumed_quantity",
            f"{cells.text(pick('pricing/unit'))} AS consumed_unit",
            f"coalesce({net_v}, {unblended_v}) AS billed_cost",
            f"{effective} AS effective_cost",
            f"{od_v} AS list_cost",
            f"{currency} AS billing_currency",
            f"{tags_sql} AS tags",
            "coalesce(" + " AND ".join(f"({o})" for o in ok) + ", false) AS ok",
        ]
    )
    return ChunkSql(len(columns), f"SELECT {select} FROM {cells.stage()}")


_FOCUS_DEFAULT_PROVIDER = {"aws-focus": "AWS", "oci": "Oracle Cloud Infrastructure"}


def _canonical_tags(raw: str | None) -> str:
    return parse_tags(raw)


def compile_focus(header: Sequence[str], provider: str = "focus") -> ChunkSql | None:
    """``FocusNormaliser``'s mapping for this header (FOCUS files, AWS FOCUS exports, OCI),
    or None when a required column is missing. Tags are parsed in Python once per distinct
    cell of a chunk (a lookup): FOCUS writes them as JSON in any key order and spacing."""
    columns = clean_header(header)
    index = {name: i for i, name in enumerate(columns)}

    def pick(*names: str) -> int | None:
        for name in names:
            if name in index:
                return index[name]
        return None

    billed_i = pick("BilledCost")
    billing_i = pick("BillingPeriodStart")
    charge_i = pick("ChargePeriodStart")
    if None in (billed_i, billing_i, charge_i):
        return None
    cells = _Cells()
    ok: list[str] = []
    spelled: list[str] = []
    patterns: list[str] = []

    def money(i: int | None) -> str:
        value = cells.money(i)
        if i is not None:
            ok.append(f"CASE WHEN n{i} = '' THEN true ELSE abs({value}) < 1e16 END")
            spelled.append(cells.text(i))
            patterns.append(_MONEY_RE)
        return value

    def stamp(i: int | None, required: bool) -> str:
        value = cells.stamp(i)
        if i is not None:
            cell = cells.text(i)
            ok.append(
                f"{value} IS NOT NULL" if required
                else f"CASE WHEN {cell} = '' THEN true ELSE {value} IS NOT NULL END"
            )
            spelled.append(cell)
            patterns.append(_FOCUS_TS_RE if required else "|" + _FOCUS_TS_RE)
        return value

    billed = money(billed_i)
    ok.append(f"{cells.text(billed_i)} <> ''")
    effective = money(pick("EffectiveCost"))
    list_cost = money(pick("ListCost"))
    quantity = money(pick("ConsumedQuantity"))
    billing = stamp(billing_i, required=True)
    charge = stamp(charge_i, required=True)
    end_i = pick("ChargePeriodEnd")
    end = stamp(end_i, required=False)
    currency_i = pick("BillingCurrency")
    currency = cells.text(currency_i)
    if currency_i is not None:
        ok.append(f"{currency} <> ''")  # FOCUS requires it when the column is there
    ok.append(_spelled(spelled, patterns))
    tags_i = pick("Tags")
    lookups: tuple[tuple[int, Callable[[str | None], str]], ...] = ()
    tags = "'{}'"
    if tags_i is not None:
        tags = cells.lookup(tags_i)
        ok.append(f"{tags} IS NOT NULL")
        lookups = ((tags_i, _canonical_tags),)
    provider_name = cells.text(pick("ProviderName", "ServiceProviderName", "Provider"))
    default_provider = _literal(_FOCUS_DEFAULT_PROVIDER.get(provider, ""))
    end_cell = cells.text(end_i)
    select = ", ".join(
        [
            f"strftime({billing}, '%Y-%m') AS billing_period",
            f"CAST({charge} AS DATE) AS charge_date",
            f"timezone('UTC', {charge}) AS charge_period_start",
            f"CASE WHEN {end_cell} = '' THEN NULL ELSE timezone('UTC', {end}) END"
            " AS charge_period_end",
            f"{cells.text(pick('BillingAccountId'))} AS billing_account_id",
            f"{cells.text(pick('SubAccountId'))} AS sub_account_id",
            f"CASE WHEN {provider_name} <> '' THEN {provider_name} ELSE {default_provider} END"
            " AS provider_name",
            f"{cells.text(pick('ServiceName'))} AS service_name",
            f"{cells.text(pick('ServiceCategory'))} AS service_category",
            f"{cells.text(pick('RegionId', 'Region'))} AS region_id",
            f"{cells.text(pick('ResourceId'))} AS resource_id",
            f"{cells.text(pick('ResourceName'))} AS resource_name",
            f"{cells.text(pick('ResourceType'))} AS resource_type",
            f"{cells.text(pick('SkuId'))} AS sku_id",
            f"{cells.text(pick('ChargeCategory'))} AS charge_category",
            f"{quantity} AS consumed_quantity",
            f"{cells.text(pick('ConsumedUnit'))} AS consumed_unit",
            f"{billed} AS billed_cost",
            f"coalesce({effective}, {billed}) AS effective_cost",
            f"{list_cost} AS list_cost",
            f"{currency} AS billing_currency",
            f"{tags} AS tags",
            "coalesce(" + " AND ".join(f"({o})" for o in ok) + ", false) AS ok",
        ]
    )
    return ChunkSql(len(columns), f"SELECT {select} FROM {cells.stage()}", lookups)


_compiled: dict[tuple[str, tuple[str, ...]], ChunkSql | None] = {}


def compiled(provider: str, header: Sequence[str]) -> ChunkSql | None:
    """The mapping of ``provider`` for this header (cached), or None: use the Python path."""
    key = (provider, tuple(header))
    if key not in _compiled:
        if provider == "aws-cur":
            _compiled[key] = compile_aws_cur(header)
        elif provider in ("focus", "aws-focus", "oci"):
            _compiled[key] = compile_focus(header, provider)
        else:
            _compiled[key] = None
    return _compiled[key]


def read_csv_sql(width: int) -> str:
    """``read_csv`` of one ``?`` path: strict RFC 4180, every cell text, no header."""
    names = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(width)) + "}"
    return (
        "read_csv(?, header = false, auto_detect = false, delim = ',', quote = '\"',"
        f" escape = '\"', strict_mode = true, null_padding = false, columns = {names})"
    )
