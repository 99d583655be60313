"""The regex pattern set port: read and replace a WAF regex pattern set, optimistically locked.

On AWS it is WAFv2 (``GetRegexPatternSet`` → ``UpdateRegexPatternSet`` with the lock token,
:mod:`stratus.solutions.edge.adapters.wafv2`); locally the set lives as one item of the bot
table, replaced with a conditional put on the same kind of lock token, and the running proxy
reads it through :class:`LivePatternSets` (compiled once per lock token: a cached matcher).
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from stratus.platform.ports import ConditionFailedError, TableStore
from stratus.platform.ports.table import Compare, NotExists


class PatternSetLockedError(Exception):
    """Someone else changed the set since it was read (WAFOptimisticLockException)."""


@dataclass(frozen=True, slots=True)
class PatternSet:
    """The patterns of a set and the token that must accompany an update."""

    name: str
    patterns: tuple[str, ...]
    lock_token: str


class PatternSetStore(Protocol):
    """Read and replace regex pattern sets."""

    def get(self, name: str) -> PatternSet:
        """The set (an empty one with an empty lock token when never written)."""
        ...

    def update(self, name: str, patterns: Sequence[str], lock_token: str) -> str:
        """Replace the patterns; returns the next lock token. Raises PatternSetLockedError."""
        ...


class TablePatternSetStore:
    """Local adapter: item ``PK=PATTERNSET, SK=<name>`` in a TableStore."""

    def __init__(self, table: TableStore, initial: Mapping[str, Sequence[str]] | None = None):
        self._table = table
        self._initial = {k: tuple(v) for k, v in (initial or {}).items()}

    def get(self, name: str) -> PatternSet:
        item = self._table.get({"PK": "PATTERNSET", "SK": name})
        if item is None:
            return PatternSet(name, self._initial.get(name, ()), "")
        return PatternSet(name, tuple(item.get("Patterns") or ()), str(item["LockToken"]))

    def update(self, name: str, patterns: Sequence[str], lock_token: str) -> str:
        token = uuid.uuid4().hex
        condition = NotExists("PK") if not lock_token else Compare("LockToken", "=", lock_token)
        try:
            self._table.put(
                {
                    "PK": "PATTERNSET",
                    "SK": name,
                    "Patterns": list(patterns),
                    "LockToken": token,
                },
                condition=condition,
            )
        except ConditionFailedError as exc:
            raise PatternSetLockedError(f"pattern set {name} changed since it was read") from exc
        return token


class LivePatternSets:
    """What the running WAF engine reads: compiled sets, refreshed at most every ``poll_s``
    seconds and recompiled only when the lock token changes."""

    def __init__(self, store: PatternSetStore, names: Sequence[str], poll_s: float = 2.0):
        self._store = store
        self._names = tuple(names)
        self._poll_s = poll_s
        self._compiled: dict[str, tuple[str, re.Pattern[str] | None]] = {}
        self._checked = 0.0
        self._lock = threading.Lock()

    def pattern(self, name: str) -> re.Pattern[str] | None:
        """The compiled alternation of set ``name`` (``None`` when empty or unknown)."""
        now = time.monotonic()
        if now - self._checked > self._poll_s:
            with self._lock:
                if now - self._checked > self._poll_s:
                    self._checked = now
                    self._reload()
        entry = self._compiled.get(name)
        return None if entry is None else entry[1]

    def refresh(self) -> None:
        """Reload now (tests, and after the updater ran in-process)."""
        with self._lock:
            self._checked = time.monotonic()
            self._reload()

    def _reload(self) -> None:
        for name in self._names:
            current = self._store.get(name)
            known = self._compiled.get(name)
            if known is not None and known[0] == current.lock_token and current.lock_token:
                continue
            compiled = None
            if current.patterns:
                try:
                    compiled = re.compile("|".join(f"(?:{p})" for p in current.patterns))
                except re.error:
                    compiled = None  # AWS rejects invalid patterns at update time
            self._compiled[name] = (current.lock_token, compiled)
