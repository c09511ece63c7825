"""Models that take a circuit object from a script (``HybridVQC(circuit=...)``,
``QuanvNet(filter=...)``): the checks that keep it from disagreeing with the options that
build the library's circuit, and from being lost in a checkpoint."""

from __future__ import annotations

import inspect
from typing import Any


def passed_again(name: str, value: Any, model: type) -> None:
    """Refuses, in one line, the ``repr`` that hparams recorded of the object argument ``name``
    of ``model``: ``load_from_checkpoint`` passes it back, and the object must be passed again.

    Raises:
        ValueError: ``value`` is a string, the recorded description.
    """
    if isinstance(value, str):
        raise ValueError(
            f"{model.__name__} was built with {name}={value}, an object that checkpoints do not "
            f"hold: pass it again, {model.__name__}.load_from_checkpoint(path, {name}=...)"
        )


def refuse_conflicting_options(
    model: type, name: str, circuit: Any, options: dict[str, Any], implied: dict[str, Any]
) -> None:
    """Refuses ``options`` (the model's arguments that build its library circuit) set beside
    the circuit object given as ``name``: an option conflicts when it differs from ``model``'s
    default and from the value the circuit implies (``implied``: its width).

    Raises:
        ValueError: one line naming the conflicting options and what the circuit gives.
    """
    defaults = inspect.signature(model).parameters
    conflicting = {
        option: value
        for option, value in options.items()
        if value != defaults[option].default and (option not in implied or value != implied[option])
    }
    if conflicting:
        given = ", ".join(f"{option}={value!r}" for option, value in conflicting.items())
        kept = ", ".join(f"{option}={value!r}" for option, value in implied.items())
        raise ValueError(
            f"{model.__name__} got {name}={circuit!r} and {given}, which build the library's "
            f"circuit and would not apply to it: leave them out (the circuit gives {kept})"
        )
