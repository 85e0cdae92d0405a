"""What validates compiles: mappings at and past the language's limits either
compile (and run like the interpreter) or are refused at their place, never
with a traceback; and checking them costs time linear in their size."""

from __future__ import annotations

import pytest

from accoil_map import MappingError, check, compile_source, language, load
from accoil_map.interpreter import Interpreter
from accoil_map.loader import MAX_FILE_BYTES, MAX_NODES

HEAD = "version: 1\nname: limits\nsource: custom\n"


def page(timestamp: str, define: str = "") -> str:
    return (
        HEAD
        + define
        + "rules:\n  - name: r\n    emit:\n      type: page\n"
        + f"      timestamp: {timestamp}\n"
    )


def outcome(text: str):
    """('ok', calls for a sample event) or ('refused', first diagnostic); never a crash."""
    try:
        checked = check(text, filename="m.yaml")
    except MappingError as error:
        return ("refused", error.diagnostics[0])
    module = load(checked)  # whatever validates compiles, and imports
    event = {"a": "x", "ts": "2024-05-01T00:00:00Z", "n": 1}
    assert module.transform(event) == Interpreter(checked.mapping).transform(event)
    return ("ok", module.transform(event))


def refused_at(text: str, needle: str) -> None:
    kind, found = outcome(text)
    assert kind == "refused", found
    assert found.file == "m.yaml" and found.line > 1, found.format()
    assert needle in found.message, found.format()


def quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


LIMIT = language.MAX_NESTING


@pytest.mark.parametrize("count", [3, 30, 201, 3000])
def test_long_or_chains(count):
    when = " || ".join(["a == 'x'"] * count)
    text = HEAD + f"rules:\n  - name: r\n    when: {quoted(when)}\n" + (
        "    emit: {type: page, timestamp: '{{ ts }}'}\n"
    )
    if count <= LIMIT:
        assert outcome(text)[0] == "ok"
    else:
        refused_at(text, "nests deeper than")


@pytest.mark.parametrize("count", [2, 100, 1000])
def test_long_coalesce_compiles_flat(count):
    items = ", ".join(["{path: missing}"] * count + ["{path: ts}"])
    kind, calls = outcome(page(f"{{coalesce: [{items}]}}"))
    assert kind == "ok" and calls[0]["timestamp"] == "2024-05-01T00:00:00Z"


@pytest.mark.parametrize("count", [10, 170])
def test_chains_of_defines(count):
    defines = "define:\n  d0: {path: ts}\n" + "".join(
        f"  d{i}: {quoted('{{ d' + str(i - 1) + ' }}')}\n" for i in range(1, count)
    )
    text = page(quoted("{{ d" + str(count - 1) + " }}"), defines)
    if count < LIMIT:
        assert outcome(text) == ("ok", [{"type": "page", "timestamp": "2024-05-01T00:00:00Z"}])
    else:
        refused_at(text, "levels deep, through the defines it reads")


@pytest.mark.parametrize(
    "timestamp, needle",
    [
        (quoted("{{ " + "9" * 5000 + " }}"), ""),
        (quoted("{{ a[" + "9" * 5000 + "] }}"), ""),
        (quoted("{{ a[" + "9" * 30 + "] }}"), "64 bits"),
        ("{path: " + quoted("a[" + "9" * 5000 + "]") + "}", ""),
        ("{path: " + quoted("a." * 5000 + "b") + "}", "nests deeper than"),
        ("{path: " + quoted("(" * 5000 + "a" + ")" * 5000) + "}", ""),
        (quoted("{{ " + "(" * 5000 + "a" + ")" * 5000 + " }}"), ""),
        (quoted("{{ a" + " | lower" * 5000 + " }}"), "nests deeper than"),
        ("{path: " + quoted("`" + "[" * 300 + "]" * 300 + "`") + "}", "nested deeper than"),
        ("{path: " + quoted("`" + "1" * 5000 + "`") + "}", ""),
        ("{path: " + quoted("sum(`[" + "1" * 400 + "]`)") + "}", "64 bits"),
    ],
    ids=[
        "5000-digit-template-number",
        "5000-digit-template-index",
        "index-beyond-64-bits",
        "5000-digit-path-index",
        "5000-step-path",
        "5000-parentheses-path",
        "5000-parentheses-template",
        "5000-filters",
        "300-deep-literal",
        "5000-digit-literal",
        "huge-literal-in-a-fallback",
    ],
)
def test_extreme_expressions_are_refused_at_their_place(timestamp, needle):
    refused_at(page(timestamp), needle)


def test_a_template_of_every_private_use_character():
    text = "".join(map(chr, range(0xE000, 0xF900)))
    kind, found = outcome(page(quoted(text + "{{ ts }}")))
    assert kind == "ok" and found[0]["timestamp"].startswith(text)
    kind, found = outcome(page('"' + text + '\\r{{ ts }}"'))
    assert kind == "refused" and "private-use" in found.message


def test_non_finite_results_of_jmespath_are_missing():
    text = page(
        "{path: ts}\n      a: {path: \"to_number('1e999')\"}\n"
        "      b: {path: \"[to_number('1e999'), `1`]\"}"
    )
    kind, calls = outcome(text)
    assert kind == "ok" and "a" not in calls[0] and calls[0]["b"] == [1]


@pytest.mark.parametrize(
    "condition",
    ["a == '0'", "a == '12345678901234567890'", 'a == `"7"`', "a == `12`", "a == `1e3`"],
)
def test_short_literals_and_text_that_looks_like_numbers_compile(condition):
    text = page("{path: ts}").replace("    emit:", f"    when: {quoted(condition)}\n    emit:")
    kind, found = outcome(text)
    assert kind == "ok", found


def test_a_mapping_file_larger_than_the_limit(tmp_path):
    path = tmp_path / "big.yaml"
    with open(path, "wb") as stream:
        stream.truncate(MAX_FILE_BYTES + 1)
    with pytest.raises(MappingError, match="larger than"):
        check(path)


def test_too_many_values(tmp_path):
    text = HEAD + "".join(f"k{i}: {i}\n" for i in range(MAX_NODES + 1))
    with pytest.raises(MappingError, match="more than 50,000 values"):
        check(text, filename="m.yaml")


def test_a_mapping_near_the_limits_compiles():
    fields = "".join(f"      f{i}: '{{{{ a }}}}{i}'\n" for i in range(2000))
    text = HEAD + "rules:\n  - name: r\n    emit:\n      type: page\n      timestamp: '{{ ts }}'\n"
    assert "f1999" in compile_source(text + fields, filename="m.yaml")
