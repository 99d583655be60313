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

Supported: ``aws-cur`` (legacy CUR and CUR 2.0 without the ``resource_tags`` map), the
FOCUS formats (``focus``, ``aws-focus``, ``oci``: timestamps also as ``YYYY-MM-DD[ HH:MM:SS]``,
naive meaning UTC; tags through a lookup, parsed in Python once per distinct cell of a chunk)
and ``azure`` (EA/MCA: dates, US or ISO, and tags through lookups; the list cost rounded
HALF_EVEN as ``Decimal.quantize`` does; ASCII regions only) and ``gcp`` (BigQuery billing
exports: timestamps, the credits sum and the labels through lookups computed by
``GcpNormaliser`` itself; the effective cost floored at 0 below 1e16).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import localcontext

from stratus.solutions.costs.domain.focus import (
    NULLS,
    RowError,
    parse_tags,
    period_of,
    text,
    timestamp,
)
from stratus.solutions.costs.domain.normalise import clean_header
from stratus.solutions.costs.domain.normalise.aws_cur import CHARGE_CATEGORY, cur_key
from stratus.solutions.costs.domain.normalise.azure import (
    CHARGE_CATEGORY as AZURE_CHARGE_CATEGORY,
)
from stratus.solutions.costs.domain.normalise.gcp import (
    CHARGE_CATEGORY as GCP_CHARGE_CATEGORY,
)
from stratus.solutions.costs.domain.normalise.gcp import GcpNormaliser

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


Lookup = Callable[[str | None], str]


class _Mapping:
    """What a compiler builds: the header's columns by name (``key`` spells a name as the
    Python normaliser's ``Columns`` does; the last of equal names wins there too), the cells
    read (``cells``), the ``ok`` tests, the cells whose spelling one regular expression checks,
    and the lookups."""

    def __init__(self, header: Sequence[str], key: Callable[[str], str] = str) -> None:
        self.columns = clean_header(header)
        self._key = key
        self._index = {key(name): i for i, name in enumerate(self.columns)}
        self.cells = _Cells()
        self.ok: list[str] = []
        self._spelled: list[str] = []
        self._patterns: list[str] = []
        self._lookups: list[tuple[int, Lookup]] = []

    def pick(self, *names: str) -> int | None:
        """The index of the first of ``names`` the header has."""
        for name in names:
            found = self._index.get(self._key(name))
            if found is not None:
                return found
        return None

    def spell(self, cell: str, pattern: str) -> None:
        """``cell`` must fully match ``pattern`` for the row to be ok."""
        self._spelled.append(cell)
        self._patterns.append(pattern)

    def money(self, index: int | None) -> str:
        """The cell as money: spelled as a plain number and small enough for Decimal's 28
        digits (12 places), else the row is not ok."""
        value = self.cells.money(index)
        if index is not None:
            self.ok.append(f"CASE WHEN n{index} = '' THEN true ELSE abs({value}) < 1e16 END")
            self.spell(self.cells.text(index), _MONEY_RE)
        return value

    def lookup(self, index: int, function: Lookup) -> str:
        """The column mapped by ``function`` once per distinct cell (see ChunkSql)."""
        self._lookups.append((index, function))
        name = self.cells.lookup(index)
        self.ok.append(f"{name} IS NOT NULL")
        return name

    def chunk(self, items: Sequence[str], source: str | None = None) -> ChunkSql:
        """The compiled mapping: ``items`` (the fact columns) plus ``ok``, over ``source``
        (default: the cells' stages)."""
        ok = [*self.ok, _spelled(self._spelled, self._patterns)] if self._spelled else self.ok
        select = ", ".join(
            [*items, "coalesce(" + " AND ".join(f"({o})" for o in ok) + ", false) AS ok"]
        )
        return ChunkSql(
            len(self.columns),
            f"SELECT {select} FROM {source or self.cells.stage()}",
            tuple(self._lookups),
        )


def compile_aws_cur(header: Sequence[str]) -> ChunkSql | None:
    """The aws-cur mapping of ``CurNormaliser`` for this header, or None when the header has
    something the SQL does not reproduce (then every chunk uses the Python path)."""
    m = _Mapping(header, cur_key)
    pick, cells, ok, money = m.pick, m.cells, m.ok, m.money
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

    ok += [f"{unblended} <> ''", f"{currency} <> ''", f"{tag_map} = ''"]
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
    for cell, pattern in ((billing, _TS_RE), (usage, _TS_RE), (usage_end, "|" + _TS_RE)):
        m.spell(cell, pattern)

    # Tags: resourceTags/* columns, keys sorted as json.dumps(sort_keys=True) sorts them.
    tags: dict[str, int] = {}
    for index, name in enumerate(m.columns):
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
    return m.chunk(
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
        ]
    )


