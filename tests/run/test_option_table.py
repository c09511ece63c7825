"""The option table saved with the package is what the registries give, read back as
itself, and is not used once the sources it was derived from change."""

from __future__ import annotations

import json

import pytest

from hqnn_lightning.models import MODELS
from hqnn_lightning.run.option_table import (
    TABLE_FILE,
    derived_option_table,
    listed_names,
    saved_option_table,
    write_option_table,
)
from hqnn_lightning.run.signatures import argument_default


def test_the_saved_table_is_current():
    saved = saved_option_table()
    assert saved is not None, (
        f"{TABLE_FILE} was derived from other sources: run "
        "`python -m hqnn_lightning.run.option_table` (make options) and commit it"
    )
    assert saved == derived_option_table()


def test_a_written_table_reads_back_as_the_derived_one(tmp_path):
    path = tmp_path / "table.json"
    write_option_table(path)
    assert saved_option_table(path) == derived_option_table()


def test_a_table_of_other_sources_is_not_read(tmp_path):
    path = tmp_path / "table.json"
    write_option_table(path)
    record = json.loads(path.read_text())
    record["sources"] = "0" * 64
    path.write_text(json.dumps(record))
    assert saved_option_table(path) is None
    assert saved_option_table(tmp_path / "missing.json") is None


def test_the_table_gives_each_models_defaults():
    models = derived_option_table().models
    for name in MODELS.names():
        for argument in models.accepted_arguments(name):
            assert models.default(name, argument) == argument_default(MODELS, name, argument)
    assert models.default("hybrid_tiny", "n_qubits") == 2
    assert "entangler" in models.variant_arguments["hybrid_separable"]


def test_an_unknown_name_lists_the_known_ones_without_test_variants():
    with pytest.raises(KeyError, match="unknown model 'qcnn'; known: classical, hybrid,") as info:
        derived_option_table().models.accepted_arguments("qcnn")
    assert "_tiny" not in str(info.value)
    assert listed_names(["hybrid", "hybrid_tiny", "quanv"]) == ["hybrid", "quanv"]
