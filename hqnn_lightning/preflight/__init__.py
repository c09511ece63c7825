"""What a run's inputs must be, checked without importing torch, Lightning or PennyLane: the
car datasets' directory layouts (`car_layouts`) and arguments (`data_arguments`), a
variational circuit's shape (`circuit_shapes`) and a quantum device request
(`device_requests`).

The library checks its inputs with these same functions, so the command line, which calls
them before importing the library, refuses a mistake in the library's words, in about the time
``import torch`` takes.
"""

from collections.abc import Callable, Mapping
from typing import Any, TypeAlias

InputProblem: TypeAlias = Callable[[Mapping[str, Any]], str | None]
"""A model's or DataModule's ``input_problem``: why its arguments (``{argument: value}``, all
of them, the unset ones at their defaults) cannot be used, as one sentence, or ``None``."""
