"""The edge configuration read from the solution's SAM template: one source of truth.

The local proxy evaluates exactly the WebACL the template deploys (``AWS::WAFv2::WebACL``
``Properties``), with the template's IP sets and regex pattern sets, and serves the
distribution's cache behaviours with the template's cache policies. Intrinsics are resolved
the way the local runtime resolves them: ``Ref`` to a parameter (defaults, then overrides),
``Fn::GetAtt X.Arn`` of a WAF set to its logical id (the key of the local set store).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stratus.solutions.edge.domain.cache import CachePolicy

TEMPLATE = Path(__file__).resolve().parent / "infra" / "template.yaml"


class EdgeConfigError(ValueError):
    """The template cannot be read into an edge configuration."""


@dataclass(frozen=True, slots=True)
class Behaviour:
    """A cache behaviour: path pattern, origin id, cache policy, whether JWT is required."""

    path_pattern: str
    origin: str  # "static" or "dynamic"
    policy: CachePolicy
    authorize: bool
    methods: tuple[str, ...]

    def matches(self, path: str) -> bool:
        """CloudFront path patterns: ``*`` and ``?`` wildcards, case-sensitive."""
        return self.path_pattern == "*" or fnmatch.fnmatchcase(path, self.path_pattern)


@dataclass(frozen=True, slots=True)
class EdgeConfig:
    """What the proxy needs from the template."""

    web_acl: Mapping[str, Any]
    ip_sets: Mapping[str, tuple[str, ...]]
    regex_sets: Mapping[str, tuple[str, ...]]
    behaviours: tuple[Behaviour, ...]  # ordered; the default behaviour last
    parameters: Mapping[str, str]

    def behaviour(self, path: str) -> Behaviour:
        """The first behaviour whose pattern matches ``path`` (the default matches all)."""
        for behaviour in self.behaviours:
            if behaviour.matches(path):
                return behaviour
        return self.behaviours[-1]


def decode(path: Path = TEMPLATE) -> dict[str, Any]:
    """The template as plain data (``!Ref`` and friends become ``{"Ref": ...}``)."""
    import cfnlint.decode

    content, matches = cfnlint.decode.decode(str(path))
    if content is None:
        raise EdgeConfigError(f"{path}: {'; '.join(str(m) for m in matches)}")
    return dict(content)


def load(path: Path = TEMPLATE, parameters: Mapping[str, str] | None = None) -> EdgeConfig:
    """Read the edge configuration; ``parameters`` override the template's defaults."""
    template = decode(path)
    params = {
        name: str(spec.get("Default", ""))
        for name, spec in (template.get("Parameters") or {}).items()
    }
    params.update(parameters or {})
    resources: Mapping[str, Any] = template.get("Resources") or {}

    def resolve(value: Any) -> Any:
        if isinstance(value, list):
            return [resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return params.get(arg, arg)
            if key == "Fn::GetAtt":
                target = arg[0] if isinstance(arg, list) else str(arg).split(".")[0]
                return str(target)
            if key == "Fn::Sub":
                text = arg if isinstance(arg, str) else arg[0]
                for name, val in params.items():
                    text = text.replace("${" + name + "}", val)
                return text.replace("${AWS::StackName}", "edge")
        return {k: resolve(v) for k, v in value.items()}

    acls = [r for r in resources.values() if r.get("Type") == "AWS::WAFv2::WebACL"]
    if len(acls) != 1:
        raise EdgeConfigError(f"{path}: expected exactly one AWS::WAFv2::WebACL")
    web_acl = resolve(acls[0]["Properties"])
    ip_sets = {
        logical: tuple(resolve(r["Properties"].get("Addresses") or []))
        for logical, r in resources.items()
        if r.get("Type") == "AWS::WAFv2::IPSet"
    }
    regex_sets = {
        logical: tuple(resolve(r["Properties"].get("RegularExpressionList") or []))
        for logical, r in resources.items()
        if r.get("Type") == "AWS::WAFv2::RegexPatternSet"
    }
    return EdgeConfig(web_acl, ip_sets, regex_sets, _behaviours(resources, resolve), dict(params))


def _policy(resources: Mapping[str, Any], ref: Any, resolve: Any) -> CachePolicy:
    logical = ref.get("Ref") if isinstance(ref, dict) else None
    if logical is None or logical not in resources:
        # managed policies by id: CachingDisabled, else treat as CachingOptimized
        if ref == "4135ea2d-6df8-44a3-9df3-4b5a84be39ad":
            return CachePolicy(0, 0, 0)
        return CachePolicy()
    cfg = resolve(resources[logical]["Properties"]["CachePolicyConfig"])
    query = (cfg.get("ParametersInCacheKeyAndForwardedToOrigin") or {}).get(
        "QueryStringsConfig", {}
    )
    return CachePolicy(
        int(cfg.get("MinTTL", 0)),
        int(cfg.get("DefaultTTL", 86400)),
        int(cfg.get("MaxTTL", 31536000)),
        query.get("QueryStringBehavior", "none") != "none",
    )


def _behaviours(resources: Mapping[str, Any], resolve: Any) -> tuple[Behaviour, ...]:
    dists = [r for r in resources.values() if r.get("Type") == "AWS::CloudFront::Distribution"]
    if len(dists) != 1:
        raise EdgeConfigError("expected exactly one AWS::CloudFront::Distribution")
    config = dists[0]["Properties"]["DistributionConfig"]
    origins = {o["Id"]: o for o in config["Origins"]}

    def kind(origin_id: str) -> str:
        return "static" if "S3OriginConfig" in origins[origin_id] else "dynamic"

    found: list[Behaviour] = []
    for raw in [*(config.get("CacheBehaviors") or []), config["DefaultCacheBehavior"]]:
        associations = raw.get("LambdaFunctionAssociations") or []
        found.append(
            Behaviour(
                path_pattern=str(raw.get("PathPattern", "*")),
                origin=kind(raw["TargetOriginId"]),
                policy=_policy(resources, raw.get("CachePolicyId"), resolve),
                authorize=any(a.get("EventType") == "viewer-request" for a in associations),
                methods=tuple(raw.get("AllowedMethods") or ("GET", "HEAD")),
            )
        )
    return tuple(found)
