"""Registered constructors' arguments as options: the type from the signature, the help from
the ``Args:`` section of the docstring (read with ``docstring_parser``, as jsonargparse does), the
defaults from the signature and the registered variants."""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import docstring_parser
from jsonargparse import ArgumentParser

from hqnn_lightning.experiment.options import option_flag
from hqnn_lightning.utils.registry import Registry


@dataclass(frozen=True)
class ConstructorOption:
    """An option derived from the constructors of registered models or DataModules.

    Args:
        name: The argument's name.
        type: Its type (the union of the constructors' annotations), or ``None``.
        help: Its description, the registered names that take it, and their defaults.
        takers: ``{registry kind: names of the registered constructors that take it}``.
        choices: The values it takes (the names in a registry of circuit parts), or ``None``
            for any value of its type.
        description: What it is, from the docstring, without the registered names.
    """

    name: str
    type: Any
    help: str
    takers: Mapping[str, tuple[str, ...]]
    choices: tuple[str, ...] | None = None
    description: str = ""

    @property
    def flag(self) -> str:
        return option_flag(self.name)


def registered_arguments(
    registries: Iterable[tuple[Registry[Any], frozenset[str]]],
    excluded: frozenset[str],
    choices: Mapping[str, tuple[str, ...]] | None = None,
) -> tuple[ConstructorOption, ...]:
    """One option per argument name taken by any constructor registered in ``registries``,
    sorted by name.

    Args:
        registries: Each registry with the arguments of its constructors that are no options
            (set from elsewhere).
        excluded: Names that are options already.
        choices: ``{argument name: the values it takes}``, whichever constructor declares it.
    """
    found: dict[str, list[tuple[Registry[Any], str, _Argument]]] = {}
    for registry, skipped in registries:
        for name in registry.names():
            for argument in _arguments(registry, name):
                if argument.name not in excluded | skipped:
                    found.setdefault(argument.name, []).append((registry, name, argument))
    choices = choices or {}
    return tuple(
        _constructor_option(name, found[name], choices.get(name)) for name in sorted(found)
    )


@dataclass(frozen=True)
class _Argument:
    name: str
    annotation: Any
    default: Any
    description: str


def _arguments(registry: Registry[Any], name: str) -> Iterator[_Argument]:
    """The keyword arguments of the constructor registered as ``name``: annotation,
    default (the variant's, where it sets one) and docstring description, each from the
    class in the method resolution order that declares the argument."""
    for argument in sorted(registry.accepted_arguments(name)):
        owner = _declaring(registry.get(name), argument)
        yield _Argument(
            argument,
            _annotations(owner).get(argument),
            argument_default(registry, name, argument),
            _descriptions(owner).get(argument, ""),
        )


def argument_default(registry: Registry[Any], name: str, argument: str) -> Any:
    """The value the constructor registered as ``name`` gives ``argument`` when it is not
    passed: the variant's, where it sets one, else the default of the class that declares it
    (``None`` when it has none)."""
    default = _registered_default(registry, name, argument)
    return None if default is inspect.Parameter.empty else default


def required_arguments(registry: Registry[Any], name: str) -> frozenset[str]:
    """The arguments the constructor registered as ``name`` has no default for (its variant
    sets none of them)."""
    return frozenset(
        argument
        for argument in registry.accepted_arguments(name)
        if _registered_default(registry, name, argument) is inspect.Parameter.empty
    )


def _registered_default(registry: Registry[Any], name: str, argument: str) -> Any:
    """`argument_default`, with ``inspect.Parameter.empty`` where there is none."""
    variant = registry.defaults(name)
    if argument in variant:
        return variant[argument]
    return inspect.signature(_declaring(registry.get(name), argument)).parameters[argument].default


def _declaring(constructor: Callable[..., Any], argument: str) -> Callable[..., Any]:
    """The class (or function) whose own signature names ``argument``."""
    if not inspect.isclass(constructor):
        return constructor
    for klass in constructor.__mro__:
        if "__init__" in vars(klass) and argument in inspect.signature(klass).parameters:
            return klass
    raise ValueError(f"no class of {constructor.__name__} declares {argument}")


def _annotations(owner: Callable[..., Any]) -> dict[str, Any]:
    function = owner.__init__ if inspect.isclass(owner) else owner
    return typing.get_type_hints(function)


def _descriptions(owner: Callable[..., Any]) -> dict[str, str]:
    documented = {}
    for text in (inspect.getdoc(owner), getattr(owner.__init__, "__doc__", None)):
        for parameter in docstring_parser.parse(text or "").params:
            documented.setdefault(parameter.arg_name, " ".join(parameter.description.split()))
    return documented


def _constructor_option(
    name: str,
    found: list[tuple[Registry[Any], str, _Argument]],
    choices: tuple[str, ...] | None,
) -> ConstructorOption:
    takers: dict[str, list[str]] = {}
    registered_names: dict[str, list[str]] = {}
    defaults: dict[str, list[str]] = {}
    annotations = []
    for registry, registered, argument in found:
        takers.setdefault(registry.kind, []).append(registered)
        registered_names[registry.kind] = registry.names()
        defaults.setdefault(repr(argument.default), []).append(registered)
        if argument.annotation not in annotations:
            annotations.append(argument.annotation)
    description = next((argument.description for *_, argument in found if argument.description), "")
    description = description.replace("``", "")
    kind = typing.Union[(*annotations, None)]
    return ConstructorOption(
        name,
        kind,
        f"{description} [{_takers_text(takers, registered_names)}; "
        f"default {_defaults_text(defaults)}]",
        {kind_: tuple(names) for kind_, names in takers.items()},
        choices,
        description,
    )


def _takers_text(takers: dict[str, list[str]], registered: dict[str, list[str]]) -> str:
    """``model: hybrid, hybrid_tiny``, or ``every model`` when all registered ones take it."""
    return "; ".join(
        f"every {kind}" if sorted(names) == registered[kind] else f"{kind}: {', '.join(names)}"
        for kind, names in takers.items()
    )


def _defaults_text(defaults: dict[str, list[str]]) -> str:
    """``6`` when all agree, else the most common value and the exceptions:
    ``6, hybrid_tiny: 2``."""
    ordered = sorted(defaults.items(), key=lambda item: -len(item[1]))
    (common, _), rest = ordered[0], ordered[1:]
    return ", ".join([common, *(f"{', '.join(names)}: {value}" for value, names in rest)])


def add_option(
    parser: ArgumentParser,
    flag: str,
    kind: Any,
    default: Any,
    help: str,
    choices: Sequence[str] | None = None,
) -> None:
    """Adds ``flag``; a boolean one may also be given bare (``--deterministic``); one with
    ``choices`` refuses any other value, from the command line as from YAML."""
    if kind in (bool, bool | None):
        parser.add_argument(flag, type=kind, default=default, help=help, nargs="?", const=True)
    elif choices is not None:
        action = parser.add_argument(flag, type=kind, default=default, help=help, choices=choices)
        # jsonargparse checks the value against the type hint itself; the wrapper it puts in
        # `type` for argparse's choices would show in --help as a lambda.
        action.type = None
    else:
        parser.add_argument(flag, type=kind, default=default, help=help)
