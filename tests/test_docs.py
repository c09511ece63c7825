"""The documentation's code runs, and its API reference covers every module of the package.

`make docs` (`mkdocs build --strict`, run by CI) checks links, the nav and the docstrings."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
GETTING_STARTED = (DOCS / "getting_started.md").read_text()
PYTHON_BLOCKS = re.findall(r"```python\n(.*?)```", GETTING_STARTED, flags=re.DOTALL)


def test_getting_started_has_the_custom_script():
    assert len(PYTHON_BLOCKS) >= 2
    assert "L.Trainer" in PYTHON_BLOCKS[0] and len(PYTHON_BLOCKS[0].strip().splitlines()) <= 20


@pytest.mark.slow
@pytest.mark.parametrize("index", range(len(PYTHON_BLOCKS)))
def test_getting_started_example_runs(index, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    source = compile(PYTHON_BLOCKS[index], f"getting_started.md python block {index}", "exec")
    exec(source, {})


def test_api_reference_lists_every_module():
    documented = set()
    for page in (DOCS / "api").glob("*.md"):
        documented |= set(re.findall(r"^::: (\S+)", page.read_text(), flags=re.MULTILINE))
    modules = {
        ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for path in (ROOT / "hqnn_lightning").rglob("*.py")
        if path.name != "__init__.py"
    }
    assert modules - documented == set(), "modules missing from docs/api/*.md"
    assert documented - modules == set(), "docs/api/*.md names modules that do not exist"
