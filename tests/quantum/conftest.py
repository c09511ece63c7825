from __future__ import annotations

import pytest

from hqnn_lightning.quantum import ENTANGLERS
from tests.quantum.custom_parts import CZRing, StrongTemplate


@pytest.fixture
def custom_entanglers():
    """``cz_ring`` and ``strong_template`` registered for the test only."""
    parts = {"cz_ring": CZRing, "strong_template": StrongTemplate}
    for name, entangler in parts.items():
        ENTANGLERS.register(name)(entangler)
    yield list(parts)
    for name in parts:
        ENTANGLERS.unregister(name)
