"""A search's space: a few runner options, each a range (`SearchParameter`), spelled
``lr=1e-4:3e-2:log`` or ``max_epochs=10:40:int`` on the command line (`parse_space`); and the
pruners that may stop its trials early (`PRUNERS`, ``--pruner``). Importing this module loads
neither Lightning nor the models, so that ``tune.py`` refuses a bad search before them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import optuna

from hqnn_lightning.run.option_table import option_table
from hqnn_lightning.run.options import RUNNER
from hqnn_lightning.run.signatures import option_flag

PRUNERS: dict[str, Callable[[], optuna.pruners.BasePruner]] = {
    "none": optuna.pruners.NopPruner,
    "median": optuna.pruners.MedianPruner,
    "hyperband": optuna.pruners.HyperbandPruner,
}
"""``--pruner`` name -> Optuna's pruner, with Optuna's defaults (the median pruner prunes
nothing before 5 trials finished; Hyperband takes the first trial's epochs as its most)."""


@dataclass(frozen=True)
class SearchParameter:
    """One option searched over a range.

    Args:
        name: A runner option (``lr``, ``weight_decay``, ``max_epochs``, ``q_lr``).
        low: The smallest value.
        high: The largest value.
        log: Drawn uniformly in the logarithm (needs ``low > 0``).
        integer: Integer values (the option must take them).
    """

    name: str
    low: float
    high: float
    log: bool = False
    integer: bool = False

    @property
    def spelling(self) -> str:
        """The command-line spelling, ``lr=0.0001:0.03:log``."""
        flags = [":int"] * self.integer + [":log"] * self.log
        return f"{self.name}={self.low:g}:{self.high:g}{''.join(flags)}"

    def suggest(self, trial: optuna.Trial) -> float | int:
        """The trial's value of this option."""
        if self.integer:
            return trial.suggest_int(self.name, int(self.low), int(self.high), log=self.log)
        return trial.suggest_float(self.name, self.low, self.high, log=self.log)


def parse_space(items: Sequence[str]) -> tuple[SearchParameter, ...]:
    """Reads ``NAME=LOW:HIGH[:log][:int]`` items (``lr=1e-4:3e-2:log``).

    Raises:
        ValueError: an item is malformed, names an option the runner does not have or names
            one twice, or its range is empty, not positive on a log scale, or not integer
            with ``:int``; one line naming the item.
    """
    known = set(RUNNER) | {option.name for option in option_table().options}
    space: list[SearchParameter] = []
    for item in items:
        name, _, bounds = item.partition("=")
        name = name.strip().replace("-", "_")
        low, _, rest = bounds.partition(":")
        high, *flags = rest.split(":") if rest else [""]
        if not name or not low or not high or set(flags) - {"log", "int"}:
            raise ValueError(f"--space {item!r}: expected NAME=LOW:HIGH[:log][:int]")
        if name not in known:
            raise ValueError(f"--space {item!r}: experiments/run.py has no option --{name}")
        if name in {parameter.name for parameter in space}:
            raise ValueError(f"--space {item!r}: {name} is searched twice")
        try:
            parameter = SearchParameter(name, float(low), float(high), "log" in flags)
        except ValueError:
            raise ValueError(f"--space {item!r}: LOW and HIGH must be numbers") from None
        if "int" in flags:
            if not (parameter.low.is_integer() and parameter.high.is_integer()):
                raise ValueError(f"--space {item!r}: :int needs integer bounds")
            parameter = SearchParameter(name, parameter.low, parameter.high, parameter.log, True)
        if not parameter.low < parameter.high:
            raise ValueError(f"--space {item!r}: LOW must be below HIGH")
        if parameter.log and parameter.low <= 0:
            raise ValueError(f"--space {item!r}: a log scale needs LOW > 0")
        space.append(parameter)
    if not space:
        raise ValueError("--space: give at least one NAME=LOW:HIGH[:log][:int]")
    return tuple(space)


def option_arguments(values: dict[str, float | int]) -> list[str]:
    """``{"lr": 0.003}`` as runner arguments, ``["--lr", "0.003"]``."""
    return [part for name, value in values.items() for part in (option_flag(name), repr(value))]
