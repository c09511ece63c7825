"""Models, datasets and circuit parts registered outside the package, found by the runner.

Two ways, both before the parser is built, so that ``--help`` and the options' choices
(``--entangler``, ``--model``) include what they register:

- ``--import MODULE`` (repeatable; or ``import: [MODULE, ...]`` in a ``--config`` file or in
  the ``config.yaml`` of the run that ``--resume`` or ``--evaluate`` names): the module is
  imported, and registers what it defines (``@MODELS.register``, ``@ENTANGLERS.register``);
- an installed package's entry points in the group `PLUGIN_GROUP`, loaded on every run::

      [project.entry-points."hqnn_lightning.plugins"]
      my_circuits = "my_package.circuits"
"""

from __future__ import annotations

import importlib
import importlib.metadata
from collections.abc import Iterable, Sequence
from functools import cache
from pathlib import Path

import yaml

from hqnn_lightning.experiment.options import PLUGIN_GROUP
from hqnn_lightning.utils.errors import error_summary

IMPORT_FLAG = "--import"


class PluginError(ImportError):
    """A module given with ``--import``, or a `PLUGIN_GROUP` entry point, failed to import."""


@cache
def load_entry_points() -> tuple[str, ...]:
    """Loads every entry point of `PLUGIN_GROUP`, once per process.

    Returns:
        Their names.

    Raises:
        PluginError: one failed to import; the message names it.
    """
    names = []
    for entry_point in importlib.metadata.entry_points(group=PLUGIN_GROUP):
        try:
            entry_point.load()
        except Exception as error:
            raise PluginError(
                f"the {PLUGIN_GROUP} entry point {entry_point.name!r} ({entry_point.value}) "
                f"failed to import: {error_summary(error)}"
            ) from None
        names.append(entry_point.name)
    return tuple(names)


def import_modules(modules: Iterable[str]) -> None:
    """Imports ``modules`` (dotted names, found on ``sys.path``), in order.

    Raises:
        PluginError: one failed to import; the message names it.
    """
    for module in modules:
        try:
            importlib.import_module(module)
        except Exception as error:
            hint = ""
            if "/" in module or module.endswith(".py"):
                hint = "; give a module's dotted name, found on sys.path (PYTHONPATH), not a file"
            raise PluginError(
                f"{IMPORT_FLAG} {module}: the module failed to import: {error_summary(error)}{hint}"
            ) from None


def modules_to_import(argv: Sequence[str]) -> list[str]:
    """The modules that ``argv`` asks for: ``--import MODULE`` (``--import=MODULE``,
    ``--import+ MODULE``, ``--import [A,B]``), then the ``import`` lists of its ``--config``
    files and of the run that ``--resume`` or ``--evaluate`` names, each module once."""
    modules: list[str] = []
    for flag, value in zip(argv, [*argv[1:], None], strict=False):
        flag, _, attached = flag.partition("=")
        value = attached or value
        if value is None:
            continue
        if flag in (IMPORT_FLAG, IMPORT_FLAG + "+"):
            loaded = yaml.safe_load(value) if value.startswith("[") else value
            modules += loaded if isinstance(loaded, list) else [value]
        elif flag == "--config":
            modules += _import_list(Path(value))
        elif flag in ("--resume", "--evaluate") and Path(value).exists():
            path = Path(value)
            run_dir = path if path.is_dir() else path.parent.parent
            modules += _import_list(run_dir / "config.yaml")
    return list(dict.fromkeys(str(module) for module in modules))


def appended_imports(argv: Sequence[str]) -> list[str]:
    """``argv`` with each ``--import`` (``--import=``) spelled ``--import+`` (``--import+=``), so
    that jsonargparse appends each module, or list of modules, to those given before (and to a
    ``--config`` file's) rather than replace them."""
    return [
        IMPORT_FLAG + "+" + word[len(IMPORT_FLAG) :]
        if word.partition("=")[0] == IMPORT_FLAG
        else word
        for word in argv
    ]


def _import_list(path: Path) -> list[str]:
    """The ``import`` list of the YAML file ``path``; ``[]`` when it has none or cannot be
    read (the parser then says what is wrong with it).

    Raises:
        PluginError: its ``import`` is not a list of module names.
    """
    if not path.is_file():  # a pipe would never end
        return []
    try:
        values = yaml.safe_load(path.read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return []
    modules = values.get("import") if isinstance(values, dict) else None
    if modules is None:
        return []
    if not isinstance(modules, list) or not all(isinstance(name, str) for name in modules):
        raise PluginError(
            f"{path}: import: {modules!r} is not a list of module names; write e.g. "
            "import: [my_package.models]"
        )
    return modules
