"""How the tests read a command's refusal: one ``error: ... (see --help)`` line, the last."""


def error_line(stderr: str) -> str:
    """The one ``error:`` line a command ends with, without ``(see --help)``; fails when there
    is none, several, or when it is not the last line."""
    (line,) = [line for line in stderr.splitlines() if line.startswith("error: ")]
    assert stderr.rstrip().endswith(line) and line.endswith(" (see --help)"), stderr
    return line.removesuffix(" (see --help)")
