"""Diagnostics: every problem in a mapping carries the place it was found."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Diagnostic:
    """One problem in a mapping file, located at a YAML node."""

    file: str
    line: int
    col: int
    message: str
    hint: str | None = None
    severity: str = "error"

    def format(self) -> str:
        """Render as `file:line:col: severity: message`, with the hint indented below."""
        text = f"{self.file}:{self.line}:{self.col}: {self.severity}: {self.message}"
        return f"{text}\n    hint: {self.hint}" if self.hint else text


class MappingError(Exception):
    """A mapping is invalid; `diagnostics` lists every problem, headline first."""

    def __init__(self, diagnostics: list[Diagnostic]):
        self.diagnostics = list(diagnostics)
        super().__init__(self.diagnostics[0].format() if self.diagnostics else "invalid mapping")


def plural(count: int, noun: str) -> str:
    """'1 rule', '2 rules': a count in a message."""
    return f"{count} {noun}{'' if count == 1 else 's'}"
