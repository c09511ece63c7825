"""``--shots`` on the torch backend evaluates but never trains: the runner refuses it in one
line before anything is built."""

from __future__ import annotations

import pytest

from hqnn_lightning.run.cli import main


@pytest.mark.parametrize("device", [[], ["--q-device", "torch"]])
def test_training_with_shots_on_torch_is_refused(tmp_path, capsys, device):
    with pytest.raises(SystemExit) as exit_info:
        main(
            [
                "--model",
                "hybrid_tiny",
                "--data",
                "synthetic",
                "--shots",
                "16",
                *device,
                "--logger",
                "csv",
                "--output-dir",
                str(tmp_path / "runs"),
            ]
        )
    assert exit_info.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert "--shots 16 with --q-device torch: its samples have no gradient" in error
    assert "--q-device default.qubit --shots 16 (parameter-shift)" in error
    assert not (tmp_path / "runs").exists()
