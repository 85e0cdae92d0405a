"""Differential property tests: generated modules agree with the reference interpreter.

For every generated (mapping, event) pair the compiled module's
`transform(event, reasons)` and `Interpreter(mapping).transform(event, reasons)`
(and the module's byte path, `transform_line` of the event's JSON line, decoded
by msgspec into the fields the mapping reads, or by json without msgspec)
must return the same payloads (compared with ==, with `repr` and as JSON text,
so key order, int/float and bool/int differences count), the same reasons,
or both raise RejectEvent with the same message; neither may raise anything
else, and neither may mutate the event. The JMESPath subset that the
compiler lowers into IR must evaluate like `jmespath.search` on the original
text, except for the documented divergences.

Default run: a few hundred examples per test, the whole file in well under a
minute on two cores.

Deep run: the `@pytest.mark.deep` variants use thousands of examples (5,000 by
default, `ACCOIL_DEEP_EXAMPLES=N` to change). They are skipped unless selected
with the marker or enabled by the environment::

    python -m pytest tests/test_differential.py -m deep
    ACCOIL_DEEP=1 python -m pytest tests/test_differential.py
"""

from __future__ import annotations

import copy
import functools
import json
import os
import sys
import warnings
from pathlib import Path

import jmespath
import jmespath.exceptions
import orjson
import pytest
from hypothesis import HealthCheck, Phase, find, given, note, settings
from hypothesis import strategies as st
from hypothesis.errors import NoSuchExample

from accoil_map import check, ir, runtime
from accoil_map.codegen import generate
from accoil_map.errors import MappingError
from accoil_map.interpreter import Interpreter, Scope, evaluate
from accoil_map.lower_jmespath import lower_jmespath
from accoil_map.modules import import_source
from accoil_map.runner import process_lines
from tests import strategies as S

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = sorted((ROOT / "mappings").glob("*.yaml"))

DEEP_EXAMPLES = int(os.environ.get("ACCOIL_DEEP_EXAMPLES", "5000"))
_COMMON = {
    "deadline": None,
    "database": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}
# One bug at a time: shrinking every distinct failure of a generated mapping is slow.
DEFAULT = settings(max_examples=150, report_multiple_bugs=False, **_COMMON)
DEEP = settings(max_examples=DEEP_EXAMPLES, report_multiple_bugs=False, **_COMMON)


# --------------------------------------------------------------------------
# Compiling (cached by YAML text) and running both implementations
# --------------------------------------------------------------------------


class Compiled:
    """A mapping compiled both ways: the generated module and the interpreter."""

    def __init__(self, mapping: ir.Mapping, text: str):
        self.text = text
        self.mapping = mapping
        self.source = generate(mapping)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            self.module = import_source(self.source, mapping.name)
        #: Warnings raised while compiling the generated source (e.g. SyntaxWarning).
        self.warnings = [f"{w.category.__name__}: {w.message}" for w in caught]
        self.interpreter = Interpreter(mapping)
        #: The same module where msgspec is not installed: lines are decoded by json.
        self.without_msgspec = import_without_msgspec(self.source, mapping.name)


def import_without_msgspec(source: str, name: str):
    """The module as a vendored copy sees it where msgspec is not installed."""
    saved = sys.modules.get("msgspec")
    sys.modules["msgspec"] = None  # `import msgspec` raises ImportError
    try:
        module = import_source(source, name)
    finally:
        if saved is None:
            del sys.modules["msgspec"]
        else:
            sys.modules["msgspec"] = saved
    assert not module.HAS_MSGSPEC
    return module


def as_line(event) -> list[bytes]:
    """NDJSON lines of the event (escaped and not), or none when JSON cannot carry it."""
    try:
        return [json.dumps(event, ensure_ascii=ascii, allow_nan=False).encode() for ascii in (0, 1)]
    except (ValueError, TypeError, UnicodeEncodeError, RecursionError):
        return []  # NaN, infinities, lone surrogates: no JSON line holds them


@functools.lru_cache(maxsize=256)
def compiled_text(text: str) -> Compiled:
    try:
        mapping = check(text, filename="generated.yaml").mapping
    except MappingError as exc:  # a strategy bug, or a compiler that rejects a valid mapping
        problems = "\n".join(d.format() for d in exc.diagnostics)
        raise AssertionError(f"generated mapping rejected:\n{problems}\n--- YAML ---\n{text}")
    return Compiled(mapping, text)


@functools.cache
def compiled_file(path: Path) -> Compiled:
    return Compiled(check(path).mapping, path.read_text(encoding="utf-8"))


