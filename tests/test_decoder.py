"""The generated decoder (`decode_line`, `transform_line`) and `run` reading through it.

What the compiler derives from a mapping (the keys each rule reads), what the
module decodes a line into, and the cases where a decoder that skips what the
mapping does not read could change an answer: each decided here, one rule for
both ways of reading a line (tests/test_differential.py checks the byte path
against `transform` on generated mappings and events).
"""

from __future__ import annotations

import io
import json

import orjson
import pytest

from accoil_map import check
from accoil_map.audit import UnsafeModuleError, audit_source
from accoil_map.codegen.decoder import WHOLE, Reads, decoder_plan, reads
from accoil_map.runner import run_stream
from bench import corpus
from tests.conftest import MAPPINGS, ROOT, compiled
from tests.test_differential import import_without_msgspec

BY_NAME = {path.stem: path for path in MAPPINGS}
SOURCES = ("amplitude", "segment", "posthog")


def module_of(name: str):
    return compiled(BY_NAME[name])[1]


def mapping_of(text: str):
    return check(text, filename="m.yaml").mapping


def custom(emit: str, define: str = "", when: str = "") -> str:
    """A one-rule custom mapping around an emit body (YAML lines indented by 6)."""
    head = "version: 1\nname: m\nsource: custom\n" + (f"define:\n{define}" if define else "")
    rule = "rules:\n  - name: r\n" + (f"    when: {json.dumps(when)}\n" if when else "")
    return head + rule + "    emit:\n" + emit


def keys(tree: Reads) -> object:
    """A Reads tree as nested dicts, 'whole' for values read whole."""
    return "whole" if tree.whole else {key: keys(child) for key, child in tree.keys}


# --- what a mapping reads ------------------------------------------------------------------


def test_reads_of_the_amplitude_mapping():
    tree = reads(check(BY_NAME["amplitude"]).mapping)
    assert keys(tree) == {
        "event_properties": {
            "[Amplitude] Page Path": "whole",
            "[Amplitude] Page Title": "whole",
            "trial_end": "whole",
        },
        "event_time": "whole",
        "event_type": "whole",
        "group_properties": "whole",  # dynamic keys: group_properties[type][id]
        "groups": "whole",
        "user_id": "whole",
        "user_properties": "whole",  # copied by $identify
    }


def test_amplitude_identify_is_decoded_again_and_the_rest_reads_two_keys():
    plan = decoder_plan(check(BY_NAME["amplitude"]).mapping)
    assert (plan.selector, plan.selected) == ("event_type", ("$identify",))
    assert keys(plan.fast)["user_properties"] == {"plan_type": "whole", "status": "whole"}
    assert keys(plan.full)["user_properties"] == "whole"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # through a define, and a key read whole as well as through keys: whole
        (
            custom(
                '      type: page\n      timestamp: "{{ p.t }}"\n      name: "{{ a.b }}"\n'
                "      properties: {path: a}\n",
                define="  p: {path: props}\n",
            ),
            {"a": "whole", "props": {"t": "whole"}},
        ),
        # a JMESPath expression outside the compiled subset reads the whole event
        (custom('      type: page\n      timestamp: {path: "to_string(x)"}\n'), "whole"),
        # `@` is the whole event
        (custom('      type: page\n      timestamp: "{{ a }}"\n      properties: {path: "@"}\n'),
         "whole"),
        # an index reads the list whole; a key outside ASCII reads its object whole
        (
            custom('      type: page\n      timestamp: "{{ l[0].t }}"\n      name: "{{ o[\'é\'] }}"\n'),
            {"l": "whole", "o": "whole"},
        ),
        # conditions read too
        (custom('      type: page\n      timestamp: "2024"\n', when="c.d == 'x'"),
         {"c": {"d": "whole"}}),
    ],
    ids=["define-and-whole", "jmespath", "at", "index-and-non-ascii", "condition"],
)
def test_reads(text, expected):
    assert keys(reads(mapping_of(text))) == expected


def test_a_mapping_that_reads_nothing_decodes_an_empty_object():
    assert reads(mapping_of(custom('      type: page\n      timestamp: "2024"\n'))) == Reads(False)
    assert WHOLE.whole


# --- the byte path gives what the dict path gives ---------------------------------------------


def golden_events(name: str) -> list:
    folder = ROOT / "golden" / name / "cases"
    return [json.loads(path.read_text())["event"] for path in sorted(folder.glob("*.json"))]


def reference_output(module, lines: list[bytes]) -> tuple[bytes, list]:
    """What `run` wrote before the decoder: orjson.loads, transform, orjson.dumps."""
    out, outcomes = [], []
    for line in lines:
        reasons: list = []
        try:
            payloads = module.transform(orjson.loads(line), reasons)
        except module.RejectEvent as exc:
            outcomes.append(("reject", str(exc)))
            continue
        out += [orjson.dumps(payload) + b"\n" for payload in payloads]
        outcomes.append(("ok", reasons))
    return b"".join(out), outcomes


