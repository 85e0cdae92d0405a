"""The loader: safe YAML, positions of every node, YAML 1.2 scalars, clear errors."""

from __future__ import annotations

import hashlib

import pytest

from accoil_map.errors import MappingError
from accoil_map.loader import Mark, load_document, load_text
from tests.conftest import no_runaway


def errors_of(text: str) -> list[tuple[int, int, str]]:
    """(line, col, message) of every error loading `text`."""
    with pytest.raises(MappingError) as caught:
        load_text(text, "m.yaml")
    return [(d.line, d.col, d.message) for d in caught.value.diagnostics]


def only_error(text: str) -> tuple[int, int, str]:
    found = errors_of(text)
    assert len(found) == 1, found
    return found[0]


# --- data and positions ------------------------------------------------------


def test_data_keeps_insertion_order_and_types():
    doc = load_text("b: 1\na: [x, {c: 2.5}]\nz: ~\n")
    assert doc.data == {"b": 1, "a": ["x", {"c": 2.5}], "z": None}
    assert list(doc.data) == ["b", "a", "z"]
    assert doc.warnings == ()


def test_marks_of_values_and_keys():
    doc = load_text("name: x\nrules:\n  - emit:\n      type: 'track'\n")
    assert doc.marks[()] == Mark(1, 1)
    assert doc.marks[("name",)] == Mark(1, 7)
    assert doc.marks[("rules", 0)] == Mark(3, 5)
    assert doc.marks[("rules", 0, "emit", "type")] == Mark(4, 13, "'")
    assert doc.key_marks[("rules", 0, "emit", "type")] == Mark(4, 7)


def test_scalar_styles_are_recorded():
    doc = load_text("a: plain\nb: 'single'\nc: \"double\"\nd: |\n  lit\ne: >\n  folded\n")
    assert [doc.marks[(k,)].style for k in "abcde"] == [None, "'", '"', "|", ">"]


def test_columns_count_characters_not_bytes():
    doc = load_text("é: [1, xé: 2]\n")
    assert doc.marks[("é", 1, "xé")] == Mark(1, 12)


def test_locate_falls_back_to_nearest_ancestor():
    doc = load_text("a:\n  b: 1\n")
    assert doc.locate(("a", "b", "missing", 3)) == Mark(2, 6)


def test_diagnostic_at_value_key_and_offset():
    doc = load_text('when: "a == b"\nplain: a ==\nblock: |\n    x\n', "m.yaml")
    diagnostic = doc.diagnostic(("when",), "bad", code="AM204")
    assert diagnostic.format() == "m.yaml:1:7: error[AM204]: bad"
    at_key = doc.diagnostic(("when",), "k", at_key=True, code="AM101")
    assert (at_key.line, at_key.col) == (1, 1)
    # The offset is counted inside the quotes.
    assert doc.diagnostic(("when",), "bad", offset=2, code="AM204").col == 10
    assert doc.diagnostic(("plain",), "bad", offset=2, code="AM204").col == 10
    # A block scalar's text starts on the next line, at its indentation.
    block = doc.diagnostic(("block",), "bad", offset=0, code="AM201")
    assert (block.line, block.col) == (4, 5)
    warning = doc.diagnostic(("when",), "w", "h", severity="warning", code="AM190")
    assert (warning.severity, warning.hint) == ("warning", "h")


def test_load_document_hashes_raw_bytes(tmp_path):
    raw = b"version: 1\n"
    path = tmp_path / "m.yaml"
    path.write_bytes(raw)
    doc = load_document(path)
    assert doc.path == str(path)
    assert doc.sha256 == hashlib.sha256(raw).hexdigest()
    assert doc.text == "version: 1\n"


def test_load_document_missing_file(tmp_path):
    with pytest.raises(MappingError) as caught:
        load_document(tmp_path / "nope.yaml")
    assert caught.value.diagnostics[0].message.startswith("cannot read file")


