"""Figures the documentation quotes from a cheap command are what the command prints now: the
command is taken from the page and run as written (no tiny settings), and its output is
compared with the page's table or sentence."""

from __future__ import annotations

import json
import re

import pytest

from tests.docs.shell import prepare, run_command
from tests.docs.snippets import ROOT, Snippet, snippets

CHECKED_HERE = {
    ("docs/devices.md", "qml.Tracker(layer.qnode.device)"),
    ("docs/models.md", "print(parameter_counts(create_model('hybrid'"),
    ("docs/models.md", "create_model('hybrid_fourier'"),
}
"""Snippets (page, text they contain) these tests run and check: the documentation's run of
every snippet leaves them to this module."""


def page_text(page: str) -> str:
    return (ROOT / page).read_text()


def snippet_with(page: str, text: str) -> Snippet:
    """The one snippet of ``page`` that contains ``text``."""
    found = [s for s in snippets() if s.page == page and text in s.text]
    assert len(found) == 1, f"{page} has {len(found)} snippets with {text!r}"
    return found[0]


def table_row(page: str, first_cell: str, after: str = "") -> list[str]:
    """The cells of the first row of ``page`` after the text ``after`` whose first cell is
    ``first_cell``."""
    text = page_text(page)
    for line in text[text.index(after) :].splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if cells[0] == first_cell:
            return cells
    raise AssertionError(f"{page} has no row {first_cell!r}")


def number(cell: str) -> float:
    return float(cell.replace(",", ""))


@pytest.mark.slow
def test_circuits_per_training_step_in_devices_md(tmp_path):
    snippet = snippet_with("docs/devices.md", "qml.Tracker(layer.qnode.device)")
    printed = run_command(snippet.text.replace("\\\n", " "), {}, prepare(tmp_path))
    counts = [line.split() for line in printed.strip().splitlines()]
    assert len(counts) == 3
    for qubits, layers, executions in counts:
        plural = "layer" if layers == "1" else "layers"
        label = next(
            cells[0]
            for line in page_text("docs/devices.md").splitlines()
            if line.startswith(f"| {qubits} qubits, {layers} {plural}")
            for cells in [[c.strip() for c in line.strip("|").split("|")]]
        )
        assert number(table_row("docs/devices.md", label)[1]) == float(executions)


@pytest.mark.slow
def test_parameter_counts_in_models_md(tmp_path, capsys):
    snippet = snippet_with("docs/models.md", "print(parameter_counts(create_model('hybrid'")
    directory = prepare(tmp_path)
    text = page_text("docs/models.md")
    table = text[text.index("## Parameter counts") :].split("\n\n")[2]
    models = re.findall(r"^\| `(\w+)` \|", table, flags=re.MULTILINE)
    assert len(models) >= 10
    for model in models:
        command = snippet.text.replace("create_model('hybrid'", f"create_model('{model}'")
        printed = run_command(command, {}, directory)
        counts = eval(printed.strip().splitlines()[-1])  # a dict literal, printed
        row = table_row("docs/models.md", f"`{model}`", after="## Parameter counts")
        assert [counts["classical"], counts["quantum"], counts["trainable"]] == [
            number(cell) for cell in row[1:4]
        ], model


def test_fourier_twin_parameters_in_models_md(tmp_path):
    snippet = snippet_with("docs/models.md", "create_model('hybrid_fourier'")
    printed = run_command(snippet.text, {}, prepare(tmp_path))
    twin, circuit = map(int, printed.split())
    row = table_row("docs/models.md", "6")
    assert (number(row[3]), number(row[4])) == (twin, circuit)


@pytest.mark.slow
@pytest.mark.parametrize("model", ["hybrid", "classical"])
def test_the_readme_figures(model, tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    directory = prepare(tmp_path)
    run_command(f"python experiments/run.py --model {model}", {}, directory)
    (results,) = directory.glob(f"runs/{model}-digits-seed0-*/results.json")
    accuracy = f"{100 * json.loads(results.read_text())['test/acc_top1']:.2f}"
    readme = page_text("README.md")
    quoted = {
        "hybrid": r"`python experiments/run.py --model hybrid` alone.*?([\d.]+)% test",
        "classical": r"`--model classical` gives ([\d.]+)%",
    }
    assert re.search(quoted[model], readme, flags=re.DOTALL).group(1) == accuracy
    assert table_row("docs/getting_started.md", f"`--model {model}`")[1] == accuracy
