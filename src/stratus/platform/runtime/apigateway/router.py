"""Route matching as API Gateway REST APIs do it: resource first, then method.

Copies AWS: a literal segment beats ``{param}``, which beats a greedy ``{proxy+}``; the greedy
variable needs at least one segment (``/{proxy+}`` does not match ``/``); the resource is
chosen first and then the method on it (exact method, else ``ANY``), so a method missing on
the most specific resource is NOT handed to a less specific ``{proxy+}``: API Gateway answers
403 "Missing Authentication Token", and so does :class:`Router` (by returning no route).
Departure: a trailing slash is ignored (``/items/`` is ``/items``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import unquote

from stratus.platform.runtime.apigateway.model import RouteSpec

_LITERAL, _PARAM, _GREEDY = 0, 1, 2
_VAR = re.compile(r"^\{([A-Za-z0-9_.\-]+)(\+?)\}$")


@dataclass(frozen=True, slots=True)
class _Segment:
    kind: int
    text: str  # the literal, or the variable name


@dataclass(frozen=True, slots=True)
class _Resource:
    path: str
    segments: tuple[_Segment, ...]
    methods: Mapping[str, RouteSpec]

    @property
    def rank(self) -> tuple[int, ...]:
        return tuple(seg.kind for seg in self.segments)


@dataclass(frozen=True, slots=True)
class RouteMatch:
    """The resource a path resolved to, its captured parameters, and the route (if any).

    ``route`` is None when the resource exists but has neither the method nor ``ANY``.
    """

    resource: str
    path_parameters: Mapping[str, str]
    route: RouteSpec | None
    methods: tuple[str, ...]


def _parse(path: str) -> tuple[_Segment, ...]:
    if not path.startswith("/"):
        raise ValueError(f"resource path {path!r} must start with '/'")
    parts = [p for p in path.split("/") if p]
    segments: list[_Segment] = []
    for index, part in enumerate(parts):
        var = _VAR.match(part)
        if var is None:
            if "{" in part or "}" in part:
                raise ValueError(f"resource path {path!r}: bad segment {part!r}")
            segments.append(_Segment(_LITERAL, part))
        elif var.group(2):
            if index != len(parts) - 1:
                raise ValueError(f"resource path {path!r}: greedy variable must be last")
            segments.append(_Segment(_GREEDY, var.group(1)))
        else:
            segments.append(_Segment(_PARAM, var.group(1)))
    return tuple(segments)


def _split(raw_path: str) -> list[str] | None:
    """Decoded segments, or None when the path has an empty segment (``/a//b``)."""
    parts = raw_path.split("/")[1:]
    if parts and parts[-1] == "":
        parts.pop()  # trailing slash
    if any(p == "" for p in parts):
        return None
    return [unquote(p) for p in parts]


def _capture(resource: _Resource, parts: list[str]) -> dict[str, str] | None:
    params: dict[str, str] = {}
    segs = resource.segments
    for index, seg in enumerate(segs):
        if seg.kind == _GREEDY:
            rest = parts[index:]
            if not rest:
                return None
            params[seg.text] = "/".join(rest)
            return params
        if index >= len(parts):
            return None
        if seg.kind == _LITERAL:
            if parts[index] != seg.text:
                return None
        else:
            params[seg.text] = parts[index]
    return params if len(parts) == len(segs) else None


class Router:
    """Resolve ``(method, path)`` to a route of an API; pure and immutable."""

    def __init__(self, routes: Iterable[RouteSpec]) -> None:
        by_path: dict[tuple[_Segment, ...], dict[str, RouteSpec]] = {}
        paths: dict[tuple[_Segment, ...], str] = {}
        for route in routes:
            segments = _parse(route.path)
            methods = by_path.setdefault(segments, {})
            paths.setdefault(segments, route.path)
            method = route.method.upper()
            if method in methods:
                raise ValueError(f"duplicate route {route.key}")
            methods[method] = route
        resources = [_Resource(paths[s], s, m) for s, m in by_path.items()]
        # Most specific first: lexicographic order of segment kinds, literal < param < greedy.
        self._resources = sorted(resources, key=lambda r: r.rank)

    def resolve(self, method: str, raw_path: str) -> RouteMatch | None:
        """The match for a percent-encoded path, or None when no resource matches it."""
        parts = _split(raw_path or "/")
        if parts is None:
            return None
        for resource in self._resources:
            params = _capture(resource, parts)
            if params is None:
                continue
            route = resource.methods.get(method.upper()) or resource.methods.get("ANY")
            return RouteMatch(
                resource=resource.path,
                path_parameters=params,
                route=route,
                methods=tuple(sorted(resource.methods)),
            )
        return None
