"""Exceptions as the one sentence a command prints: their message's first line."""

from __future__ import annotations


def first_line(error: BaseException) -> str:
    """The first line of ``error``'s message, or its type's name when it has none."""
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def error_summary(error: BaseException) -> str:
    """``"TypeName: first line"`` of ``error`` (only the type's name when it has no message),
    for errors raised by other code, whose type says what went wrong."""
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__
