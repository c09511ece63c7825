"""A package's exported names imported on first use (PEP 562): importing the package loads
none of its modules, so that a command that needs a few of them, or none, loads no more."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from importlib import import_module
from typing import Any


def lazy_exports(
    package: str, modules: Mapping[str, Sequence[str]]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of ``package`` that export ``modules``' names.

    Args:
        package: The package's ``__name__``.
        modules: ``{module: the names exported from it}``.

    Returns:
        ``__getattr__(name)``: imports ``name`` from its module when first asked for and keeps
        it in the package (``AttributeError`` for a name not exported); ``__dir__()``.
    """
    where = {name: module for module, names in modules.items() for name in names}
    namespace = vars(sys.modules[package])

    def __getattr__(name: str) -> Any:
        if name not in where:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(where[name]), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *where})

    return __getattr__, __dir__
