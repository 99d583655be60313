"""Column lookup shared by the normalisers."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from operator import itemgetter

Getter = Callable[[Sequence[str]], str]


def _empty(_: Sequence[str]) -> str:
    return ""


class Columns:
    """Header positions by name; ``get`` for required columns, ``opt`` for optional ones."""

    def __init__(self, header: Sequence[str], *, key: Callable[[str], str] = str) -> None:
        self._key = key
        self.index = {key(name): i for i, name in enumerate(header)}
        self.header = list(header)

    def has(self, name: str) -> bool:
        return self._key(name) in self.index

    def get(self, *names: str) -> Getter:
        """A getter of the first present column among ``names``; KeyError when none is."""
        for name in names:
            i = self.index.get(self._key(name))
            if i is not None:
                return _getter(i)
        raise KeyError(names[0])

    def opt(self, *names: str) -> Getter:
        """Like :meth:`get`, but a missing column reads as ``""``."""
        try:
            return self.get(*names)
        except KeyError:
            return _empty


def _getter(i: int) -> Getter:
    # Rows reach a normaliser only with as many cells as the header (the ETL checks), so a
    # C-level itemgetter is safe and several times faster than a Python closure.
    return itemgetter(i)