_FOCUS_DEFAULT_PROVIDER = {"aws-focus": "AWS", "oci": "Oracle Cloud Infrastructure"}


def _canonical_tags(raw: str | None) -> str:
    return parse_tags(raw)


def compile_focus(header: Sequence[str], provider: str = "focus") -> ChunkSql | None:
    """``FocusNormaliser``'s mapping for this header (FOCUS files, AWS FOCUS exports, OCI),
    or None when a required column is missing. Tags are parsed in Python once per distinct
    cell of a chunk (a lookup): FOCUS writes them as JSON in any key order and spacing."""
    m = _Mapping(header)
    pick, cells, ok, money = m.pick, m.cells, m.ok, m.money
    billed_i = pick("BilledCost")
    billing_i = pick("BillingPeriodStart")
    charge_i = pick("ChargePeriodStart")
    if None in (billed_i, billing_i, charge_i):
        return None

    def stamp(i: int | None, required: bool) -> str:
        value = cells.stamp(i)
        if i is not None:
            cell = cells.text(i)
            ok.append(
                f"{value} IS NOT NULL"
                if required
                else f"CASE WHEN {cell} = '' THEN true ELSE {value} IS NOT NULL END"
            )
            m.spell(cell, _FOCUS_TS_RE if required else "|" + _FOCUS_TS_RE)
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
    tags_i = pick("Tags")
    tags = "'{}'" if tags_i is None else m.lookup(tags_i, _canonical_tags)
    provider_name = cells.text(pick("ProviderName", "ServiceProviderName", "Provider"))
    default_provider = _literal(_FOCUS_DEFAULT_PROVIDER.get(provider, ""))
    end_cell = cells.text(end_i)
    return m.chunk(
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
        ]
    )


def _azure_day(raw: str | None) -> str:
    """``Date`` (US ``M/D/YYYY`` or ISO) as the UTC moment's ISO text, which SQL casts; a
    RowError (also for years DuckDB's strftime or ``day + 1`` would treat otherwise) sends the
    chunk to Python."""
    moment = timestamp(raw, "Date")
    if not 1000 <= moment.year < 9999:
        raise RowError("Date out of the fast path's range")
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")


def _azure_period(raw: str | None) -> str:
    """``BillingPeriodStartDate`` as its ``YYYY-MM``, or ``""`` when empty (then the day's)."""
    if not text(raw):
        return ""
    return period_of(timestamp(raw, "BillingPeriodStartDate"))


#: HALF_EVEN ties of a product rounded to 12 places (see ``_azure_list_cost``).
_TIE = "CAST(0.0000000000005 AS DECIMAL(38,24))"
_ULP = "CAST(0.000000000001 AS DECIMAL(13,12))"