def test_non_utf8_file_is_refused_at_1_1(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_bytes(b"name: caf\xe9\n")
    with pytest.raises(MappingError) as caught:
        load_document(path)
    diagnostic = caught.value.diagnostics[0]
    assert (diagnostic.line, diagnostic.col) == (1, 1)
    assert "UTF-8" in diagnostic.message


# --- safety --------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["a: !!python/object:os.system x\n", "a: !!str 1\n", "a: !foo [1]\n", "a: ! x\n"],
)
def test_explicit_tags_are_refused(text):
    line, col, message = only_error(text)
    assert (line, col) == (1, 4)
    assert "YAML tags are not supported" in message


def test_python_object_tag_never_constructs(monkeypatch):
    import os

    called = []
    monkeypatch.setattr(os, "system", lambda *args: called.append(args))
    errors_of("a: !!python/object/apply:os.system ['echo hacked']\n")
    assert called == []


def test_anchors_and_aliases_are_refused():
    assert only_error("a: &x 1\nb: *x\n")[:2] == (1, 4)
    assert "anchors" in only_error("a: &x 1\n")[2]
    line, col, message = only_error("a: [*x]\n")
    assert (line, col) == (1, 5) and "aliases" in message


def test_billion_laughs_is_refused_at_the_first_anchor():
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    with no_runaway():
        line, col, message = only_error("\n".join(lines) + "\n")
    assert (line, col) == (1, 5) and "anchors" in message


def test_duplicate_keys_at_any_depth():
    assert only_error("a: 1\nb: 2\na: 3\n") == (
        3,
        1,
        "duplicate key 'a' (first defined at line 1)",
    )
    assert only_error("r:\n  - x: 1\n    y: 2\n    'x': 3\n") == (
        4,
        5,
        "duplicate key 'x' (first defined at line 2)",
    )


@pytest.mark.parametrize(
    "text",
    ["a: " + "[" * 1000 + "]" * 1000 + "\n", "".join(f"{' ' * i}k{i}:\n" for i in range(1000))],
    ids=["flow", "block"],
)
def test_deep_nesting_is_refused_at_level_65(text):
    with no_runaway():
        line, col, message = only_error(text)
    assert message == "nesting deeper than 64 levels"
    # The root mapping is level 1; the error is at the start of level 65.
    assert (line, col) in {(1, 4 + 63), (65, 65)}


def test_nesting_of_64_levels_is_fine():
    doc = load_text("a: " + "[" * 63 + "]" * 63 + "\n")  # the root mapping is level 1
    expected: list = []
    for _ in range(62):
        expected = [expected]
    assert doc.data["a"] == expected


# --- scalars -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("~", None),
        ("null", None),
        ("Null", None),
        ("NULL", None),
        ("", None),
        ("true", True),
        ("True", True),
        ("TRUE", True),
        ("false", False),
        ("FALSE", False),
        ("0", 0),
        ("-12", -12),
        ("+7", 7),
        ("0o17", 15),
        ("0x1F", 31),
        ("1.5", 1.5),
        ("-.5", -0.5),
        ("1e3", 1000.0),
        ("2.", 2.0),
        ("6.02E+23", 6.02e23),
        ("2024-01-01", "2024-01-01"),
        ("0b101x", "0b101x"),
        ("hello", "hello"),
        ("'true'", "true"),
        ('"12"', "12"),
        ("'~'", "~"),
        ("''", ""),
        ("'0755'", "0755"),
    ],
)
def test_yaml_1_2_core_scalars(text, value):
    doc = load_text(f"v: {text}\n")
    assert doc.data["v"] == value
    assert type(doc.data["v"]) is type(value)
    assert doc.warnings == ()


@pytest.mark.parametrize("word", ["yes", "No", "ON", "off", "y", "N"])
def test_yaml_1_1_booleans_stay_strings_with_a_warning(word):
    doc = load_text(f"v: {word}\n")
    assert doc.data["v"] == word
    (warning,) = doc.warnings
    assert warning.severity == "warning"
    assert (warning.line, warning.col) == (1, 4)
    assert warning.message == f"read as the string '{word}'; quote it, or write true/false"


@pytest.mark.parametrize("text", ["1:30", "190:20:30", "1_000", "0b101"])
def test_yaml_1_1_numbers_stay_strings_with_a_warning(text):
    doc = load_text(f"v: {text}\n")
    assert doc.data["v"] == text
    assert doc.warnings[0].message.startswith(f"read as the string '{text}'")