def _strict(value) -> str:
    """Text that differs whenever values differ in type, key order or content."""
    try:
        dumped = json.dumps(value, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        dumped = f"<not JSON: {exc}>"
    return f"{dumped}\n{value!r}"


def _run(transform, reject_class, event, with_reasons: bool = True):
    """('ok', payloads, reasons) | ('reject', message, None) | ('crash', text, None)."""
    reasons = [] if with_reasons else None
    try:
        payloads = transform(event, reasons)
    except reject_class as exc:
        return ("reject", str(exc), None)
    except Exception as exc:  # noqa: BLE001 - any other exception is a finding
        return ("crash", f"{type(exc).__name__}: {exc}", None)
    return ("ok", payloads, reasons)


def assert_agree(compiled: Compiled, event) -> None:
    """The compiled module and the interpreter do the same thing with `event`."""
    original = _strict(event)
    event_c, event_i, event_n = (copy.deepcopy(event) for _ in range(3))
    got_c = _run(compiled.module.transform, compiled.module.RejectEvent, event_c)
    got_i = _run(compiled.interpreter.transform, runtime.RejectEvent, event_i)
    got_n = _run(compiled.module.transform, compiled.module.RejectEvent, event_n, False)

    def context() -> str:
        return (
            f"\n--- mapping ---\n{compiled.text}\n--- event ---\n{original}"
            f"\n--- compiled ---\n{got_c!r}\n--- interpreted ---\n{got_i!r}"
        )

    assert got_c[0] != "crash", "compiled module crashed" + context()
    assert got_i[0] != "crash", "interpreter crashed" + context()
    assert got_c[0] == got_i[0], "one rejects, the other does not" + context()
    if got_c[0] == "reject":
        assert got_c[1] == got_i[1], "different reject messages" + context()
        assert got_n[:2] == got_c[:2], "reasons=None changes the outcome" + context()
    else:
        assert got_c[1] == got_i[1], "different payloads" + context()
        assert _strict(got_c[1]) == _strict(got_i[1]), "payloads differ in type or key order" + (
            context()
        )
        assert got_c[2] == got_i[2], "different reasons" + context()
        assert _strict(got_c[2]) == _strict(got_i[2]), "reasons differ in type" + context()
        assert got_n[0] == "ok" and _strict(got_n[1]) == _strict(got_c[1]), (
            "reasons=None changes the payloads" + context()
        )
    for name, after in (("compiled", event_c), ("interpreter", event_i), ("compiled", event_n)):
        assert _strict(after) == original, f"the {name} transform mutated the event" + context()
    assert_deferred_agrees(compiled.module, event, got_c)
    assert_byte_path_agrees(compiled, event, got_c)


def _run_line(module, line: bytes):
    return _run(module.transform_line, module.RejectEvent, line)


def _json_lines(payloads: list) -> bytes | None:
    """The payloads as `run` writes them; None when orjson cannot write one."""
    try:
        return b"".join(orjson.dumps(p, option=orjson.OPT_APPEND_NEWLINE) for p in payloads)
    except orjson.JSONEncodeError:
        return None


def assert_run_agrees(module, line: bytes, expected) -> None:
    """`run`'s loop, whose transform leaves the nulls inside values to be found in the
    JSON it writes, writes what `transform` gives and records as many outcomes."""
    written: list[bytes] = []
    records: list[bytes] = []
    process_lines(
        module.transform, module.RejectEvent, [(1, line)], written.append, records.append,
        module.decode_line,
    )
    kind, payloads, reasons = expected
    lines = _json_lines(payloads) if kind == "ok" else None
    if lines is None:  # rejected, by transform or by orjson: one record, nothing written
        assert (written, len(records)) == ([], 1), (line, expected, records)
        return
    assert b"".join(written) == lines, (line, expected, written)
    assert len(records) == (len(reasons) or (0 if payloads else 1)), (line, expected, records)


def assert_deferred_agrees(module, event, expected) -> None:
    """`transform(event, reasons, False)` skips only the nulls inside values: with none in
    its JSON, it gives what the full check gives, reasons included."""
    reasons: list = []
    try:
        payloads = module.transform(copy.deepcopy(event), reasons, False)
    except module.RejectEvent as exc:
        assert expected == ("reject", str(exc), None)
        return
    lines = _json_lines(payloads)
    if lines is not None and b"null" not in lines:
        assert _strict(("ok", payloads, reasons)) == _strict(expected), (event, payloads)


def assert_byte_path_agrees(compiled: Compiled, event, expected) -> None:
    """`transform_line` of the event's JSON line, decoded by msgspec into the fields the
    mapping reads (and by json without msgspec), gives what `transform(event)` gives:
    the same payloads, reasons and rejections."""
    for line in as_line(event):
        for module in (compiled.module, compiled.without_msgspec):
            got = _run_line(module, line)
            decoded = "msgspec" if module.HAS_MSGSPEC else "json"
            assert _strict(got) == _strict(expected), (
                f"transform_line ({decoded}) differs from transform"
                f"\n--- mapping ---\n{compiled.text}\n--- line ---\n{line!r}"
                f"\n--- transform ---\n{expected!r}\n--- transform_line ---\n{got!r}"
            )
        if expected[0] != "crash":
            assert_run_agrees(compiled.module, line, expected)


# --------------------------------------------------------------------------
# Generated mappings x generated events
# --------------------------------------------------------------------------


def _differential(case) -> None:
    text, events = case
    compiled = compiled_text(text)
    note(f"mapping:\n{text}")
    for event in events:
        assert_agree(compiled, event)


@DEFAULT
@given(S.mapping_and_events())
def test_compiled_agrees_with_interpreter(case):
    _differential(case)


@DEFAULT
@given(S.mapping_and_events(shared=True))
def test_compiled_agrees_with_interpreter_when_rules_share_values(case):
    """Values named in one rule, rebound by another, read again by a third."""
    _differential(case)


@pytest.mark.deep
@DEEP
@given(S.mapping_and_events(max_events=6, shared=True))
def test_compiled_agrees_with_interpreter_when_rules_share_values_deep(deep, case):
    _differential(case)


@pytest.mark.deep
@DEEP
@given(S.mapping_and_events(max_events=6))
def test_compiled_agrees_with_interpreter_deep(deep, case):
    _differential(case)


def _custom(emit: str, define: str = "", require: str = "") -> str:
    """A one-rule custom mapping around an emit body (YAML lines indented by 6)."""
    head = "version: 1\nname: regression\nsource: custom\n"
    rule = "rules:\n  - name: r\n" + (f"    require: [{require}]\n" if require else "")
    return head + (f"define:\n{define}" if define else "") + rule + "    emit:\n" + emit


#: Minimal counterexamples found by the generated tests, kept as fixed cases.
REGRESSIONS = {
    # `| join` without a separator crashed the compiled module (TypeError).
    "join-without-separator": (
        _custom('      type: page\n      timestamp: "{{ ts | join }}"\n'),
        [{"ts": ["a", 1]}, {}],
    ),
    # A number literal inside a text template generated `0.__class__` (SyntaxError).
    "number-in-text-template": (
        _custom('      type: page\n      timestamp: "a{{ 0 }} {{ -0.5 }}"\n'),
        [{}],
    ),
    # A text template stops at its first missing part in the interpreter; the compiled
    # module evaluated every part first, so a define that rejects (a JMESPath type
    # error) after a missing part rejected the whole event.
    "template-evaluates-every-part-in-order": (
        _custom(
            '      type: page\n      timestamp: "{{ a }}{{ n }}"\n',
            define='  n: {path: "length(b)"}\n',
        ),
        [{}, {"a": "x", "b": "yz"}],
    ),
    # A required key typed as an object (properties, traits, context) or a list
    # (groupTraits) was accepted by the compiled module when its value was text.
    "typed-required-key-given-text": (
        _custom(
            '      type: page\n      timestamp: "2024"\n      properties: "x{{ kind }}"\n'
            '      traits: {path: kind, as: timestamp}\n',
            require="properties, traits",
        ),
        [{"kind": "2024-05-01"}],
    ),
    # List items are evaluated in order: with two rejecting items, the first one's
    # message wins (the compiled module built the object item first).
    "list-items-in-order": (
        _custom(
            "      type: page\n      timestamp:\n"
            '        - {path: "length(a)"}\n'
            '        - {email: {path: "starts_with(b, `1`)"}}\n'
        ),
        [{}],
    ),
    # type() of a constant compared with 'null' generated `'$identify' is not None`
    # (SyntaxError): a constant's type is decided when compiling.
    "type-of-a-constant": (
        _custom(
            "      type: page\n      timestamp: \"2024\"\n"
            "      name: {path: \"type(`\\\"$identify\\\"`) != 'null'\", as: string}\n"
            "      email: {path: \"type(`1`) == 'null' || type(`null`) == 'null'\"}\n"
            "      role: {path: \"type(`[1]`) == 'array' && type(`1.5`) != 'number'\"}\n"
        ),
        [{}],
    ),
}


@pytest.mark.parametrize("name", sorted(REGRESSIONS))
def test_known_counterexamples(name):
    text, events = REGRESSIONS[name]
    compiled = compiled_text(text)
    for event in events:
        assert_agree(compiled, event)


@settings(max_examples=50, report_multiple_bugs=False, **_COMMON)
@given(S.mappings())
def test_generated_modules_compile_without_warnings(case):
    """Generated source compiles cleanly (no SyntaxWarning such as `'' is None`)."""
    compiled = compiled_text(case[0])
    assert not compiled.warnings, f"{compiled.warnings}\n--- mapping ---\n{case[0]}"


# --------------------------------------------------------------------------
# Shipped mappings x source-shaped events
# --------------------------------------------------------------------------


def _shipped_ids():
    return [path.stem for path in SHIPPED]


def _shipped(path: Path, event) -> None:
    assert_agree(compiled_file(path), event)


def _source_of(path: Path) -> str:
    return compiled_file(path).mapping.source


@pytest.mark.parametrize("path", SHIPPED, ids=_shipped_ids())
def test_shipped_mapping_agrees_with_interpreter(path):
    source = _source_of(path)

    @DEFAULT
    @given(S.any_event(source))
    def run(event):
        _shipped(path, event)

    run()


@pytest.mark.deep
@pytest.mark.parametrize("path", SHIPPED, ids=_shipped_ids())
def test_shipped_mapping_agrees_with_interpreter_deep(deep, path):
    source = _source_of(path)

    @DEEP
    @given(S.any_event(source))
    def run(event):
        _shipped(path, event)

    run()


@pytest.mark.parametrize("path", SHIPPED, ids=_shipped_ids())
def test_strategies_reach_the_shipped_rules(path):
    """Sanity check of the event strategies: every shipped rule emits on some generated event."""
    compiled = compiled_file(path)
    search = settings(max_examples=3000, phases=[Phase.generate], **_COMMON)

    rules = {rule.name for rule in compiled.mapping.rules}
    reached: set[str] = set()

    def all_reached(event) -> bool:
        try:
            traces = compiled.interpreter.trace(event)
        except runtime.RejectEvent:
            return False
        reached.update(t.rule for t in traces if t.payload is not None)
        return reached >= rules

    try:
        find(S.well_formed_events(compiled.mapping.source), all_reached, settings=search)
    except NoSuchExample:
        pytest.fail(f"{path.stem}: no generated event makes {sorted(rules - reached)} emit")


# --------------------------------------------------------------------------
# The compiled JMESPath subset against jmespath.search
# --------------------------------------------------------------------------

_DUMMY = ir.Mapping("jp", "custom", "jp.yaml", "", (), ())


def lower_path(text: str) -> ir.Expr:
    return lower_jmespath(text)


def _jmespath_agrees(text: str, data) -> None:
    expr = lower_path(text)
    note(f"IR: {expr!r}")
    try:
        expected = ("ok", jmespath.search(text, copy.deepcopy(data)))
    except TypeError as exc:
        # Documented divergences: jmespath raises TypeError for an ordering
        # comparison of a number with a string, and for contains() of a
        # non-string in a string; the compiled subset gives null / false.
        expected = ("typeerror", str(exc))
    except (jmespath.exceptions.JMESPathError, ValueError) as exc:
        # A ValueError too: merge() lays later arguments over the first with
        # dict.update, which refuses a string such as "0"; jp_search rejects for both.
        expected = ("error", str(exc))
    try:
        got = ("ok", evaluate(expr, Scope(_DUMMY, copy.deepcopy(data))))
    except runtime.RejectEvent as exc:
        got = ("error", str(exc))
    if expected[0] == "typeerror":
        return
    if expected[0] == "error":
        assert got[0] == "error", f"jmespath raised {expected[1]!r}, the IR gave {got!r}"
        return
    assert got[0] == "ok", f"the IR rejected ({got[1]!r}); jmespath gave {expected[1]!r}"
    assert _strict(got[1]) == _strict(expected[1]), (
        f"{text!r} over {data!r}: IR {got[1]!r}, jmespath {expected[1]!r}"
    )


_SUBSET = st.tuples(S.jp_expr("custom", 3, fallback=False), S.JP_DATA)
_ANY_JP = st.tuples(S.jp_expr("custom", 3, fallback=True), S.JP_DATA)


@DEFAULT
@given(_SUBSET)
def test_jmespath_subset_matches_jmespath(case):
    text, data = case
    assert not isinstance(lower_path(text), ir.Jmes), f"{text!r} should be in the compiled subset"
    _jmespath_agrees(text, data)


@DEFAULT
@given(_ANY_JP)
def test_jmespath_with_fallback_matches_jmespath(case):
    _jmespath_agrees(*case)


@pytest.mark.deep
@DEEP
@given(_SUBSET)
def test_jmespath_subset_matches_jmespath_deep(deep, case):
    _jmespath_agrees(*case)
