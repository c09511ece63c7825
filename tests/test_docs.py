"""The getting-started page keeps its short script, and the API reference covers every module of
the package; tests/docs/ runs the documentation's code.

`make docs` (`mkdocs build --strict`, run by CI) checks links, the nav and the docstrings."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
GETTING_STARTED = (DOCS / "getting_started.md").read_text()
PYTHON_BLOCKS = re.findall(r"```python\n(.*?)```", GETTING_STARTED, flags=re.DOTALL)


def test_getting_started_has_the_custom_script():
    assert len(PYTHON_BLOCKS) >= 2
    assert "L.Trainer" in PYTHON_BLOCKS[0] and len(PYTHON_BLOCKS[0].strip().splitlines()) <= 20


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
