"""Optional packages: importing one, or saying in one line which ``pip install`` extra of
``pyproject.toml`` brings it."""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType


class MissingPackageError(ImportError):
    """An optional package is not installed; the message names it and its extra."""


def install_hint(package: str, extra: str | None) -> str:
    """``needs the PACKAGE package: pip install 'hqnn_lightning[EXTRA]'``; with ``extra``
    ``None`` (a dependency of the package itself, missing from a broken install), ``pip
    install PACKAGE``."""
    command = f"pip install 'hqnn_lightning[{extra}]'" if extra else f"pip install {package}"
    return f"needs the {package} package: {command}"


def missing_package(what: str, package: str, extra: str | None) -> MissingPackageError:
    """The error for ``what`` (``"--download true"``, ``"quantum device 'qiskit.aer'"``)
    without ``package``: ``WHAT needs the PACKAGE package: pip install ...``."""
    return MissingPackageError(f"{what} {install_hint(package, extra)}")


def import_optional(module: str, what: str, package: str, extra: str | None) -> ModuleType:
    """Imports ``module``, which the distribution ``package`` installs.

    Raises:
        MissingPackageError: ``module`` (or a package above it) is not installed; the
            message says ``what`` needs it and the extra that installs it
            (`missing_package`). An import error from inside an installed package is
            raised as it is.
    """
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as error:
        if error.name is None or not f"{module}.".startswith(f"{error.name}."):
            raise
        raise missing_package(what, package, extra) from None


def is_installed(module: str) -> bool:
    """Whether the top-level package of ``module`` can be imported, found without importing
    it."""
    return importlib.util.find_spec(module.partition(".")[0]) is not None