def _azure_list_cost(payg: str, quantity: str) -> tuple[tuple[str, ...], str, str]:
    """``(payg * quantity).quantize(cost)`` as Python computes it: the columns to add to the
    relation, one stage each (see :func:`_staged`), then the value and its ``ok`` condition.

    Python multiplies two 12-place Decimals in the default context (28 digits, HALF_EVEN),
    then quantizes to 12 places HALF_EVEN. DuckDB's DECIMAL(38,12) product is DECIMAL(38,24)
    and exact (below 1e14; the double gate keeps it below 1e12, else the row is not ok);
    the cast back to 12 places rounds half *up* (of the magnitude), so an exact tie (the
    remainder is 5e-13, seen as ``a - h = -5e-13``) is taken back to the even neighbour
    (``|a - h|`` is the distance to the nearer 12-place neighbour, so ``||a - h| - 5e-13|`` is
    the distance to the tie between them). Below 1e4 the product has at most 28 digits, so
    Python's product is exact too; from 1e4 up Python rounds it first to 28 digits (at 1e-15
    or finer below 1e12), which leaves an exact tie as it is and can only matter within 5e-16
    of one: such a row is not ok (Python path)."""
    present = f"{payg} IS NOT NULL AND {quantity} IS NOT NULL AND {quantity} <> 0"
    gate = f"abs(CAST({payg} AS DOUBLE) * CAST({quantity} AS DOUBLE)) < 1e12"
    # In CASE, never evaluated past the gate: that product would overflow (an error).
    stages = (
        f"CASE WHEN ({present}) AND ({gate}) THEN {payg} * {quantity} END AS list_p",
        "CAST(abs(list_p) AS DECIMAL(38,12)) AS list_h",
        "abs(list_p) - list_h AS list_d",
    )
    odd = "right(CAST(list_h AS VARCHAR), 1) IN ('1', '3', '5', '7', '9')"
    rounded = (
        f"CASE WHEN list_d <> -{_TIE} THEN list_h WHEN {odd} THEN list_h - {_ULP} ELSE list_h END"
    )
    value = f"CASE WHEN list_p < 0 THEN -({rounded}) ELSE {rounded} END"
    ok = (
        f"CASE WHEN NOT ({present}) THEN true WHEN list_p IS NULL THEN false"
        f" ELSE abs(list_p) < 1e4 OR abs(list_d) = {_TIE}"
        f" OR abs(abs(list_d) - {_TIE}) > CAST(5e-16 AS DECIMAL(38,24)) END"
    )
    return stages, value, ok


def _staged(source: str, stages: Sequence[str]) -> str:
    """``source`` with each column of ``stages`` added in turn (a stage may use the ones
    before it): what is computed once per row instead of once per use."""
    for column in stages:
        source = f"(SELECT *, {column} FROM {source})"
    return source


def compile_azure(header: Sequence[str]) -> ChunkSql | None:
    """``AzureNormaliser``'s mapping for this header (EA and MCA exports), or None when a
    required column is missing. Columns match case-insensitively, the last of equal names
    winning, as ``Columns(key=str.lower)`` does; dates and tags are lookups (Python once per
    distinct cell of the chunk); the region is lowered in SQL, so only ASCII regions are ok."""
    m = _Mapping(header, str.lower)
    pick, cells, ok, money = m.pick, m.cells, m.ok, m.money
    cost_i = pick("CostInBillingCurrency", "Cost", "PreTaxCost")
    date_i = pick("Date", "UsageDate")
    currency_i = pick("BillingCurrencyCode", "BillingCurrency", "Currency")
    if cost_i is None or date_i is None or currency_i is None:
        return None
    cost = money(cost_i)
    ok.append(f"{cells.text(cost_i)} <> ''")
    payg = money(pick("PayGPrice"))
    quantity = money(pick("Quantity", "UsageQuantity"))
    currency = cells.text(currency_i)
    ok.append(f"{currency} <> ''")
    list_stages, list_cost, list_ok = _azure_list_cost(payg, quantity)
    ok.append(list_ok)

    day = f"CAST({m.lookup(date_i, _azure_day)} AS TIMESTAMP)"
    period = f"strftime({day}, '%Y-%m')"
    start_i = pick("BillingPeriodStartDate")
    if start_i is not None:
        start = m.lookup(start_i, _azure_period)
        period = f"CASE WHEN {start} = '' THEN {period} ELSE {start} END"
    tags_i = pick("Tags")
    tags = "'{}'" if tags_i is None else m.lookup(tags_i, _canonical_tags)
    region = cells.text(pick("ResourceLocation"))
    ok.append(f"strlen({region}) = length({region})")  # ASCII: lower() is str.lower()
    kind = cells.text(pick("ChargeType"))
    category = " ".join(
        f"WHEN {_literal(k)} THEN {_literal(v)}" for k, v in AZURE_CHARGE_CATEGORY.items()
    )
    return m.chunk(
        [
            f"{period} AS billing_period",
            f"CAST({day} AS DATE) AS charge_date",
            f"timezone('UTC', {day}) AS charge_period_start",
            f"timezone('UTC', {day} + INTERVAL 1 DAY) AS charge_period_end",
            f"{cells.text(pick('BillingAccountId'))} AS billing_account_id",
            f"{cells.text(pick('SubscriptionId', 'SubscriptionGuid'))} AS sub_account_id",
            "'Microsoft' AS provider_name",
            f"{cells.text(pick('MeterCategory', 'ConsumedService'))} AS service_name",
            f"{cells.text(pick('ServiceFamily'))} AS service_category",
            f"lower({region}) AS region_id",
            f"{cells.text(pick('ResourceId', 'InstanceId'))} AS resource_id",
            f"{cells.text(pick('ResourceName'))} AS resource_name",
            f"{cells.text(pick('ConsumedService'))} AS resource_type",
            f"{cells.text(pick('MeterId', 'PartNumber'))} AS sku_id",
            f"CASE {kind} {category} WHEN '' THEN 'Usage' ELSE 'Adjustment' END AS charge_category",
            f"{quantity} AS consumed_quantity",
            f"{cells.text(pick('UnitOfMeasure'))} AS consumed_unit",
            f"{cost} AS billed_cost",
            f"{cost} AS effective_cost",
            f"{list_cost} AS list_cost",
            f"{currency} AS billing_currency",
            f"{tags} AS tags",
        ],
        _staged(cells.stage(), list_stages),
    )


