"""The authorizer's decision, shared by the Lambda@Edge handler and the local proxy: a valid
token passes; an expired one is redirected to the refresh URL (with the original path and
query as ``redirect_uri``); no or an unusable token is 401; a valid token for someone else is
``deny_status`` (403 by default)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote

from . import rules
from .settings import AuthSettings


@dataclass(frozen=True, slots=True)
class Decision:
    """``status`` 200 (allowed), 302 (``location`` set), 401 or the deny status."""

    status: int
    reason: str
    location: str | None = None

    @property
    def allowed(self) -> bool:
        return self.status == 200


def authorize(
    headers: Mapping[str, str],
    uri: str,
    query: str,
    settings: AuthSettings,
    keys: rules.JwksCache,
    clock: rules.Clock,
) -> Decision:
    """The decision for a request to ``uri?query`` with ``headers`` (lower-case names)."""
    token = rules.token_from(headers, settings.cookie_name)
    if token is None:
        return Decision(401, "missing-token")
    result = rules.validate(token, settings.policy, keys, clock)
    if result.ok:
        return Decision(200, "ok")
    if result.expired:
        back = uri + (f"?{query}" if query else "")
        location = f"{settings.refresh_url}?redirect_uri={quote(back, safe='')}"
        return Decision(302, result.reason, location)
    status = 401 if result.reason in rules.UNAUTHENTICATED else settings.deny_status
    return Decision(status, result.reason)
