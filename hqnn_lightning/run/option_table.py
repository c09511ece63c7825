"""What the command line knows of the registered models, datasets and circuit parts (their
names, each constructor's arguments and the value each gets unset, and the options derived
from them), saved with the package so that ``--help`` and a refused option need not import
the models: importing them loads Lightning and PennyLane, 3-4 s on two cores.

`option_table` derives the table from the registries when they are imported already (a
plugin, ``--import`` or a script imported them, so what they registered is in it); otherwise
it reads `TABLE_FILE` when the digest of the sources it was derived from (`SOURCES`) is the
digest of the sources now, and derives it when not. ``python -m
hqnn_lightning.run.option_table`` (``make options``) writes the file; a test checks it is
current.
"""

from __future__ import annotations

import ast
import hashlib
import importlib
import json
import sys
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from hqnn_lightning.preflight.device_requests import DeviceCatalogue, DeviceFacts
from hqnn_lightning.run.signatures import ConstructorOption

PACKAGE = Path(__file__).resolve().parents[1]
TABLE_FILE = Path(__file__).with_name("option_table.json")
SOURCES = (
    "models",
    "data",
    "quantum",
    "utils",
    "preflight",
    "run/signatures.py",
    "run/option_table.py",
)
"""The package's folders and files the table is derived from (relative to the package)."""

REGISTRIES = ("hqnn_lightning.models", "hqnn_lightning.data", "hqnn_lightning.quantum")
"""The packages whose import fills the registries (and which a plugin imports to register
in them); imported already, the table is derived."""

TEST_VARIANT_SUFFIX = "_tiny"
"""Registered names ending so are the test suite's small variants (``hybrid_tiny``): the
help and the messages leave them out."""

_TYPE_NAMES = {"typing": typing, "NoneType": type(None), "__builtins__": {}} | {
    kind.__name__: kind for kind in (bool, dict, float, int, list, str, tuple)
}
"""What a saved option type (its ``repr``) may name."""


@dataclass(frozen=True)
class RegistryTable:
    """One registry as the command line reads it.

    Args:
        kind: ``"model"`` or ``"dataset"``.
        arguments: ``{name: {argument it takes as an option: the value it gets unset}}``.
        variant_arguments: ``{name: the arguments its registered variant sets}``.
        model_defaults: ``{dataset: the model options it suggests}`` (datasets only).
        required: ``{name: the arguments its constructor cannot do without}``.
        input_problems: ``{name: where its input check lives, "module:function"}``
            (`ImageClassifier.input_problem`, `ImageClassificationDataModule.input_problem`),
            ``None`` for one without a check that can be imported by name.
        controls: ``{name: its controls}``, for the names registered with some.
    """

    kind: str
    arguments: Mapping[str, Mapping[str, Any]]
    variant_arguments: Mapping[str, frozenset[str]]
    model_defaults: Mapping[str, Mapping[str, Any]]
    required: Mapping[str, frozenset[str]]
    input_problems: Mapping[str, str | None]
    controls: Mapping[str, tuple[str, ...]]

    def names(self) -> list[str]:
        """The registered names, sorted."""
        return sorted(self.arguments)

    def __contains__(self, name: object) -> bool:
        return name in self.arguments

    def accepted_arguments(self, name: str) -> set[str]:
        """The arguments ``name``'s constructor takes as options.

        Raises:
            KeyError: ``name`` is unknown; the message lists the known names.
        """
        return set(self._arguments(name))

    def default(self, name: str, argument: str) -> Any:
        """The value ``name`` gives ``argument`` when it is not set."""
        return self._arguments(name)[argument]

    def _arguments(self, name: str) -> Mapping[str, Any]:
        try:
            return self.arguments[name]
        except KeyError:
            known = ", ".join(listed_names(self.names()))
            raise KeyError(f"unknown {self.kind} {name!r}; known: {known}") from None


