"""The checks of a variational circuit's shape that need no registered part: at least one
qubit and one layer, and identity blocks only where they can be built.
`VariationalClassifierCircuit` makes them first; `HybridVQC`'s input check (`hybrid_problem`)
makes them on the command line's options before the library is imported."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def check_circuit_shape(n_qubits: int, q_depth: int, identity_blocks: bool, reupload: bool) -> None:
    """Raises ``ValueError`` for fewer than 1 qubit or layer, or identity blocks with one
    layer (its entangling gates would cancel its mirror's) or data re-uploading."""
    if n_qubits < 1:
        raise ValueError(f"n_qubits must be at least 1, got {n_qubits}")
    if q_depth < 1:
        raise ValueError(f"q_depth must be at least 1, got {q_depth}")
    if identity_blocks and (q_depth < 2 or reupload):
        raise ValueError(
            "identity blocks (the default) need q_depth >= 2 (one layer's entangling gates "
            "would cancel its mirror's) and no data re-uploading (re-encodings would sit "
            f"inside the block); got q_depth={q_depth}, reupload={reupload}: "
            "build it with identity_blocks=False (--identity-blocks false) for these"
        )


def hybrid_problem(arguments: Mapping[str, Any]) -> str | None:
    """Why `HybridVQC`'s ``arguments`` (all of its options, the unset ones at their defaults)
    cannot build its circuit (`check_circuit_shape`), as one sentence; ``None`` otherwise."""
    try:
        check_circuit_shape(
            arguments["n_qubits"],
            arguments["q_depth"],
            arguments["identity_blocks"],
            arguments["reupload"],
        )
    except ValueError as error:
        return str(error)
    return None