#: The reference mapping of a GCP ``credits`` and ``labels`` cell (see ``_gcp_credits``).
_GCP = GcpNormaliser(["credits", "labels", "cost", "currency", "usage_start_time"])


def _python_decides(function: Callable[[str], str]) -> Callable[[str | None], str]:
    """A lookup of ``function`` on the cell (``None``, DuckDB's empty cell, reads as ``""``, as
    ``focus.text`` reads both); any exception becomes a RowError, so the Python path decides
    (and reports) the rows of that chunk exactly as before."""

    def lookup(raw: str | None) -> str:
        try:
            return function("" if raw is None else raw)
        except RowError:
            raise
        except Exception as error:  # e.g. RecursionError of a deeply nested JSON cell
            raise RowError(f"the fast path leaves it to Python: {error!r}") from None

    return lookup


@_python_decides
def _gcp_credits(raw: str) -> str:
    """The sum of a ``credits`` cell's amounts, computed by ``GcpNormaliser`` itself, as plain
    decimal text (exact in DECIMAL(38,12): every amount is quantized to 12 places). Python adds
    them in the default context (28 digits): a sum that context rounded (partial sums of 1e16
    or more) differs from the exact one, computed again with 60 digits, and is not the fast
    path's (RowError)."""
    total = _GCP._credits((raw, raw))
    with localcontext() as exact:
        exact.prec = 60
        if _GCP._credits((raw, raw)) != total:
            raise RowError("credits: a sum Python rounds")
    return f"{total:f}"


@_python_decides
def _gcp_labels(raw: str) -> str:
    """The ``labels`` cell as ``GcpNormaliser`` writes the tags (canonical JSON)."""
    return _GCP._labels((raw, raw))


def _gcp_moment(raw: str, column: str) -> str:
    moment = timestamp(raw, column)
    if not 1000 <= moment.year < 9999:  # four-digit years: strftime, the casts and left(, 7)
        raise RowError(f"{column} out of the fast path's range")
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")


@_python_decides
def _gcp_start(raw: str) -> str:
    """``usage_start_time`` as the UTC moment's ISO text (what ``focus.timestamp`` reads: ``Z``,
    offsets, a space, a date only, US dates), which SQL casts."""
    return _gcp_moment(raw, "usage_start_time")


@_python_decides
def _gcp_end(raw: str) -> str:
    """``usage_end_time`` like ``_gcp_start``, ``""`` when empty (no end)."""
    return _gcp_moment(raw, "usage_end_time") if text(raw) else ""