@dataclass(frozen=True)
class OptionTable:
    """The registries' names and arguments and the options derived from them.

    Args:
        models: The model registry.
        datasets: The DataModule registry.
        parts: ``{constructor argument: the registered names of its circuit part}``.
        options: Every constructor argument as an option (`signatures.registered_arguments`).
        devices: The known quantum devices' facts (`quantum.devices.device_catalogue`).
    """

    models: RegistryTable
    datasets: RegistryTable
    parts: Mapping[str, tuple[str, ...]]
    options: tuple[ConstructorOption, ...]
    devices: DeviceCatalogue


def listed_names(names: Iterable[str]) -> list[str]:
    """``names`` without the test variants (`TEST_VARIANT_SUFFIX`)."""
    return [name for name in names if not name.endswith(TEST_VARIANT_SUFFIX)]


def option_table() -> OptionTable:
    """The table of what is registered now: derived when the registries are imported, else
    the saved one when it is current, else derived."""
    if any(name in sys.modules for name in REGISTRIES):
        return derived_option_table()
    return _package_table() or derived_option_table()


@cache
def _package_table() -> OptionTable | None:
    """`saved_option_table` of `TABLE_FILE`, read and its sources hashed once a process (a
    command line asks for the table four times before its work)."""
    return saved_option_table()


def derived_option_table() -> OptionTable:
    """The table derived from the registries (imported here), for the names registered now
    and the devices known now."""
    from hqnn_lightning.quantum.devices import device_catalogue
    from hqnn_lightning.run.options import registered_names

    return OptionTable(*_derived(*registered_names()), device_catalogue().plain())


@cache
def _derived(
    models: tuple[str, ...],
    datasets: tuple[str, ...],
    parts: tuple[tuple[str, tuple[str, ...]], ...],
) -> tuple[RegistryTable, RegistryTable, dict[str, tuple[str, ...]], tuple[ConstructorOption, ...]]:
    """`derived_option_table`'s registries, parts and options for these registered names (the
    cache's key); the devices, which are not registered by name, are read at each call."""
    from hqnn_lightning.data import DATAMODULES
    from hqnn_lightning.models import MODELS
    from hqnn_lightning.run.options import FROM_DATA, constructor_options, data_model_defaults

    return (
        _registry_table(MODELS, frozenset(FROM_DATA), lambda name: {}),
        _registry_table(DATAMODULES, frozenset(), data_model_defaults),
        dict(parts),
        constructor_options(),
    )


def _registry_table(
    registry: Any, skipped: frozenset[str], suggested: Callable[[str], dict[str, Any]]
) -> RegistryTable:
    from hqnn_lightning.run.signatures import argument_default, required_arguments

    names = registry.names()
    return RegistryTable(
        registry.kind,
        {
            name: {
                argument: argument_default(registry, name, argument)
                for argument in sorted(registry.accepted_arguments(name) - skipped)
            }
            for name in names
        },
        {name: frozenset(registry.defaults(name)) for name in names},
        {name: suggested(name) for name in names},
        {name: required_arguments(registry, name) - skipped for name in names},
        {name: function_path(getattr(registry.get(name), "input_problem", None)) for name in names},
        registry.controls(),
    )


def function_path(function: Callable[..., Any] | None) -> str | None:
    """``"module:qualified.name"`` of ``function``, when importing that finds it again; else
    ``None`` (a lambda, a function defined inside another)."""
    if function is None or "<" in function.__qualname__:
        return None
    return f"{function.__module__}:{function.__qualname__}"


def imported_function(path: str) -> Callable[..., Any]:
    """The function `function_path` gave ``path``."""
    module, _, name = path.partition(":")
    found: Any = importlib.import_module(module)
    for part in name.split("."):
        found = getattr(found, part)
    return found


def sources_digest() -> str:
    """SHA-256 of the `SOURCES` files' paths and contents."""
    digest = hashlib.sha256()
    for source in SOURCES:
        path = PACKAGE / source
        for file in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            digest.update(file.relative_to(PACKAGE).as_posix().encode() + b"\0")
            digest.update(file.read_bytes() + b"\0")
    return digest.hexdigest()


