"""`PartRegistry`: name -> circuit part (an encoding, an entangler, a read-out, an
initialisation), open to parts registered outside the package.

A circuit names its parts by plain strings (so it stays a frozen, picklable, comparable value)
and looks them up here; a researcher adds one from their own file::

    @ENTANGLERS.register("cz_ring")
    class CZRing(Entangler): ...

and ``VariationalClassifierCircuit(4, 2, entangler="cz_ring")`` then builds it, as does
``--entangler cz_ring`` on the runner (``--import`` the file, or install it under the
``hqnn_lightning.plugins`` entry-point group).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")


class PartRegistry(Generic[T]):
    """Maps names to circuit parts of one kind, each an instance of ``base``.

    Args:
        kind: What the parts are (``"entangler"``); used in error messages.
        base: The class every part is an instance of; it gives the parts its defaults.
    """

    def __init__(self, kind: str, base: type[T]) -> None:
        self.kind = kind
        self.base = base
        self._parts: dict[str, T] = {}

    def register(self, name: str) -> Callable[[type[T] | T], type[T] | T]:
        """Decorator that registers a part under ``name``: a subclass of ``base``, built with
        no arguments, or an instance of one. Returns what it decorates, unchanged.

        Raises:
            ValueError: ``name`` is taken, or the part is not a ``base``.
        """

        def decorator(entry: type[T] | T) -> type[T] | T:
            part = entry() if isinstance(entry, type) else entry
            if not isinstance(part, self.base):
                raise ValueError(
                    f"{self.kind} {name!r}: {entry!r} is not a {self.base.__name__}; "
                    f"subclass {self.base.__module__}.{self.base.__name__}"
                )
            if name in self._parts:
                raise ValueError(f"{self.kind} {name!r} is already registered")
            self._parts[name] = part
            return entry

        return decorator

    def unregister(self, name: str) -> None:
        """Removes ``name`` (a test's part, or a plugin's before it registers again)."""
        self.get(name)
        del self._parts[name]

    def get(self, name: str) -> T:
        """The part registered as ``name``.

        Raises:
            ValueError: ``name`` is unknown; the message lists the known names.
        """
        try:
            return self._parts[name]
        except KeyError:
            raise ValueError(
                f"unknown {self.kind} {name!r}; known: {', '.join(self.names())}"
            ) from None

    def names(self) -> list[str]:
        """The registered names, sorted."""
        return sorted(self._parts)

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __contains__(self, name: object) -> bool:
        return name in self._parts

    def __len__(self) -> int:
        return len(self._parts)
