"""SecretStore port: Secrets Manager-shaped named secrets, encrypted at rest.

Semantics (tests/contract/test_secrets.py): ``get`` is the only call that returns a secret's
value; ``names`` returns names only; values are encrypted at rest (KMS on AWS, a key file
locally); a missing secret raises NotFoundError.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class SecretStore(Protocol):
    def put(self, name: str, value: str) -> None:
        """Create the secret or store a new version of it."""
        ...

    def get(self, name: str) -> str:
        """The current value."""
        ...

    def delete(self, name: str) -> None:
        """Delete the secret at once (no recovery window); NotFoundError when missing."""
        ...

    def names(self, prefix: str = "") -> list[str]:
        """Names of secrets starting with ``prefix``, sorted; never values."""
        ...
