"""``experiments/study196.sh`` passes the parameter-matched control of each width a count it
computes in shell (18 angles a qubit): it must be the default circuit's (issue 28 item 4)."""

from __future__ import annotations

import re
from pathlib import Path

from hqnn_lightning.models.hybrid import HYBRID_CIRCUIT_PARAMETERS, circuit_parameters

SCRIPT = Path(__file__).resolve().parents[1] / "experiments" / "study196.sh"


def test_the_width_parts_matched_controls_have_the_circuits_parameter_count() -> None:
    (per_qubit,) = re.findall(r"--bottleneck-parameters \$\(\((\d+) \* n\)\)", SCRIPT.read_text())
    for n_qubits in range(2, 13):
        assert int(per_qubit) * n_qubits == circuit_parameters(n_qubits, 3)
    assert int(per_qubit) * 6 == HYBRID_CIRCUIT_PARAMETERS