def saved_option_table(path: Path = TABLE_FILE) -> OptionTable | None:
    """The table saved in ``path``; ``None`` when there is none or the sources have changed
    since it was written."""
    try:
        saved = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if saved.get("sources") != sources_digest():
        return None
    return OptionTable(
        _registry(saved["models"]),
        _registry(saved["datasets"]),
        {argument: tuple(names) for argument, names in saved["parts"].items()},
        tuple(_option(option) for option in saved["options"]),
        DeviceCatalogue(
            {name: DeviceFacts.from_record(facts) for name, facts in saved["devices"].items()},
            tuple(saved["noise_channels"]),
        ),
    )


def write_option_table(path: Path = TABLE_FILE) -> None:
    """Saves `derived_option_table` with the digest of its sources in ``path``.

    Raises:
        ValueError: a default or an option type would not read back as itself.
    """
    table = derived_option_table()
    saved = {
        "sources": sources_digest(),
        "models": _registry_record(table.models),
        "datasets": _registry_record(table.datasets),
        "parts": {argument: list(names) for argument, names in table.parts.items()},
        "options": [_option_record(option) for option in table.options],
        "devices": {name: facts.record() for name, facts in table.devices.devices.items()},
        "noise_channels": list(table.devices.noise_channels),
    }
    path.write_text(json.dumps(saved, indent=1, sort_keys=True) + "\n")
    if saved_option_table(path) != table:
        raise ValueError(f"{path}: the saved table does not read back as the derived one")


def _literal(value: Any) -> str:
    text = repr(value)
    if ast.literal_eval(text) != value:
        raise ValueError(f"{text} does not read back as itself")
    return text


def _registry_record(table: RegistryTable) -> dict[str, Any]:
    return {
        "kind": table.kind,
        "arguments": {
            name: {argument: _literal(value) for argument, value in arguments.items()}
            for name, arguments in table.arguments.items()
        },
        "variant_arguments": {name: sorted(set_) for name, set_ in table.variant_arguments.items()},
        "model_defaults": {
            name: {argument: _literal(value) for argument, value in defaults.items()}
            for name, defaults in table.model_defaults.items()
        },
        "required": {name: sorted(set_) for name, set_ in table.required.items()},
        "input_problems": dict(table.input_problems),
        "controls": {name: list(controls) for name, controls in table.controls.items()},
    }


def _registry(record: dict[str, Any]) -> RegistryTable:
    return RegistryTable(
        record["kind"],
        {
            name: {argument: ast.literal_eval(text) for argument, text in arguments.items()}
            for name, arguments in record["arguments"].items()
        },
        {name: frozenset(names) for name, names in record["variant_arguments"].items()},
        {
            name: {argument: ast.literal_eval(text) for argument, text in defaults.items()}
            for name, defaults in record["model_defaults"].items()
        },
        {name: frozenset(names) for name, names in record["required"].items()},
        dict(record["input_problems"]),
        {name: tuple(controls) for name, controls in record["controls"].items()},
    )


def _option_record(option: ConstructorOption) -> dict[str, Any]:
    if _read_type(repr(option.type)) != option.type:
        raise ValueError(f"{option.name}'s type {option.type!r} does not read back as itself")
    return {
        "name": option.name,
        "type": repr(option.type),
        "help": option.help,
        "description": option.description,
        "takers": {kind: list(names) for kind, names in option.takers.items()},
        "choices": None if option.choices is None else list(option.choices),
    }


def _option(record: dict[str, Any]) -> ConstructorOption:
    return ConstructorOption(
        record["name"],
        _read_type(record["type"]),
        record["help"],
        {kind: tuple(names) for kind, names in record["takers"].items()},
        None if record["choices"] is None else tuple(record["choices"]),
        record["description"],
    )


def _read_type(text: str) -> Any:
    """The type whose ``repr`` is ``text``: evaluated with no builtins but `_TYPE_NAMES`, on
    the package's own file (types have no literal form `ast.literal_eval` reads)."""
    return eval(text, dict(_TYPE_NAMES))


if __name__ == "__main__":
    write_option_table()
    print(f"wrote {TABLE_FILE}")