def test_quoted_yaml_1_1_words_do_not_warn():
    assert load_text("v: 'no'\nw: '1:30'\n").warnings == ()


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("0755", "write 755, 0o755 or '0755'"),
        ("089", "write 89 or '089'"),
        ("-012", "write -12, -0o12 or '-012'"),
    ],
)
def test_leading_zero_integers_are_ambiguous(text, hint):
    with pytest.raises(MappingError) as caught:
        load_text(f"v: {text}\n")
    (diagnostic,) = caught.value.diagnostics
    assert (diagnostic.line, diagnostic.col) == (1, 4)
    assert "ambiguous" in diagnostic.message
    assert diagnostic.hint == hint


@pytest.mark.parametrize("text", [".inf", "-.Inf", ".NaN", ".nan", "1e999", "-1e999"])
def test_non_finite_numbers_are_errors(text):
    line, col, _ = only_error(f"v: {text}\n")
    assert (line, col) == (1, 4)


def test_huge_integer_is_an_error_not_a_crash():
    assert "too long" in only_error("v: " + "9" * 5000 + "\n")[2]


@pytest.mark.parametrize("key", ["1", "true", "~", "1.5", "[a]", "{a: 1}"])
def test_keys_must_be_strings(key):
    line, col, message = only_error(f"{key}: x\n")
    assert (line, col) == (1, 1)
    assert message == "keys must be strings; quote it"


def test_yaml_1_1_words_as_keys_are_plain_strings():
    doc = load_text("on: 1\n'1': 2\n")
    assert doc.data == {"on": 1, "1": 2}
    assert doc.warnings == ()


def test_errors_are_collected_in_document_order():
    found = errors_of("a: 0755\nb: .inf\na: 1\n")
    assert [(line, col) for line, col, _ in found] == [(1, 4), (2, 4), (3, 1)]


# --- syntax and shape ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "where", "fragment"),
    [
        ("a:\n\tb: 1\n", (2, 1), "cannot start any token"),
        ('a: "unclosed\n', (2, 1), "end of stream"),
        ("a: 1\n  b: 2\n", (2, 4), "mapping values are not allowed"),
        ("a: [1, 2\n", (2, 1), ""),
        ("a: 1\n---\nb: 2\n", (2, 1), "single document"),
    ],
)
def test_syntax_errors_carry_positions(text, where, fragment):
    line, col, message = only_error(text)
    assert (line, col) == where
    assert message.startswith("invalid YAML: ") and fragment in message


def test_tab_indentation_gets_a_hint():
    with pytest.raises(MappingError) as caught:
        load_text("a:\n\tb: 1\n")
    assert "tabs" in caught.value.diagnostics[0].hint


def test_control_character_is_located():
    line, col, message = only_error("a: 1\nbé: x\x01\n")
    assert (line, col) == (2, 6)
    assert "U+0001" in message


@pytest.mark.parametrize("text", ["", "\n", "# only a comment\n"])
def test_empty_file(text):
    assert only_error(text) == (1, 1, "the file is empty")


@pytest.mark.parametrize("text", ["- a\n", "just text\n", "42\n"])
def test_root_must_be_a_mapping(text):
    assert "must be a YAML mapping" in only_error(text)[2]


def test_error_message_names_the_file():
    with pytest.raises(MappingError) as caught:
        load_text("a: 1\na: 2\n", "maps/m.yaml")
    assert str(caught.value).startswith("maps/m.yaml:2:1: error[AM012]: duplicate key 'a'")


# --- performance ---------------------------------------------------------------------


def test_ten_megabyte_scalar_loads():
    with no_runaway():
        doc = load_text("a: " + "x" * 10_000_000 + "\nb: '" + "y" * 1_000_000 + "'\n")
    assert len(doc.data["a"]) == 10_000_000


def test_ten_thousand_keys_load():
    with no_runaway():
        doc = load_text("".join(f"key{i}: {i}\n" for i in range(10_000)))
    assert len(doc.data) == 10_000
    assert doc.key_marks[("key9999",)] == Mark(10_000, 1)