@pytest.mark.parametrize("name", SOURCES)
def test_golden_and_corpus_lines_give_the_same_calls_and_bytes(name):
    """Golden cases and 3,000 benchmark events: `run` writes what it wrote before, and
    `transform_line` (msgspec, and json without it) gives `transform`'s calls and reasons."""
    module = module_of(name)
    events = golden_events(name) + corpus.generate(name, 3000)
    lines = [orjson.dumps(event) for event in events]
    expected_out, expected = reference_output(module, lines)
    out = io.BytesIO()
    stats = run_stream(module, io.BytesIO(b"\n".join(lines) + b"\n"), out, None)
    assert out.getvalue() == expected_out
    assert stats.lines == len(lines)
    vendored = import_without_msgspec(compiled(BY_NAME[name])[0], name)
    for decoder in (module, vendored):
        got = []
        for line in lines:
            reasons: list = []
            try:
                decoder.transform_line(line, reasons)
            except decoder.RejectEvent as exc:
                got.append(("reject", str(exc)))
                continue
            got.append(("ok", reasons))
        assert got == expected


# --- where skipping could change an answer, it does not (or as documented) ----------------------

GOOD = {
    "event_type": "Clicked",
    "user_id": "u1",
    "event_time": "2024-05-01 12:00:00.123000",
    "event_properties": {"trial_end": "2024-06-01"},
    "user_properties": {"plan_type": "pro"},
}


def line_with(**extra) -> bytes:
    return json.dumps({**GOOD, **extra}).encode()


def run_lines(module, *lines: bytes) -> tuple[list[dict], list[dict]]:
    """(payloads, reject records) of `run` over the lines."""
    out, rejects = io.BytesIO(), io.BytesIO()
    run_stream(module, io.BytesIO(b"\n".join(lines) + b"\n"), out, rejects)
    payloads = [json.loads(text) for text in out.getvalue().splitlines()]
    return payloads, [json.loads(text) for text in rejects.getvalue().splitlines()]


def test_an_unread_number_beyond_a_double_is_skipped_not_refused():
    """Decided: values the mapping does not read are checked as JSON but not converted."""
    module = module_of("amplitude")
    line = line_with()[:-1] + b', "unread": 1e400, "digits": ' + b"9" * 5000 + b"}"
    assert module.transform_line(line) == module.transform(GOOD)
    payloads, rejects = run_lines(module, line)
    assert payloads == module.transform(GOOD) and rejects == []
    # the rejects file keeps such a line whole, as raw text, when it is recorded
    skipped = line.replace(b'"Clicked"', b'"$identify"').replace(b'"u1"', b'""')
    _, rejects = run_lines(module, skipped)
    assert rejects[0]["raw"] == skipped.decode()


def test_a_read_number_beyond_a_double_refuses_the_line():
    module = module_of("amplitude")
    line = line_with(event_properties={"trial_end": 0}).replace(b'"trial_end": 0', b'"trial_end": 1e400')
    with pytest.raises(module.InvalidLine, match="out of range"):
        module.decode_line(line)
    _, [record] = run_lines(module, line)
    assert record["status"] == "rejected" and record["reason"].startswith("invalid JSON: ")


def test_invalid_utf8_is_refused_where_the_mapping_reads_it_only():
    """Decided, the same rule as for numbers: an unread string is checked as JSON, not
    decoded; a string the mapping reads must be UTF-8."""
    module = module_of("amplitude")
    unread = line_with()[:-1] + b', "unread": "caf\xe9"}'
    assert module.transform_line(unread) == module.transform(GOOD)
    payloads, rejects = run_lines(module, unread)
    assert payloads == module.transform(GOOD) and rejects == []
    read = line_with().replace(b'"u1"', b'"caf\xe9"')
    with pytest.raises(module.InvalidLine):
        module.decode_line(read)
    _, [record] = run_lines(module, read)
    assert record["reason"].startswith("invalid JSON: ") and "utf-8" in record["reason"].lower()
    assert record["raw"] == read.decode("utf-8", "backslashreplace")


def test_integers_beyond_64_bits_are_read_exactly_and_never_rounded_on_output():
    """Decided: exact integers (msgspec and json alike); orjson cannot write one beyond 64 bits,
    so a call body carrying one is rejected with that reason instead of being rounded."""
    module = module_of("amplitude")
    big = 2**70 + 1
    line = line_with(event_properties={"trial_end": big})
    [call] = module.transform_line(line)
    assert call["properties"]["trial_end"] == big
    vendored = import_without_msgspec(compiled(BY_NAME["amplitude"])[0], "amplitude")
    assert vendored.transform_line(line) == [call]
    payloads, [record] = run_lines(module, line)
    assert payloads == [] and "cannot be written as JSON" in record["reason"]


