"""No module of the package over 400 lines, no function over 60.

A function's length is ``end_lineno - lineno + 1`` of its ``def`` (decorators excluded, its
docstring and nested functions included); a module's is its number of lines.

    python tests/test_sizes.py    # lists every module and function over the limits
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "hqnn_lightning"

MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def oversized(package: Path = PACKAGE) -> list[tuple[str, str, int]]:
    """Every module and function of ``package`` over the limits.

    Returns:
        ``(relative path, what, lines)`` rows: ``what`` is ``"module"`` or a function's
        qualified name (``Class.method``, ``outer.inner``).
    """
    rows = []
    for path in sorted(package.rglob("*.py")):
        relative = path.relative_to(package).as_posix()
        source = path.read_text()
        module_lines = len(source.splitlines())
        if module_lines > MAX_MODULE_LINES:
            rows.append((relative, "module", module_lines))
        for name, lines in _function_lengths(ast.parse(source)):
            if lines > MAX_FUNCTION_LINES:
                rows.append((relative, name, lines))
    return rows


def _function_lengths(tree: ast.AST, prefix: str = "") -> list[tuple[str, int]]:
    """``(qualified name, lines)`` of every function defined in ``tree``, nested ones too."""
    lengths = []
    for node in ast.iter_child_nodes(tree):
        name = f"{prefix}{getattr(node, 'name', '')}"
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            lengths.append((name, node.end_lineno - node.lineno + 1))
            lengths.extend(_function_lengths(node, f"{name}."))
        elif isinstance(node, ast.ClassDef):
            lengths.extend(_function_lengths(node, f"{name}."))
        else:
            lengths.extend(_function_lengths(node, prefix))
    return lengths


def test_no_module_or_function_over_the_limits():
    over = oversized()
    assert not over, (
        f"over {MAX_MODULE_LINES} lines a module, {MAX_FUNCTION_LINES} a function: {over}"
    )


def test_the_check_sees_one_line_over_each_limit(tmp_path):
    body = "".join(f"        x{i} = {i}\n" for i in range(MAX_FUNCTION_LINES))
    (tmp_path / "long.py").write_text(f"class A:\n    def f(self):\n{body}")
    at_limit = "".join(f"    y{i} = {i}\n" for i in range(MAX_FUNCTION_LINES - 1))
    (tmp_path / "at_limit.py").write_text(f"def g():\n{at_limit}")
    (tmp_path / "big.py").write_text("x = 1\n" * (MAX_MODULE_LINES + 1))
    (tmp_path / "full.py").write_text("x = 1\n" * MAX_MODULE_LINES)
    assert oversized(tmp_path) == [
        ("big.py", "module", MAX_MODULE_LINES + 1),
        ("long.py", "A.f", MAX_FUNCTION_LINES + 1),
    ]


if __name__ == "__main__":
    for relative, what, lines in oversized():
        print(f"{lines:5d}  {relative}  {what}")
