"""WAFv2 regex pattern sets through boto3 (the aws target of PatternSetStore).

``PATTERN_SET`` is what CloudFormation's ``Ref`` of an ``AWS::WAFv2::RegexPatternSet`` gives:
``name|id|scope``. Updates send the lock token of the last read; WAF answers
``WAFOptimisticLockException`` when someone changed the set meanwhile.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from stratus.solutions.edge.patternsets import PatternSet, PatternSetLockedError


class Wafv2PatternSetStore:
    """Regex pattern sets of CLOUDFRONT-scoped WAF (client in us-east-1)."""

    def __init__(self, client: Any = None) -> None:
        if client is None:
            import boto3

            client = boto3.client("wafv2", region_name="us-east-1")
        self._client = client

    @staticmethod
    def _parts(ref: str) -> tuple[str, str, str]:
        name, _, rest = ref.partition("|")
        ident, _, scope = rest.partition("|")
        return name, ident, scope or "CLOUDFRONT"

    def get(self, name: str) -> PatternSet:
        set_name, ident, scope = self._parts(name)
        got = self._client.get_regex_pattern_set(Name=set_name, Id=ident, Scope=scope)
        patterns = tuple(r["RegexString"] for r in got["RegexPatternSet"]["RegularExpressionList"])
        return PatternSet(name, patterns, str(got["LockToken"]))

    def update(self, name: str, patterns: Sequence[str], lock_token: str) -> str:
        set_name, ident, scope = self._parts(name)
        try:
            got = self._client.update_regex_pattern_set(
                Name=set_name,
                Id=ident,
                Scope=scope,
                RegularExpressionList=[{"RegexString": p} for p in patterns],
                LockToken=lock_token,
            )
        except self._client.exceptions.WAFOptimisticLockException as exc:
            raise PatternSetLockedError(
                f"pattern set {set_name} changed since it was read"
            ) from exc
        return str(got["NextLockToken"])
