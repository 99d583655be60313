"""Composition root of the edge Lambda handlers: the only place that picks their adapters.

Handlers get the bot table from :mod:`stratus.platform.connect` and the pattern-set store
from :func:`pattern_sets` (WAFv2 on AWS, the bot table locally). The local proxy's own
composition (``stratus up`` and ``stratus edge proxy``) is :mod:`.local`. Handlers read their
environment themselves, so each declares exactly what it reads.
"""

from __future__ import annotations

from stratus.platform import connect
from stratus.platform.ports import TableStore
from stratus.solutions.edge import config as edgeconfig
from stratus.solutions.edge.patternsets import (
    PatternSetStore,
    TablePatternSetStore,
)

# -- handlers ---------------------------------------------------------------------------------


def bot_table(name: str) -> TableStore:
    """The bot user-agent table (the handler's ``BOT_TABLE``)."""
    return connect.table(name)


def pattern_sets(table: TableStore) -> PatternSetStore:
    """WAFv2 regex pattern sets on AWS; the bot table (seeded from the template) locally."""
    if connect.target() == "aws":
        from stratus.solutions.edge.adapters.wafv2 import Wafv2PatternSetStore

        return Wafv2PatternSetStore()
    return TablePatternSetStore(table, edgeconfig.load().regex_sets)
