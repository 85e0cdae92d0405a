"""Diagnostics: every problem in a mapping carries the place it was found and a stable code.

The codes are one table (`CODES`), documented in docs/diagnostics.md: a code
names one kind of problem and keeps its meaning from release to release, so
CI annotations, `# noqa`-style tooling and searches can rely on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Code:
    """One kind of diagnostic: its code, a short title and its severity."""

    code: str
    title: str
    severity: str = "error"


def _table(*codes: Code) -> dict[str, Code]:
    return {code.code: code for code in codes}


#: Every diagnostic code. AM0xx: the file and its YAML; AM1xx: the mapping schema;
#: AM2xx: templates and JMESPath expressions; AM3xx: whole-mapping checks;
#: AM4xx: a source's events schema.
CODES: dict[str, Code] = _table(
    Code("AM001", "the file cannot be read"),
    Code("AM002", "the file is too large"),
    Code("AM003", "the file is not UTF-8"),
    Code("AM004", "the file is empty"),
    Code("AM005", "invalid YAML"),
    Code("AM006", "invalid character"),
    Code("AM007", "the file is not a YAML mapping"),
    Code("AM008", "YAML anchors and aliases are not supported"),
    Code("AM009", "YAML tags are not supported"),
    Code("AM010", "too many values in one file"),
    Code("AM011", "YAML nested too deep"),
    Code("AM012", "duplicate key"),
    Code("AM013", "a key is not a string"),
    Code("AM014", "ambiguous number with a leading zero"),
    Code("AM015", "number too long"),
    Code("AM016", "number not finite or too large"),
    Code("AM050", "YAML 1.1 boolean read as a string", "warning"),
    Code("AM051", "YAML 1.1 number read as a string", "warning"),
    Code("AM052", "'<<' is a plain key, not a merge", "warning"),
    Code("AM053", "%YAML directive ignored", "warning"),
    Code("AM101", "unknown key"),
    Code("AM102", "two operators in one value"),
    Code("AM103", "a modifier without an operator"),
    Code("AM104", "invalid key name"),
    Code("AM105", "missing required key"),
    Code("AM106", "a call lacks a key its type needs"),
    Code("AM107", "value not among the allowed ones"),
    Code("AM108", "wrong type"),
    Code("AM109", "a constant never fits a required key"),
    Code("AM110", "value other than the one required"),
    Code("AM111", "value does not match its pattern"),
    Code("AM112", "too few items"),
    Code("AM113", "an item listed twice"),
    Code("AM114", "empty value"),
    Code("AM115", "number below the minimum"),
    Code("AM190", "key one edit away from an operator or modifier", "warning"),
    Code("AM199", "other schema error"),
    Code("AM201", "template syntax error"),
    Code("AM202", "unknown name"),
    Code("AM203", "unknown event field"),
    Code("AM204", "invalid JMESPath"),
    Code("AM205", "unknown JMESPath function"),
    Code("AM206", "expression nested too deep"),
    Code("AM207", "literal JSON cannot carry"),
    Code("AM208", "template statement"),
    Code("AM209", "unsupported template construct"),
    Code("AM210", "unknown filter"),
    Code("AM211", "wrong filter arguments"),
    Code("AM301", "require: names a key the rule does not emit"),
    Code("AM302", "duplicate rule name"),
    Code("AM303", "define depends on itself"),
    Code("AM304", "value nested too deep through defines"),
    Code("AM390", "define never used", "warning"),
    Code("AM401", "events schema cannot be used"),
)


@dataclass(frozen=True)
class Diagnostic:
    """One problem in a mapping file, located at a YAML node, with its code from CODES."""

    file: str
    line: int
    col: int
    message: str
    hint: str | None = None
    severity: str = "error"
    code: str = field(kw_only=True)

    def __post_init__(self):
        known = CODES.get(self.code)
        if known is None or known.severity != self.severity:
            # A programming error: every diagnostic is one kind of the table.
            raise ValueError(f"{self.severity} with code {self.code!r} is not in CODES")

    def format(self) -> str:
        """Render as `file:line:col: severity[CODE]: message`, with the hint indented below."""
        text = f"{self.file}:{self.line}:{self.col}: {self.severity}[{self.code}]: {self.message}"
        return f"{text}\n    hint: {self.hint}" if self.hint else text

    def as_json(self) -> dict:
        """The diagnostic as plain data (`validate --format json`)."""
        return {
            "file": self.file,
            "line": self.line,
            "col": self.col,
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
            "hint": self.hint,
        }


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def github_command(diagnostic: Diagnostic) -> str:
    """The diagnostic as a GitHub Actions workflow command (an annotation on its line).

    Escaped as GitHub's toolkit does: `%`, CR and LF in the message; also `:` and `,`
    in the properties."""
    properties = ",".join(
        f"{name}={_escape_property(str(value))}"
        for name, value in (
            ("file", diagnostic.file),
            ("line", diagnostic.line),
            ("col", diagnostic.col),
            ("title", diagnostic.code),
        )
    )
    message = diagnostic.message + (f"\nhint: {diagnostic.hint}" if diagnostic.hint else "")
    return f"::{diagnostic.severity} {properties}::{_escape_data(message)}"


class MappingError(Exception):
    """A mapping is invalid; `diagnostics` lists every problem, headline first."""

    def __init__(self, diagnostics: list[Diagnostic]):
        self.diagnostics = list(diagnostics)
        super().__init__(self.diagnostics[0].format() if self.diagnostics else "invalid mapping")


def plural(count: int, noun: str) -> str:
    """'1 rule', '2 rules': a count in a message."""
    return f"{count} {noun}{'' if count == 1 else 's'}"
