"""`validate --format text|json|github` and the table of diagnostic codes.

Every diagnostic carries a code of `accoil_map.errors.CODES` (a Diagnostic
cannot be built with another), every code of the table is one the compiler
uses, and each is documented in docs/diagnostics.md with its severity and title.
"""

from __future__ import annotations

import ast
import json
import re

import pytest

from accoil_map import Diagnostic
from accoil_map.cli import main
from accoil_map.errors import CODES, github_command
from tests.conftest import ROOT
from tests.test_cli import BAD as CLI_BAD
from tests.test_diagnostics import CASES, report

#: test_cli's mapping with an unknown name, and a key one edit from `path` (a warning).
BAD = CLI_BAD + "      properties: {pth: x}\n"

CODE_LITERAL = re.compile(r"AM\d{3}")


def codes_in_compiler() -> dict[str, list[str]]:
    """Each code literal in the compiler's source (outside the table), with where it is."""
    found: dict[str, list[str]] = {}
    for path in sorted((ROOT / "compiler").rglob("*.py")):
        if path.name == "errors.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and CODE_LITERAL.fullmatch(str(node.value)):
                found.setdefault(node.value, []).append(f"{path.name}:{node.lineno}")
    return found


def test_every_code_used_is_in_the_table_and_every_entry_is_used():
    used = codes_in_compiler()
    assert sorted(set(used) - set(CODES)) == []
    assert sorted(set(CODES) - set(used)) == []


def test_every_code_is_documented():
    docs = (ROOT / "docs" / "diagnostics.md").read_text()
    rows = set(re.findall(r"^\| (AM\d{3}) \| (\w+) \| (.+?) \|$", docs, re.MULTILINE))
    assert rows == {(c.code, c.severity, c.title) for c in CODES.values()}


def test_the_readme_links_the_codes():
    assert "docs/diagnostics.md" in (ROOT / "README.md").read_text()


def test_a_diagnostic_needs_a_code_of_the_table():
    with pytest.raises(TypeError):
        Diagnostic("m.yaml", 1, 1, "no code")  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="AM999"):
        Diagnostic("m.yaml", 1, 1, "unknown code", code="AM999")
    with pytest.raises(ValueError, match="warning with code 'AM101'"):
        Diagnostic("m.yaml", 1, 1, "an error code as a warning", severity="warning", code="AM101")


@pytest.mark.parametrize(
    "text", [pytest.param(c.values[0], id=c.id) for c in CASES if c.values[1]]
)
def test_pinned_diagnostics_carry_codes(text):
    """Every diagnostic of the pinned cases shows its code, of the right severity."""
    _, reported = report(text)
    heads = re.findall(r"^m\.yaml:\d+:\d+: (error|warning)\[(AM\d{3})\]: ", reported, re.MULTILINE)
    assert len(heads) == sum(not line.startswith("    hint:") for line in reported.splitlines())
    assert all(CODES[code].severity == severity for severity, code in heads)


# --- the formats ------------------------------------------------------------------------


def run(capsys, *argv):
    code = main(["validate", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def bad(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(BAD)
    return str(path)


def test_json_one_object_per_diagnostic(capsys, bad):
    code, out, err = run(capsys, "--format", "json", bad)
    assert code == 1
    assert [json.loads(line) for line in out.splitlines()] == [
        {
            "file": bad,
            "line": 9,
            "col": 19,
            "severity": "error",
            "code": "AM202",
            "message": "unknown name 'usr': not a define and not a field of segment events",
            "hint": "did you mean 'userId'?",
        },
        {
            "file": bad,
            "line": 11,
            "col": 20,
            "severity": "warning",
            "code": "AM190",
            "message": "'pth' makes this mapping an object literal; did you mean the operator 'path'?",
            "hint": "write 'path', or {object: {pth: ...}} to keep the key",
        },
    ]
    assert err == f"{bad}: invalid (1 problem)\n"


def test_json_valid_mapping_prints_no_diagnostics(capsys):
    segment = str(ROOT / "mappings" / "segment.yaml")
    assert run(capsys, "--format", "json", segment) == (0, "", f"{segment}: ok (5 rules)\n")


def test_github_workflow_commands(capsys, bad):
    code, out, _ = run(capsys, "--format", "github", bad)
    assert code == 1
    error = (
        f"::error file={bad},line=9,col=19,title=AM202::unknown name 'usr': not a define "
        "and not a field of segment events%0Ahint: did you mean 'userId'?"
    )
    warning = (
        f"::warning file={bad},line=11,col=20,title=AM190::'pth' makes this mapping an object "
        "literal; did you mean the operator 'path'?%0Ahint: write 'path', or {object: {pth: ...}} "
        "to keep the key"
    )
    assert out.splitlines() == [error, warning]


def test_github_escapes_as_the_toolkit_does():
    """`%`, CR and LF in the message; also `,` and `:` in properties (actions/toolkit
    packages/core/src/command.ts: escapeData, escapeProperty)."""
    diagnostic = Diagnostic(
        "dir,x/a:b%.yaml", 3, 4, "100% of\r\nlines: a,b", "say 'x'", code="AM101"
    )
    assert github_command(diagnostic) == (
        "::error file=dir%2Cx/a%3Ab%25.yaml,line=3,col=4,title=AM101::"
        "100%25 of%0D%0Alines: a,b%0Ahint: say 'x'"
    )


def test_github_over_a_file_name_with_separators(capsys, tmp_path):
    path = tmp_path / "a,b:c.yaml"
    path.write_text(BAD)
    _, out, _ = run(capsys, "--format", "github", str(path))
    escaped = str(path).replace(",", "%2C").replace(":", "%3A")
    assert out.splitlines()[0].startswith(f"::error file={escaped},line=9,col=19,")


def test_text_is_the_default(capsys, bad):
    assert run(capsys, bad) == run(capsys, "--format", "text", bad)
