"""Executes every notebook under ``notebooks/`` and checks that it runs end to end.

The notebooks read ``HQNN_NOTEBOOK_SMOKE=1`` and shrink their settings (fewer epochs, smaller
images), so that all of them run in well under a minute on CI's two cores.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

nbclient = pytest.importorskip("nbclient")
nbformat = pytest.importorskip("nbformat")
pytest.importorskip("ipykernel")

NOTEBOOK_DIR = Path(__file__).resolve().parents[2] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
KERNEL_NAME = "python3"


def pin_kernel_to_this_interpreter(kernels_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Makes the ``python3`` kernel spec start ``sys.executable``.

    ``pip install ipykernel`` puts a ``python3`` spec in ``<venv>/share/jupyter/kernels`` whose
    command is a bare ``python``, which jupyter_client swaps for ``sys.executable``; that already
    selects this venv's interpreter. But a ``python3`` spec found earlier on the Jupyter path (a
    user-level ``~/.local/share/jupyter/kernels/python3`` when the venv's directory is not
    preferred, or one on ``$JUPYTER_PATH``) could start another Python that cannot import
    ``hqnn_lightning``. ``$JUPYTER_PATH`` is searched before every other directory, so a spec
    written there, with an absolute ``sys.executable``, makes the kernel the interpreter that
    runs the tests, whatever else is installed.
    """
    spec_dir = kernels_root / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (tests)",
        "language": "python",
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    monkeypatch.setenv("JUPYTER_PATH", str(kernels_root))


def test_there_are_notebooks() -> None:
    assert NOTEBOOKS, f"no notebooks found in {NOTEBOOK_DIR}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_notebook_is_committed_without_outputs(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        assert not cell.outputs, f"{path.name} cell {index} has saved outputs; clear them"
        assert cell.execution_count is None, f"{path.name} cell {index} has an execution count"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_notebook_executes(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pin_kernel_to_this_interpreter(tmp_path / "jupyter", monkeypatch)
    workdir = tmp_path / "run"
    workdir.mkdir()
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("HQNN_NOTEBOOK_SMOKE", "1")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        notebook,
        timeout=600,
        kernel_name=KERNEL_NAME,
        resources={"metadata": {"path": str(workdir)}},
    )
    client.execute()  # raises CellExecutionError if a cell fails

    outputs = [
        output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs
    ]
    assert outputs, f"{path.name} produced no output"
    errors = [output for output in outputs if output.output_type == "error"]
    assert not errors, f"{path.name} raised: {errors[0].ename}: {errors[0].evalue}"
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code" and "plt.show()" in cell.source:
            images = [output for output in cell.outputs if "image/png" in output.get("data", {})]
            assert images, f"{path.name} cell {index} shows a figure but displayed no image"
