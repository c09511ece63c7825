"""A name -> constructor registry, used for models and DataModules.

``--model hybrid`` on the command line is a key of a `Registry`, not a branch of an
if/else chain: a new model is one decorated function or class, found by every entry point.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps names to constructors of one kind of object (``"model"``, ``"dataset"``).

    Args:
        kind: What the registered things are; used in error messages.
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._constructors: dict[str, Callable[..., T]] = {}
        self._defaults: dict[str, dict[str, Any]] = {}
        self._controls: dict[str, tuple[str, ...]] = {}

    def register(
        self, name: str, *, control: str | tuple[str, ...] | None = None, **defaults: Any
    ) -> Callable[[Callable[..., T]], Callable[..., T]]:
        """Decorator that registers a class or function under ``name``.

        Args:
            name: The registry key.
            control: The name, or names, of what ``name`` is compared with: a quantum
                model's controls of the same shape (``hybrid`` -> ``hybrid_control``, the
                classical layer, and ``hybrid_separable``, the circuit without entanglement),
                which the report pairs it with.
            **defaults: Keyword arguments that ``name`` passes unless the caller sets them, so
                one class can be registered several times as variants (``hybrid_tiny``).
        """

        def decorator(constructor: Callable[..., T]) -> Callable[..., T]:
            if name in self._constructors:
                raise ValueError(f"{self.kind} {name!r} is already registered")
            self._constructors[name] = constructor
            self._defaults[name] = defaults
            if control is not None:
                self._controls[name] = (control,) if isinstance(control, str) else control
            return constructor

        return decorator

    def names(self) -> list[str]:
        """The registered names, sorted."""
        return sorted(self._constructors)

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __contains__(self, name: object) -> bool:
        return name in self._constructors

    def get(self, name: str) -> Callable[..., T]:
        """The constructor registered under ``name``.

        Raises:
            KeyError: ``name`` is unknown; the message lists the known names.
        """
        try:
            return self._constructors[name]
        except KeyError:
            raise KeyError(
                f"unknown {self.kind} {name!r}; known: {', '.join(self.names())}"
            ) from None

    def accepted_arguments(self, name: str) -> set[str]:
        """Names of the keyword arguments that the constructor of ``name`` takes as options; a
        class whose ``__init__`` passes ``**kwargs`` on also takes those of its parent's
        ``__init__``. Keyword-only arguments are objects passed from a script
        (``HybridVQC(..., circuit=...)``), not options, and are left out."""
        return _keyword_arguments(self.get(name), (inspect.Parameter.POSITIONAL_OR_KEYWORD,))

    def defaults(self, name: str) -> dict[str, Any]:
        """The keyword arguments that the variant ``name`` sets on its constructor."""
        self.get(name)
        return dict(self._defaults[name])

    def controls(self) -> dict[str, tuple[str, ...]]:
        """``{name: its controls}`` for every name registered with a ``control``."""
        return dict(self._controls)

    def create(self, name: str, **kwargs: Any) -> T:
        """Builds ``name`` from ``kwargs`` over its registered defaults.

        ``None`` values are dropped, so the constructor's own defaults survive a command line
        that passes every option.

        Raises:
            KeyError: ``name`` is unknown.
            TypeError: a non-``None`` argument is not one the constructor takes.
        """
        constructor = self.get(name)
        given = {key: value for key, value in kwargs.items() if value is not None}
        accepted = _keyword_arguments(constructor, KEYWORD_KINDS)
        unknown = sorted(set(given) - accepted)
        if unknown:
            raise TypeError(
                f"{self.kind} {name!r} does not take {', '.join(unknown)}; "
                f"it takes {', '.join(sorted(accepted))}"
            )
        return constructor(**{**self._defaults[name], **given})


KEYWORD_KINDS = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


def _keyword_arguments(constructor: Callable[..., Any], kinds: tuple[Any, ...]) -> set[str]:
    parameters = inspect.signature(constructor).parameters.values()
    names = {p.name for p in parameters if p.kind in kinds}
    if inspect.isclass(constructor) and any(p.kind == p.VAR_KEYWORD for p in parameters):
        parent = next(base for base in constructor.__mro__[1:] if "__init__" in vars(base))
        names |= _keyword_arguments(parent, kinds)
    return names
