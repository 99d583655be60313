"""A WAFv2 WebACL evaluator: the same rule JSON the SAM template deploys, run locally.

:func:`parse_web_acl` reads a WebACL (the ``Properties`` of ``AWS::WAFv2::WebACL``, or the
``CreateWebACL`` API input: both use the same names) into frozen statement objects;
:meth:`WebAcl.evaluate` inspects a :class:`WafRequest` rule by rule in priority order, as AWS
WAF does: a matching rule with ``Count`` adds its labels and goes on, ``Allow`` or ``Block``
terminates, and the default action applies when no rule terminates.

Pure: no I/O. Referenced sets (IP sets, regex pattern sets) come from a :class:`SetResolver`;
rate-based rules keep their counters in a :class:`RateLimiter` driven by an injected clock.
Unsupported statements are rejected at parse time with the path of the offending element.
"""

# ruff: noqa: SIM110 - plain loops, not any()/all(): no generator per statement per request
from __future__ import annotations

import base64
import ipaddress
import json
import re
import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any, Protocol, TypeVar
from urllib.parse import unquote_plus

from stratus.solutions.edge.domain import sqli, transforms, xss

#: CloudFront WebACLs inspect the first 16 KiB of a body by default (AssociationConfig may
#: raise it to 64 KiB); headers and cookies: the first 8 KiB or 200 items.
BODY_LIMIT = 16 * 1024
HEADERS_LIMIT = 8 * 1024
RATE_WINDOWS = (60, 120, 300, 600)


class WebAclError(ValueError):
    """The WebACL JSON is not something this engine (or AWS WAF) accepts; names the path."""


@dataclass(frozen=True, slots=True)
class WafRequest:
    """What WAF inspects: method, raw path and query (percent-encoded as on the wire),
    headers in order, the body, and the address of the client that connected."""

    method: str
    uri_path: str
    query: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    ip: str = "127.0.0.1"

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (case-insensitive)."""
        lowered = name.lower()
        for key, value in self.headers:
            if key.lower() == lowered:
                return value
        return None

    def query_args(self) -> list[tuple[str, str]]:
        """Query arguments as raw ``(name, value)`` text, not decoded (as WAF sees them)."""
        pairs: list[tuple[str, str]] = []
        for part in self.query.split("&"):
            if not part:
                continue
            name, _, value = part.partition("=")
            pairs.append((name, value))
        return pairs

    def cookies(self) -> list[tuple[str, str]]:
        """Cookie ``(name, value)`` pairs from every Cookie header."""
        found: list[tuple[str, str]] = []
        for key, value in self.headers:
            if key.lower() != "cookie":
                continue
            for part in value.split(";"):
                name, _, val = part.strip().partition("=")
                if name:
                    found.append((name, val))
        return found


class SetResolver(Protocol):
    """Where referenced sets come from: the template locally, WAF's API on AWS."""

    def ip_set(self, arn: str) -> Sequence[str]:
        """CIDRs of an IP set."""
        ...

    def regex_set(self, arn: str) -> re.Pattern[str] | None:
        """One compiled alternation of the set's patterns (``None`` when empty)."""
        ...


class Clock(Protocol):
    """Anything with ``now()`` returning a tz-aware datetime (the platform Clock port)."""

    def now(self) -> datetime: ...


# -- fields ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Field:
    """A FieldToMatch: which part of the request, and what to do when it is too large."""

    kind: str
    name: str = ""
    oversize: str = "CONTINUE"
    scope: str = "VALUE"  # Cookies/Headers MatchScope: ALL, KEY, VALUE
    included: tuple[str, ...] = ()

    def values(self, request: WafRequest) -> Iterator[str] | None:
        """The texts to inspect; ``None`` means "oversize: the statement matches"."""
        kind = self.kind
        if kind == "UriPath":
            return iter((request.uri_path,))
        if kind == "QueryString":
            return iter((request.query,))
        if kind == "Method":
            return iter((request.method,))
        if kind == "SingleQueryArgument":
            lowered = self.name.lower()
            return (v for k, v in request.query_args() if unquote_plus(k).lower() == lowered)
        if kind == "AllQueryArguments":
            return (v for _, v in request.query_args())
        if kind == "SingleHeader":
            value = request.header(self.name)
            return iter(() if value is None else (value,))
        if kind == "Body":
            body = request.body
            if len(body) > BODY_LIMIT:
                if self.oversize == "MATCH":
                    return None
                if self.oversize == "NO_MATCH":
                    return iter(())
                body = body[:BODY_LIMIT]
            if not body:
                return iter(())
            text = body.decode("utf-8", "replace")
            return iter((text, *_body_values(text)))
        if kind in ("Cookies", "Headers"):
            pairs = request.cookies() if kind == "Cookies" else list(request.headers)
            if sum(len(k) + len(v) for k, v in pairs) > HEADERS_LIMIT or len(pairs) > 200:
                if self.oversize == "MATCH":
                    return None
                if self.oversize == "NO_MATCH":
                    return iter(())
            if self.included:
                wanted = _lowered(self.included)
                pairs = [(k, v) for k, v in pairs if k.lower() in wanted]
            return _scoped(pairs, self.scope)
        raise AssertionError(kind)  # parse_field only builds known kinds