def test_a_type_error_of_the_transform_is_not_called_a_json_writing_error():
    """orjson's JSONEncodeError is a TypeError: one the transform raises is unreadable
    event data, one writing a call body raises is a body that cannot be written."""
    from accoil_map.runner import process_lines

    def failing(event, reasons, nulls=True):
        raise TypeError("boom")

    def unwritable(event, reasons, nulls=True):
        return [{"type": "track", "n": 1 << 70}]

    reasons = []
    for transform in (failing, unwritable):
        records = []
        process_lines(transform, ValueError, [(1, b'{"a": 1}')], [].append, records.append)
        reasons.append(orjson.loads(records[0])["reason"])
    assert reasons[0] == "unreadable event data (TypeError: boom)"
    assert reasons[1].startswith("a call body cannot be written as JSON: ")


def test_number_formatting_does_not_depend_on_the_path():
    """orjson writes every call body: 1e16 comes out as 1e+16 whichever decoder read it."""
    module = module_of("amplitude")
    line = line_with(event_properties={"trial_end": 1e16}, user_properties={"plan_type": 1e-7})
    out = io.BytesIO()
    run_stream(module, io.BytesIO(line + b"\n"), out, None)
    assert b'"trial_end":1e+16' in out.getvalue() and b'"plan_type":1e-7' in out.getvalue()
    assert out.getvalue() == orjson.dumps(module.transform(orjson.loads(line))[0]) + b"\n"


@pytest.mark.parametrize(
    "members",
    [
        b'"event_properties": {"trial_end": "a"}, "event_properties": {"trial_end": "b"}',
        b'"event_properties": {"trial_end": "a"}, "event_properties": 5',
        b'"event_properties": 5, "event_properties": {"trial_end": "b"}',
        b'"user_id": "x", "user_id": "y"',
        b'"event_properties": {"trial_end": "a", "trial_end": "c"}',
    ],
)
def test_duplicate_keys_the_last_one_wins_as_with_orjson(members):
    module = module_of("amplitude")
    line = b'{"event_type": "Clicked", "event_time": "2024-05-01 12:00:00", ' + members + b"}"
    line = line if b"user_id" in members else line[:-1] + b', "user_id": "u"}'
    assert module.transform_line(line, []) == module.transform(orjson.loads(line), [])


