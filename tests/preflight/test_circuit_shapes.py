"""The circuit's shape is refused before the import as `VariationalClassifierCircuit` and
`HybridVQC` refuse it, in the same words."""

import itertools

import pytest

from hqnn_lightning.models import MODELS
from hqnn_lightning.preflight.circuit_shapes import hybrid_problem
from hqnn_lightning.quantum import VariationalClassifierCircuit
from hqnn_lightning.run.option_table import derived_option_table

SHAPES = list(itertools.product([0, 1, 3], [0, 1, 2], [True, False], [True, False]))


def circuit_answer(n_qubits, q_depth, identity_blocks, reupload):
    try:
        VariationalClassifierCircuit(
            n_qubits,
            q_depth,
            entangler="basic",
            identity_blocks=identity_blocks,
            reupload=reupload,
        )
    except ValueError as error:
        return str(error)
    return None


def test_refused_as_the_circuit_refuses():
    arguments = derived_option_table().models.arguments["hybrid"]
    refused = 0
    for n_qubits, q_depth, identity_blocks, reupload in SHAPES:
        given = {"n_qubits": n_qubits, "q_depth": q_depth}
        given |= {"identity_blocks": identity_blocks, "reupload": reupload}
        expected = circuit_answer(n_qubits, q_depth, identity_blocks, reupload)
        assert hybrid_problem(dict(arguments) | given) == expected, given
        refused += expected is not None
    assert 0 < refused < len(SHAPES)


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"n_qubits": 0}, "n_qubits must be at least 1, got 0"),
        ({"q_depth": 1}, "identity blocks (the default) need q_depth >= 2"),
    ],
)
def test_the_model_says_the_same(given, message):
    arguments = derived_option_table().models.arguments["hybrid_tiny"]
    with pytest.raises(ValueError) as error:
        MODELS.create("hybrid_tiny", num_classes=3, in_channels=1, image_size=8, **given)
    assert str(error.value).startswith(message)
    assert hybrid_problem(dict(arguments) | given) == str(error.value)