@lru_cache(maxsize=256)
def _lowered(names: tuple[str, ...]) -> frozenset[str]:
    return frozenset(n.lower() for n in names)


_FORM = re.compile(r"^[\w.\[\]%-]+=[^&]*(?:&[\w.\[\]%-]+=[^&]*)*$")
_XML_VALUE = re.compile(r"""=\s*"([^"<]*)"|=\s*'([^'<]*)'|>([^<]+)<""")


@lru_cache(maxsize=64)
def _body_values(text: str) -> tuple[str, ...]:
    """The values inside a body, also inspected one by one (a departure: AWS WAF sees the
    body whole unless a JsonBody field is used; detectors that read the start of a value
    need the value): form fields, the strings of a JSON document (keys and values), the
    attribute values and text of an XML document. Nothing is fetched or expanded. Memoised:
    every Body statement of a request asks again."""
    stripped = text.strip()
    if len(stripped) > BODY_LIMIT or not stripped:
        return ()
    first = stripped[0]
    if first in "{[":
        return _json_strings(stripped)
    if first == "<":
        return tuple(
            next(v for v in m.groups() if v is not None) for m in _XML_VALUE.finditer(stripped)
        )
    return _form_values(stripped)


def _json_strings(text: str) -> tuple[str, ...]:
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError):  # malformed, or nested deeper than the parser goes
        return ()
    found: list[str] = []
    stack: list[Any] = [doc]
    while stack and len(found) < 1000:
        item = stack.pop()
        if isinstance(item, str):
            found.append(item)
        elif isinstance(item, dict):
            found.extend(str(k) for k in item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return tuple(found)


def _form_values(text: str) -> tuple[str, ...]:
    """A form-encoded body's values; ``+`` is a space in form encoding, so it is turned into
    ``%20`` before the statement's URL_DECODE (a literal plus is sent as ``%2B``)."""
    if "=" not in text or not _FORM.match(text):
        return ()
    return tuple(part.partition("=")[2].replace("+", "%20") for part in text.split("&"))


def _scoped(pairs: Sequence[tuple[str, str]], scope: str) -> Iterator[str]:
    for key, value in pairs:
        if scope in ("ALL", "KEY"):
            yield key
        if scope in ("ALL", "VALUE"):
            yield value


# -- statements -----------------------------------------------------------------------------


@dataclass
class EvalContext:
    """One evaluation: the request, labels added so far, and the engine's stateful parts."""

    request: WafRequest
    resolver: SetResolver
    limiter: RateLimiter
    labels: set[str] = field(default_factory=set)
    #: per-request memo, keyed by the id of an interned :class:`Field` / :class:`_Inspect`:
    #: each field is extracted, and each (field, transformations) pair transformed, once per
    #: request however many statements inspect it (never shared across requests)
    values: dict[int, tuple[str, ...] | None] = field(default_factory=dict)
    texts: dict[int, tuple[str, ...] | None] = field(default_factory=dict)


class Statement(Protocol):
    """A WAFv2 statement: true when the request matches."""

    def matches(self, ctx: EvalContext) -> bool: ...


@dataclass(frozen=True, slots=True)
class _Inspect:
    field: Field
    transformations: tuple[str, ...]

    def texts(self, ctx: EvalContext) -> tuple[str, ...] | None:
        """The transformed texts (``None``: oversize, the statement matches), computed once
        per request for every statement that inspects the same field the same way."""
        memo = ctx.texts
        key = id(self)
        if key in memo:
            return memo[key]
        fkey = id(self.field)
        if fkey in ctx.values:
            values = ctx.values[fkey]
        else:
            found = self.field.values(ctx.request)
            values = ctx.values[fkey] = None if found is None else tuple(found)
        if values is None or not values:
            result = values
        else:
            names = self.transformations
            if not names or names == ("NONE",):
                result = values
            else:
                apply = transforms.apply
                if len(values) == 1:
                    result = (apply(values[0], names),)
                else:
                    result = tuple([apply(v, names) for v in values])
        memo[key] = result
        return result


@dataclass(frozen=True, slots=True)
class ByteMatch:
    """ByteMatchStatement: a search string at a position in the transformed field."""

    inspect: _Inspect
    search: str
    position: str

    def matches(self, ctx: EvalContext) -> bool:
        texts = self.inspect.texts(ctx)
        if texts is None:
            return True
        s, pos = self.search, self.position
        for text in texts:
            if pos == "CONTAINS" and s in text:
                return True
            if pos == "EXACTLY" and text == s:
                return True
            if pos == "STARTS_WITH" and text.startswith(s):
                return True
            if pos == "ENDS_WITH" and text.endswith(s):
                return True
            if pos == "CONTAINS_WORD" and re.search(
                rf"(?<![A-Za-z0-9_]){re.escape(s)}(?![A-Za-z0-9_])", text
            ):
                return True
        return False


@dataclass(frozen=True, slots=True)
class SqliMatch:
    """SqliMatchStatement with SensitivityLevel LOW or HIGH (see :mod:`.sqli`)."""

    inspect: _Inspect
    sensitivity: sqli.Sensitivity

    def matches(self, ctx: EvalContext) -> bool:
        texts = self.inspect.texts(ctx)
        if texts is None:
            return True
        detect, sensitivity = sqli.detect, self.sensitivity
        for text in texts:
            if detect(text, sensitivity) is not None:
                return True
        return False


@dataclass(frozen=True, slots=True)
class XssMatch:
    """XssMatchStatement (see :mod:`.xss`)."""

    inspect: _Inspect

    def matches(self, ctx: EvalContext) -> bool:
        texts = self.inspect.texts(ctx)
        if texts is None:
            return True
        detect = xss.detect
        for text in texts:
            if detect(text) is not None:
                return True
        return False


_SEARCH_MEMO: dict[int, tuple[re.Pattern[str], dict[str, bool]]] = {}
_SEARCH_MEMO_SIZE = 4096


def _search(pattern: re.Pattern[str], text: str) -> bool:
    """Memoised regex search: user agents and cookies repeat across requests; a new pattern
    set compiles to a new pattern object, so a cached answer never outlives its set. One memo
    per pattern object, found by identity (hashing a compiled pattern hashes its whole code,
    microseconds for a large set); the entry holds the pattern, so its id is not reused."""
    entry = _SEARCH_MEMO.get(id(pattern))
    if entry is None or entry[0] is not pattern:
        if len(_SEARCH_MEMO) >= 64:
            _SEARCH_MEMO.clear()
        entry = _SEARCH_MEMO[id(pattern)] = (pattern, {})
    memo = entry[1]
    found = memo.get(text)
    if found is None:
        found = pattern.search(text) is not None
        if len(memo) >= _SEARCH_MEMO_SIZE:
            memo.clear()
        memo[text] = found
    return found


@dataclass(frozen=True, slots=True)
class RegexMatch:
    """RegexMatchStatement: one regular expression."""

    inspect: _Inspect
    pattern: re.Pattern[str]

    def matches(self, ctx: EvalContext) -> bool:
        texts = self.inspect.texts(ctx)
        if texts is None:
            return True
        pattern = self.pattern
        for text in texts:
            if _search(pattern, text):
                return True
        return False


@dataclass(frozen=True, slots=True)
class RegexSetReference:
    """RegexPatternSetReferenceStatement: any pattern of a (live) regex pattern set."""

    inspect: _Inspect
    arn: str

    def matches(self, ctx: EvalContext) -> bool:
        pattern = ctx.resolver.regex_set(self.arn)
        if pattern is None:
            return False
        texts = self.inspect.texts(ctx)
        if texts is None:
            return True
        for text in texts:
            if _search(pattern, text):
                return True
        return False


@dataclass(frozen=True, slots=True)
class ForwardedIp:
    """ForwardedIPConfig: take the client address from a header set by a trusted proxy."""

    header: str
    fallback: str  # MATCH / NO_MATCH when the header is missing or invalid
    position: str = "FIRST"  # IPSetForwardedIPConfig.Position: FIRST, LAST, ANY

    def addresses(self, request: WafRequest) -> list[str] | None:
        raw = request.header(self.header)
        if raw is None:
            return None
        found = []
        for part in raw.split(","):
            try:
                found.append(str(ipaddress.ip_address(part.strip())))
            except ValueError:
                return None  # AWS: an invalid forwarded address triggers the fallback
        if not found:
            return None
        if self.position == "FIRST":
            return found[:1]
        if self.position == "LAST":
            return found[-1:]
        return found


@dataclass(frozen=True, slots=True)
class IpSetReference:
    """IPSetReferenceStatement, with an optional forwarded-IP configuration."""

    arn: str
    forwarded: ForwardedIp | None = None

    def matches(self, ctx: EvalContext) -> bool:
        if self.forwarded is None:
            addresses = [ctx.request.ip]
        else:
            found = self.forwarded.addresses(ctx.request)
            if found is None:
                return self.forwarded.fallback == "MATCH"
            addresses = found
        networks = _networks(tuple(ctx.resolver.ip_set(self.arn)))
        if not networks:
            return False
        for text in addresses:
            address = _address(text)
            if address is None:
                continue
            if any(address.version == net.version and address in net for net in networks):
                return True
        return False


@lru_cache(maxsize=4096)
def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """A client address parsed once (clients send many requests); ``None`` if invalid."""
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


_NETWORK_CACHE: dict[tuple[str, ...], tuple[Any, ...]] = {}


def _networks(cidrs: tuple[str, ...]) -> tuple[Any, ...]:
    cached = _NETWORK_CACHE.get(cidrs)
    if cached is None:
        cached = tuple(ipaddress.ip_network(c, strict=False) for c in cidrs)
        if len(_NETWORK_CACHE) > 64:
            _NETWORK_CACHE.clear()
        _NETWORK_CACHE[cidrs] = cached
    return cached


@dataclass(frozen=True, slots=True)
class RateBased:
    """RateBasedStatement: more than ``limit`` requests from one key in the trailing window
    (60/120/300/600 s) makes the statement match, until the rate drops below the limit.

    AWS counts every request the scope-down statement admits, blocked ones included, so a
    client that keeps flooding stays blocked; we do the same. AWS evaluates rates about every
    few seconds and may admit a little over the limit; we count exactly (a sliding window)."""

    key: str  # a unique id of this rule, so two rules keep separate counters
    limit: int
    window_s: int
    aggregate: str  # IP, FORWARDED_IP, CONSTANT
    forwarded: ForwardedIp | None = None
    scope_down: Statement | None = None

    def matches(self, ctx: EvalContext) -> bool:
        if self.scope_down is not None and not self.scope_down.matches(ctx):
            return False
        if self.aggregate == "CONSTANT":
            client = "*"
        elif self.aggregate == "FORWARDED_IP" and self.forwarded is not None:
            found = self.forwarded.addresses(ctx.request)
            if found is None:
                return self.forwarded.fallback == "MATCH"
            client = found[0]
        else:
            client = ctx.request.ip
        return ctx.limiter.hit(f"{self.key}|{client}", self.limit, self.window_s)


@dataclass(frozen=True, slots=True)
class SizeConstraint:
    """SizeConstraintStatement: compare the transformed field's length (in bytes)."""

    inspect: _Inspect
    operator: str
    size: int

    def matches(self, ctx: EvalContext) -> bool:
        texts = self.inspect.texts(ctx)
        if texts is None:
            return True
        if not texts:
            return False
        compare, size = _SIZE_OPS[self.operator], self.size
        for text in texts:
            if compare(len(text.encode()), size):
                return True
        return False


_SIZE_OPS: dict[str, Callable[[int, int], bool]] = {
    "EQ": int.__eq__,
    "NE": int.__ne__,
    "LE": int.__le__,
    "LT": int.__lt__,
    "GE": int.__ge__,
    "GT": int.__gt__,
}


@dataclass(frozen=True, slots=True)
class LabelMatch:
    """LabelMatchStatement: a label added by a rule evaluated earlier."""

    key: str

    def matches(self, ctx: EvalContext) -> bool:
        return self.key in ctx.labels


@dataclass(frozen=True, slots=True)
class AndStatement:
    """AndStatement: every nested statement matches."""

    statements: tuple[Statement, ...]

    def matches(self, ctx: EvalContext) -> bool:
        for statement in self.statements:
            if not statement.matches(ctx):
                return False
        return True


@dataclass(frozen=True, slots=True)
class OrStatement:
    """OrStatement: at least one nested statement matches."""

    statements: tuple[Statement, ...]

    def matches(self, ctx: EvalContext) -> bool:
        for statement in self.statements:
            if statement.matches(ctx):
                return True
        return False


@dataclass(frozen=True, slots=True)
class NotStatement:
    """NotStatement: the nested statement does not match."""

    statement: Statement

    def matches(self, ctx: EvalContext) -> bool:
        return not self.statement.matches(ctx)


# -- rate limiter ---------------------------------------------------------------------------


class RateLimiter:
    """Sliding-window request counters per key, on an injected clock; thread-safe."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, limit: int, window_s: int) -> bool:
        """Count one request for ``key``; true when the trailing window already held
        ``limit`` or more (this request is over the limit)."""
        now = self._clock.now().timestamp()
        with self._lock:
            hits = self._hits.get(key)
            if hits is None:
                hits = self._hits[key] = deque()
            floor = now - window_s
            while hits and hits[0] <= floor:
                hits.popleft()
            over = len(hits) >= limit
            hits.append(now)
            if len(hits) > limit * 2:  # bounded memory: only the newest 2*limit matter
                hits.popleft()
            if len(self._hits) > 100_000:
                self._forget(floor)
            return over

    def _forget(self, floor: float) -> None:
        for key in [k for k, v in self._hits.items() if not v or v[-1] <= floor]:
            del self._hits[key]


# -- the WebACL -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule: priority, statement, action (ALLOW, BLOCK, COUNT), labels, metric name."""

    name: str
    priority: int
    statement: Statement
    action: str
    labels: tuple[str, ...] = ()
    metric: str = ""
    block_status: int = 403


@dataclass(frozen=True, slots=True)
class RuleMatch:
    """A rule that matched, with the action it took."""

    name: str
    action: str


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome for one request."""

    action: str  # ALLOW or BLOCK (COUNT never terminates)
    terminating_rule: str | None
    matches: tuple[RuleMatch, ...]
    labels: frozenset[str]
    status: int = 200

    @property
    def blocked(self) -> bool:
        return self.action == "BLOCK"


@dataclass(frozen=True, slots=True)
class WebAcl:
    """A parsed WebACL: default action and rules sorted by priority."""

    name: str
    default_action: str
    rules: tuple[Rule, ...]

    def evaluate(self, request: WafRequest, resolver: SetResolver, limiter: RateLimiter) -> Verdict:
        """Run the rules in priority order against ``request``."""
        ctx = EvalContext(request, resolver, limiter)
        matched: list[RuleMatch] = []
        for rule in self.rules:
            if not rule.statement.matches(ctx):
                continue
            ctx.labels.update(rule.labels)
            matched.append(RuleMatch(rule.name, rule.action))
            if rule.action in ("ALLOW", "BLOCK"):
                status = rule.block_status if rule.action == "BLOCK" else 200
                return Verdict(
                    rule.action, rule.name, tuple(matched), frozenset(ctx.labels), status
                )
        status = 403 if self.default_action == "BLOCK" else 200
        return Verdict(self.default_action, None, tuple(matched), frozenset(ctx.labels), status)


# -- parsing --------------------------------------------------------------------------------

_TRANSFORM_NAMES = frozenset(transforms.TRANSFORMATIONS)
_POSITIONS = frozenset({"EXACTLY", "STARTS_WITH", "ENDS_WITH", "CONTAINS", "CONTAINS_WORD"})


def parse_web_acl(spec: Mapping[str, Any], *, reference: Callable[[Any], str] = str) -> WebAcl:
    """Parse WebACL JSON. ``reference`` turns an ARN value (maybe an intrinsic such as
    ``{"Fn::GetAtt": [...]}`` in a template) into the key a :class:`SetResolver` knows."""
    default = _action(spec.get("DefaultAction"), "DefaultAction")
    rules: list[Rule] = []
    seen: set[int] = set()
    for index, raw in enumerate(spec.get("Rules") or []):
        path = f"Rules[{index}]"
        if not isinstance(raw, Mapping):
            raise WebAclError(f"{path}: a rule must be an object")
        name = _req(raw, "Name", path)
        priority = int(_req(raw, "Priority", path))
        if priority in seen:
            raise WebAclError(f"{path}: duplicate Priority {priority}")
        seen.add(priority)
        if "OverrideAction" in raw:
            raise WebAclError(f"{path}: rule groups (OverrideAction) are not supported locally")
        action = _action(raw.get("Action"), f"{path}.Action")
        labels = tuple(str(label["Name"]) for label in raw.get("RuleLabels") or [])
        metric = str((raw.get("VisibilityConfig") or {}).get("MetricName", name))
        block_status = 403
        custom = ((raw.get("Action") or {}).get("Block") or {}).get("CustomResponse")
        if custom:
            block_status = int(custom.get("ResponseCode", 403))
        statement = _statement(_req(raw, "Statement", path), f"{path}.Statement", reference, name)
        rules.append(Rule(str(name), priority, statement, action, labels, metric, block_status))
    rules.sort(key=lambda r: r.priority)
    return WebAcl(str(spec.get("Name", "WebACL")), default, tuple(rules))


def _arn(body: Mapping[str, Any], where: str) -> Any:
    """``ARN`` in the WAFv2 API, ``Arn`` in CloudFormation: the same field."""
    if "Arn" in body:
        return body["Arn"]
    return _req(body, "ARN", where)


def _req(spec: Mapping[str, Any], key: str, path: str) -> Any:
    if key not in spec:
        raise WebAclError(f"{path}: {key} is required")
    return spec[key]


def _action(spec: Any, path: str) -> str:
    if not isinstance(spec, Mapping) or len(spec) != 1:
        raise WebAclError(f"{path}: exactly one of Allow, Block, Count")
    (name,) = spec
    if name not in ("Allow", "Block", "Count"):
        raise WebAclError(f"{path}: {name} is not supported locally (Allow, Block, Count)")
    return str(name).upper()


def _statement(spec: Any, path: str, reference: Callable[[Any], str], rule: str) -> Statement:
    if not isinstance(spec, Mapping) or len(spec) != 1:
        raise WebAclError(f"{path}: a statement is an object with exactly one key")
    ((kind, body),) = spec.items()
    where = f"{path}.{kind}"
    if kind in ("AndStatement", "OrStatement"):
        nested = body.get("Statements") or []
        if len(nested) < 2:
            raise WebAclError(f"{where}.Statements: at least two statements")
        parts = tuple(
            _statement(s, f"{where}.Statements[{i}]", reference, rule) for i, s in enumerate(nested)
        )
        return AndStatement(parts) if kind == "AndStatement" else OrStatement(parts)
    if kind == "NotStatement":
        return NotStatement(_statement(_req(body, "Statement", where), where, reference, rule))
    if kind == "ByteMatchStatement":
        if "SearchString" in body:
            search = str(body["SearchString"])
        elif "SearchStringBase64" in body:
            search = base64.b64decode(body["SearchStringBase64"]).decode("utf-8", "replace")
        else:
            raise WebAclError(f"{where}: SearchString is required")
        position = str(_req(body, "PositionalConstraint", where))
        if position not in _POSITIONS:
            raise WebAclError(f"{where}.PositionalConstraint: {position} is not valid")
        return ByteMatch(_inspect(body, where), search, position)
    if kind == "SqliMatchStatement":
        level = str(body.get("SensitivityLevel", "LOW"))
        if level not in ("LOW", "HIGH"):
            raise WebAclError(f"{where}.SensitivityLevel: LOW or HIGH")
        return SqliMatch(_inspect(body, where), "HIGH" if level == "HIGH" else "LOW")
    if kind == "XssMatchStatement":
        return XssMatch(_inspect(body, where))
    if kind == "RegexMatchStatement":
        try:
            pattern = re.compile(str(_req(body, "RegexString", where)))
        except re.error as exc:
            raise WebAclError(f"{where}.RegexString: {exc}") from exc
        return RegexMatch(_inspect(body, where), pattern)
    if kind == "RegexPatternSetReferenceStatement":
        return RegexSetReference(_inspect(body, where), reference(_arn(body, where)))
    if kind == "IPSetReferenceStatement":
        fwd = body.get("IPSetForwardedIPConfig")
        forwarded = None
        if fwd:
            forwarded = ForwardedIp(
                str(fwd["HeaderName"]), str(fwd["FallbackBehavior"]), str(fwd["Position"])
            )
        return IpSetReference(reference(_arn(body, where)), forwarded)
    if kind == "RateBasedStatement":
        limit = int(_req(body, "Limit", where))
        window = int(body.get("EvaluationWindowSec", 300))
        if limit < 10:
            raise WebAclError(f"{where}.Limit: at least 10")
        if window not in RATE_WINDOWS:
            raise WebAclError(f"{where}.EvaluationWindowSec: one of {RATE_WINDOWS}")
        aggregate = str(body.get("AggregateKeyType", "IP"))
        if aggregate not in ("IP", "FORWARDED_IP", "CONSTANT"):
            raise WebAclError(f"{where}.AggregateKeyType: {aggregate} is not supported locally")
        forwarded = None
        if aggregate == "FORWARDED_IP":
            fwd = _req(body, "ForwardedIPConfig", where)
            forwarded = ForwardedIp(str(fwd["HeaderName"]), str(fwd["FallbackBehavior"]))
        scope = body.get("ScopeDownStatement")
        scope_down = (
            _statement(scope, f"{where}.ScopeDownStatement", reference, rule) if scope else None
        )
        return RateBased(f"{rule}:{path}", limit, window, aggregate, forwarded, scope_down)
    if kind == "SizeConstraintStatement":
        return SizeConstraint(
            _inspect(body, where),
            str(_req(body, "ComparisonOperator", where)),
            int(_req(body, "Size", where)),
        )
    if kind == "LabelMatchStatement":
        return LabelMatch(str(_req(body, "Key", where)))
    raise WebAclError(f"{where}: not supported by the local engine")


def _inspect(body: Mapping[str, Any], where: str) -> _Inspect:
    field_spec = _req(body, "FieldToMatch", where)
    names: list[tuple[int, str]] = []
    raw_transforms = _req(body, "TextTransformations", where)
    if len(raw_transforms) > 10:
        raise WebAclError(f"{where}.TextTransformations: at most 10")
    for i, t in enumerate(raw_transforms):
        kind = str(t.get("Type"))
        if kind not in _TRANSFORM_NAMES:
            raise WebAclError(f"{where}.TextTransformations[{i}].Type: {kind} is not supported")
        names.append((int(t.get("Priority", i)), kind))
    names.sort()
    target = _intern(_field(field_spec, f"{where}.FieldToMatch"))
    inspect = _Inspect(target, tuple(n for _, n in names))
    return _intern(inspect)


_INTERNED: dict[Any, Any] = {}
_T = TypeVar("_T")


def _intern(item: _T) -> _T:
    """One object per distinct field / inspection, so the per-request memo of
    :class:`EvalContext` (keyed by object id) is shared by equal ones."""
    found = _INTERNED.get(item)
    if found is None:
        if len(_INTERNED) > 4096:
            _INTERNED.clear()
        found = _INTERNED[item] = item
    return found


def _field(spec: Any, where: str) -> Field:
    if not isinstance(spec, Mapping) or len(spec) != 1:
        raise WebAclError(f"{where}: exactly one field")
    ((kind, body),) = spec.items()
    body = body or {}
    if kind in ("UriPath", "QueryString", "AllQueryArguments", "Method"):
        return Field(kind)
    if kind in ("SingleQueryArgument", "SingleHeader"):
        return Field(kind, name=str(_req(body, "Name", f"{where}.{kind}")))
    if kind == "Body":
        return Field(kind, oversize=str(body.get("OversizeHandling", "CONTINUE")))
    if kind in ("Cookies", "Headers"):
        pattern = body.get("MatchPattern") or {}
        included = tuple(pattern.get("IncludedCookies") or pattern.get("IncludedHeaders") or ())
        if pattern.get("ExcludedCookies") or pattern.get("ExcludedHeaders"):
            raise WebAclError(f"{where}.{kind}.MatchPattern: exclusions are not supported locally")
        return Field(
            kind,
            oversize=str(body.get("OversizeHandling", "CONTINUE")),
            scope=str(body.get("MatchScope", "ALL")),
            included=included,
        )
    raise WebAclError(f"{where}.{kind}: not supported by the local engine")