def deep(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


@pytest.mark.parametrize("where", ["unread", "user_properties"])
def test_very_deep_nesting_is_a_rejected_line_with_its_reason(where):
    module = module_of("amplitude")
    line = line_with()[:-1] + b', "' + where.encode() + b'": ' + deep(100_000) + b"}"
    with pytest.raises(module.InvalidLine):
        module.decode_line(line)
    payloads, [record] = run_lines(module, line)
    assert payloads == [] and record["status"] == "rejected"
    assert record["reason"].startswith("invalid JSON: ")


def test_nesting_msgspec_refuses_but_orjson_reads_is_read_by_orjson():
    """msgspec stops near Python's recursion limit (1,000), orjson at 1,024: `run` gives
    such a line orjson's verdict, as it did before the decoder."""
    module = module_of("amplitude")
    line = line_with()[:-1] + b', "unread": ' + deep(1010) + b"}"
    with pytest.raises(module.InvalidLine):
        module.decode_line(line)
    payloads, rejects = run_lines(module, line)
    assert payloads == module.transform(GOOD) and rejects == []


@pytest.mark.parametrize(
    "value",
    [b"[1, {\"trial_end\": 2}]", b'"text"', b"42", b"-1.5", b"true", b"null", b"{}"],
)
def test_a_value_of_another_type_than_the_decoder_expects_is_read_whole(value):
    module = module_of("amplitude")
    for field in (b"event_properties", b"user_properties", b"event_type", b"groups"):
        line = b'{"' + field + b'": ' + value + b', "user_id": "u", "event_time": "2024-05-01 12:00:00"}'
        expected = module.transform(orjson.loads(line), reasons := [])
        assert module.transform_line(line, got := []) == expected and got == reasons


@pytest.mark.parametrize("line", [b"[1, 2]", b'"text"', b"12", b"null"])
def test_a_line_that_is_not_an_object_is_rejected_as_before(line):
    module = module_of("amplitude")
    with pytest.raises(module.RejectEvent, match="not a JSON object"):
        module.transform_line(line)


@pytest.mark.parametrize("line", [b"", b"{", b'{"a": NaN}', b"{} x", b'{"a": "\\ud800"}'])
def test_invalid_json_is_refused_by_both_decoders(line):
    module = module_of("segment")
    vendored = import_without_msgspec(compiled(BY_NAME["segment"])[0], "segment")
    for decoder in (module, vendored):
        if decoder is vendored and b"ud800" in line:
            continue  # documented: json reads a lone surrogate escape (README, Limitations)
        with pytest.raises(decoder.InvalidLine):
            decoder.decode_line(line)


def test_identify_events_are_decoded_again_with_the_whole_user_properties():
    module = module_of("amplitude")
    props = {"plan_type": "pro", "email": "a@b.c", "nested": {"x": [1]}}
    line = orjson.dumps({**GOOD, "event_type": "$identify", "user_properties": props})
    assert module.decode_line(line)["user_properties"] == props
    assert module.decode_line(line_with(user_properties=props))["user_properties"] == {
        "plan_type": "pro"
    }


# --- the audit allows the decoder's names, and only those ----------------------------------------


def test_generated_modules_pass_the_audit():
    for path in MAPPINGS:
        audit_source(compiled(path)[0])


@pytest.mark.parametrize(
    "statement",
    [
        "msgspec.json.encode(1)",
        "msgspec.Raw",
        "msgspec.structs.asdict(1)",
        "msgspec.msgpack.Decoder()",
        "typing.get_type_hints(1)",
        "typing.cast(int, 1)",
        "import msgspec.inspect",
    ],
)
def test_the_audit_refuses_other_msgspec_and_typing_names(statement):
    source = f"import msgspec\nimport msgspec.json\nimport typing\n\n{statement}\n"
    with pytest.raises(UnsafeModuleError):
        audit_source(source)


def test_the_audit_allows_what_the_decoder_uses():
    audit_source(
        "import typing\n\ntry:\n    import msgspec\nexcept ImportError:\n    pass\n"
        "T = typing.TypedDict('T', {'a': typing.Any}, total=False)\n"
        "d = msgspec.json.Decoder(T | None).decode\nE = (msgspec.DecodeError, RecursionError)\n"
    )


@pytest.mark.parametrize("name", SOURCES)
def test_counts_are_the_same_with_and_without_a_rejects_file(name):
    """Dropped calls are counted under one cached key when no record is written."""
    module = module_of(name)
    data = b"".join(orjson.dumps(event) + b"\n" for event in corpus.generate(name, 2000))
    counted = run_stream(module, io.BytesIO(data), io.BytesIO(), None)
    recorded = run_stream(module, io.BytesIO(data), io.BytesIO(), io.BytesIO())
    assert counted == recorded
    assert counted.dropped_calls + counted.skipped > 0  # the corpus exercises them


SELECTING = """version: 1
name: m
source: custom
rules:
  - name: copy
    when: "kind == 'copy'"
    emit: {type: identify, userId: "{{ u }}", timestamp: "2024", traits: {path: obj}}
  - name: read
    when: "kind != 'copy'"
    emit: {type: page, timestamp: "{{ obj.t }}"%s}
"""


def test_a_rule_that_widens_a_read_is_selected_unless_everything_is_read_anyway():
    plan = decoder_plan(mapping_of(SELECTING % ""))
    assert (plan.selector, plan.selected) == ("kind", ("copy",))
    assert keys(plan.fast) == {"kind": "whole", "obj": {"t": "whole"}}
    assert keys(plan.full) == {"kind": "whole", "obj": "whole", "u": "whole"}
    whole = decoder_plan(mapping_of(SELECTING % ', name: {path: "to_string(z)"}'))
    assert whole == decoder_plan(mapping_of(SELECTING % ', name: {path: "@"}'))
    assert whole.fast.whole and whole.selector is None


def test_reject_records_are_those_of_the_orjson_path():
    """Invalid lines keep orjson's words (positions included: a line keeps its ending),
    and every record holds the whole event, as before the decoder."""
    from accoil_map.runner import process_lines

    module = module_of("amplitude")
    good = [orjson.dumps(event) + b"\n" for event in corpus.generate("amplitude", 300)]
    bad = [b'{"event_type": "Clicked", "user_id": \n', b"\n", b"[1, 2]\r\n", b"{} x\n"]
    data = b"".join(good[:100] + bad + good[100:])
    calls, rejects = io.BytesIO(), io.BytesIO()
    stats = run_stream(module, io.BytesIO(data), calls, rejects)
    expected_calls, expected_rejects = [], []
    expected = process_lines(
        module.transform,
        module.RejectEvent,
        enumerate(io.BytesIO(data), 1),
        expected_calls.append,
        expected_rejects.append,
    )
    assert calls.getvalue() == b"".join(expected_calls)
    assert rejects.getvalue() == b"".join(expected_rejects)
    assert stats == expected