def compile_gcp(header: Sequence[str]) -> ChunkSql | None:
    """``GcpNormaliser``'s mapping for this header (the BigQuery standard export as CSV with
    dotted names), or None when a required column is missing. Columns match
    case-insensitively (the last of equal names wins, as in ``Columns``); timestamps, credits
    and labels are lookups computed by the Python reference once per distinct cell."""
    m = _Mapping(header, str.lower)
    pick, cells, ok, money = m.pick, m.cells, m.ok, m.money
    cost_i = pick("cost")
    currency_i = pick("currency")
    start_i = pick("usage_start_time")
    if cost_i is None or currency_i is None or start_i is None:
        return None
    cost = money(cost_i)
    ok.append(f"{cells.text(cost_i)} <> ''")
    list_cost = money(pick("cost_at_list"))
    quantity = money(pick("usage.amount", "usage_amount"))
    currency = cells.text(currency_i)
    ok.append(f"{currency} <> ''")
    month_i = pick("invoice.month", "invoice_month")
    month = cells.text(month_i)
    if month_i is not None:
        m.spell(month, "|[0-9]{6}")  # str.isdigit() admits other digits too: Python path

    start = f"CAST({m.lookup(start_i, _gcp_start)} AS TIMESTAMP)"
    end_sql = "CAST(NULL AS TIMESTAMPTZ)"
    end_i = pick("usage_end_time")
    if end_i is not None:
        end = m.lookup(end_i, _gcp_end)
        end_sql = (
            f"CASE WHEN {end} = '' THEN NULL ELSE timezone('UTC', CAST({end} AS TIMESTAMP)) END"
        )
    credits = "CAST(0 AS DECIMAL(38,12))"
    credits_i = pick("credits")
    if credits_i is not None:
        credits = f"CAST({m.lookup(credits_i, _gcp_credits)} AS DECIMAL(38,12))"
    # Python: max(cost + credits, 0).quantize(12 places), exact below 1e16 (28 digits).
    ok.append(f"abs({cost} + {credits}) < 1e16")
    effective = (
        f"CASE WHEN {cost} + {credits} < 0 THEN CAST(0 AS DECIMAL(38,12))"
        f" ELSE {cost} + {credits} END"
    )
    labels_i = pick("labels")
    tags = "'{}'" if labels_i is None else m.lookup(labels_i, _gcp_labels)
    region = cells.text(pick("location.region", "location_region"))
    location = cells.text(pick("location.location", "location_location"))
    kind = cells.text(pick("cost_type"))
    category = " ".join(
        f"WHEN {_literal(k)} THEN {_literal(v)}" for k, v in GCP_CHARGE_CATEGORY.items()
    )
    return m.chunk(
        [
            f"CASE WHEN {month} <> '' THEN left({month}, 4) || '-' || right({month}, 2)"
            f" ELSE strftime({start}, '%Y-%m') END AS billing_period",
            f"CAST({start} AS DATE) AS charge_date",
            f"timezone('UTC', {start}) AS charge_period_start",
            f"{end_sql} AS charge_period_end",
            f"{cells.text(pick('billing_account_id'))} AS billing_account_id",
            f"{cells.text(pick('project.id', 'project_id'))} AS sub_account_id",
            "'Google Cloud' AS provider_name",
            f"{cells.text(pick('service.description', 'service_description'))} AS service_name",
            "'' AS service_category",
            f"CASE WHEN {region} <> '' THEN {region} ELSE {location} END AS region_id",
            f"{cells.text(pick('resource.global_name', 'resource_global_name'))} AS resource_id",
            f"{cells.text(pick('resource.name', 'resource_name'))} AS resource_name",
            "'' AS resource_type",
            f"{cells.text(pick('sku.id', 'sku_id'))} AS sku_id",
            # Only an ASCII cost_type lowers to a key in Python (the one character not ASCII
            # whose str.lower() is ASCII is the Kelvin sign, "k", in no key: checked in the
            # tests); DuckDB's lower() may map more (U+0130 to "i"), so those are "Usage".
            f"CASE WHEN strlen({kind}) <> length({kind}) THEN 'Usage'"
            f" ELSE CASE lower({kind}) {category} ELSE 'Usage' END END AS charge_category",
            f"{quantity} AS consumed_quantity",
            f"{cells.text(pick('usage.unit', 'usage_unit'))} AS consumed_unit",
            f"{cost} AS billed_cost",
            f"{effective} AS effective_cost",
            f"{list_cost} AS list_cost",
            f"{currency} AS billing_currency",
            f"{tags} AS tags",
        ]
    )


_compiled: dict[tuple[str, tuple[str, ...]], ChunkSql | None] = {}


def compiled(provider: str, header: Sequence[str]) -> ChunkSql | None:
    """The mapping of ``provider`` for this header (cached), or None: use the Python path."""
    key = (provider, tuple(header))
    if key not in _compiled:
        if provider == "aws-cur":
            _compiled[key] = compile_aws_cur(header)
        elif provider in ("focus", "aws-focus", "oci"):
            _compiled[key] = compile_focus(header, provider)
        elif provider == "azure":
            _compiled[key] = compile_azure(header)
        elif provider == "gcp":
            _compiled[key] = compile_gcp(header)
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
