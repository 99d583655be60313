"""Per-invocation environment variables for functions that share one process.

Lambda gives every function its own environment. Locally many functions run as threads of one
process, so ``os.environ`` is replaced (once) by a mapping that consults a context-local
overlay first: inside :func:`overlay`, reads see the function's variables; other threads see
their own. Writes go to the overlay when one is active, else to the real environment.
"""

from __future__ import annotations

import contextvars
import os
from collections.abc import Iterator, Mapping, MutableMapping
from contextlib import contextmanager

_overlay: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar(
    "stratus_env_overlay", default=None
)


class OverlayEnviron(MutableMapping[str, str]):
    """``os.environ`` with a context-local overlay on top of the process environment."""

    def __init__(self, base: MutableMapping[str, str]) -> None:
        self._base = base

    def __getitem__(self, key: str) -> str:
        layer = _overlay.get()
        if layer is not None and key in layer:
            return layer[key]
        return self._base[key]

    def __setitem__(self, key: str, value: str) -> None:
        layer = _overlay.get()
        if layer is not None:
            layer[key] = value
        else:
            self._base[key] = value

    def __delitem__(self, key: str) -> None:
        layer = _overlay.get()
        if layer is not None and key in layer:
            del layer[key]
        else:
            del self._base[key]

    def __iter__(self) -> Iterator[str]:
        layer = _overlay.get() or {}
        yield from layer
        yield from (k for k in self._base if k not in layer)

    def __len__(self) -> int:
        layer = _overlay.get() or {}
        return len(layer) + sum(1 for k in self._base if k not in layer)

    def copy(self) -> dict[str, str]:
        return dict(self)


def _install() -> None:
    if not isinstance(os.environ, OverlayEnviron):
        os.environ = OverlayEnviron(os.environ)  # type: ignore[assignment]  # noqa: B003


@contextmanager
def overlay(variables: Mapping[str, str]) -> Iterator[None]:
    """Within the block, this context sees ``variables`` on top of the process environment."""
    _install()
    token = _overlay.set(dict(variables))
    try:
        yield
    finally:
        _overlay.reset(token)
