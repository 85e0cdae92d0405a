"""Hostile events through `run`: bad lines are rejected one by one, good lines are untouched.

One NDJSON file per shipped mapping mixes good events with truncated JSON,
non-objects, deep nesting, huge numbers, NaN, lone surrogates, a 1 MB string,
non-UTF-8 bytes, CRLF line endings, blank lines and wrong types in every field
the mapping reads. It goes through `run_stream`, the CLI and the CLI with two
workers; the outputs must agree with `module.transform` on each event alone.
"""

from __future__ import annotations

import copy
import gzip
import io
import json
import math
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from accoil_map.runner import (
    Lines,
    LongLine,
    open_input,
    read_lines,
    run_parallel,
    run_stream,
    scan_lines,
)
from accoil_map.schema import payload_schema
from tests.conftest import MAPPINGS, ROOT, compiled

MAPPING_BY_NAME = {path.stem: path for path in MAPPINGS}
SHIPPED_NAMES = [
    name for name in ("amplitude", "segment", "posthog", "rudderstack") if name in MAPPING_BY_NAME
]

# --- good events ---------------------------------------------------------------------

GROUPS = {"Account": ["210000", "100"], "Team": "7"}
GROUP_PROPERTIES = {"Account": {"210000": {"name": "Acme", "plan": "pro"}, "100": {"name": "Old"}},
                    "Team": {"7": {"name": "Red"}}}

GOOD = {
    "amplitude": [
        {"event_type": "Report Created", "user_id": "user-1", "event_time": "2024-05-01 12:00:00.123000",
         "event_properties": {"trial_end": "2024-06-01"}, "user_properties": {"plan_type": "pro", "status": "active"},
         "groups": GROUPS, "group_properties": GROUP_PROPERTIES},
        {"event_type": "[Amplitude] Page Viewed", "user_id": "user-1", "event_time": "2024-05-01 12:00:01",
         "event_properties": {"[Amplitude] Page Title": "Home", "[Amplitude] Page Path": "/"}},
        {"event_type": "$identify", "user_id": "user-2", "event_time": "2024-05-01 12:00:02.5",
         "user_properties": {"email": "a@b.c", "plan_type": "free"}},
        {"event_type": "$groupidentify", "user_id": "user-3", "event_time": "2024-05-01 12:00:03",
         "groups": {"Account": "210000"}, "group_properties": GROUP_PROPERTIES},
        {"event_type": "Clicked", "device_id": "d-1", "event_time": "2024-05-01 12:00:04"},
    ],
    "segment": [
        {"type": "identify", "userId": "u1", "timestamp": "2024-05-01T12:00:00.000Z",
         "traits": {"email": "a@b.c", "name": "A", "role": "admin", "accountStatus": "active",
                    "createdAt": 1714564800, "extra": [1, 2]}},
        {"type": "group", "groupId": "g1", "userId": "u1", "anonymousId": "anon",
         "timestamp": "2024-05-01T12:00:00.000Z", "traits": {"name": "Acme", "mrr": "99.5", "plan": "pro"}},
        {"type": "track", "event": "Report Created", "userId": "u1", "timestamp": "2024-05-01T12:00:00.000Z",
         "properties": {"secret": 1}, "context": {"groupId": "g1"}},
        {"type": "page", "userId": "u1", "name": "Home", "timestamp": "2024-05-01T12:00:00.000Z"},
        {"type": "screen", "userId": "u1", "name": "Main", "timestamp": "2024-05-01T12:00:00.000Z"},
        {"type": "alias", "userId": "u1", "previousId": "u0", "timestamp": "2024-05-01T12:00:00.000Z"},
    ],
    "posthog": [
        {"event": "$identify", "distinct_id": "u1", "timestamp": "2024-05-01T12:00:00+02:00",
         "person": {"properties": {"email": "a@b.c", "name": "A", "$geoip_city": "X", "$ip": "1.2.3.4",
                                   "$current_url": "https://x", "plan": "pro"}}},
        {"event": "$set", "distinct_id": "u1", "timestamp": "2024-05-01T12:00:00Z",
         "person": {"properties": {"role": "admin"}}},
        {"event": "$pageview", "distinct_id": "u1", "timestamp": "2024-05-01T12:00:00Z",
         "properties": {"title": "", "$pathname": "/home"}},
        {"event": "$screen", "distinct_id": "u1", "timestamp": "2024-05-01T12:00:00Z",
         "properties": {"$screen_name": "Main"}},
        {"event": "$groupidentify", "distinct_id": "u1", "timestamp": "2024-05-01T12:00:00Z",
         "properties": {"$group_key": "g1", "$anon_distinct_id": "anon",
                        "$group_set": {"name": "Acme", "mrr": "12", "ip_range": "x"}}},
        {"event": "Report Created", "distinct_id": "u1", "timestamp": 1714564800123},
        {"event": "$autocapture", "distinct_id": "u1", "timestamp": "2024-05-01T12:00:00Z"},
    ],
    "rudderstack": [
        {"type": "identify", "userId": "u1", "timestamp": "2024-05-01T12:00:00.000Z",
         "traits": {"email": "a@b.c", "name": "A", "extra": [1, 2]}},
        {"type": "identify", "anonymousId": "anon", "originalTimestamp": "2024-05-01T12:00:00.000Z",
         "context": {"traits": {"id": "u2", "email": "d@e.f"}}},
        {"type": "group", "groupId": "g1", "anonymousId": "anon",
         "timestamp": "2024-05-01T12:00:00.000Z", "traits": {"name": "Acme", "mrr": "99.5"}},
        {"type": "track", "event": "Report Created", "userId": "u1", "timestamp": "2024-05-01T12:00:00.000Z"},
        {"type": "page", "userId": "u1", "name": "Home", "timestamp": "2024-05-01T12:00:00.000Z"},
        {"type": "screen", "userId": "u1", "name": "Main", "timestamp": "2024-05-01T12:00:00.000Z"},
        {"type": "alias", "userId": "u1", "previousId": "u0", "timestamp": "2024-05-01T12:00:00.000Z"},
    ],
}

# Where each mapping reads the event: (path of keys) -> replaced by wrong types.
READS = {
    "amplitude": [
        ("event_type",), ("user_id",), ("event_time",), ("event_properties",),
        ("event_properties", "[Amplitude] Page Title"), ("event_properties", "[Amplitude] Page Path"),
        ("event_properties", "trial_end"), ("user_properties",), ("user_properties", "plan_type"),
        ("user_properties", "status"), ("groups",), ("groups", "Account"), ("group_properties",),
        ("group_properties", "Account"), ("group_properties", "Account", "210000"),
    ],
    "segment": [
        ("type",), ("userId",), ("timestamp",), ("traits",), ("traits", "email"), ("traits", "name"),
        ("traits", "createdAt"), ("traits", "mrr"), ("traits", "status"), ("groupId",),
        ("anonymousId",), ("event",), ("name",), ("context",),
    ],
    "posthog": [
        ("event",), ("distinct_id",), ("timestamp",), ("properties",), ("properties", "title"),
        ("properties", "$pathname"), ("properties", "$screen_name"), ("properties", "$group_key"),
        ("properties", "$anon_distinct_id"), ("properties", "$group_set"),
        ("properties", "$group_set", "mrr"), ("properties", "$group_set", "name"), ("person",),
        ("person", "properties"), ("person", "properties", "email"),
    ],
    "rudderstack": [
        ("type",), ("userId",), ("anonymousId",), ("timestamp",), ("originalTimestamp",),
        ("traits",), ("traits", "id"), ("context",), ("context", "traits"),
        ("context", "traits", "id"), ("groupId",), ("event",), ("name",),
    ],
}

WRONG_VALUES = [
    42, -1.5, 0, True, False, None, "", "text", "NaN", "Infinity", "1e999", "-0", [], [1, "a"],
    {}, {"a": {"b": 1}}, 1e308, 2**63, -(2**63), 10**30,
]


def wrong_type_events(name: str) -> list[dict]:
    events = []
    for base in GOOD[name]:
        for path in READS[name]:
            for value in WRONG_VALUES:
                event = copy.deepcopy(base)
                target = event
                for key in path[:-1]:
                    if not isinstance(target.get(key), dict):
                        target[key] = {}
                    target = target[key]
                target[path[-1]] = value
                events.append(event)
    return events


def deep(depth: int) -> object:
    value: object = "leaf"
    for _ in range(depth):
        value = [value]
    return value


def passthrough_field(name: str) -> tuple[dict, tuple[str, ...], bool]:
    """A good event, the path of a value the mapping copies into its output, and whether
    it is copied as it is (PostHog's mapping sends only explicit fields, as text)."""
    return {
        "amplitude": (GOOD["amplitude"][2], ("user_properties", "deep"), True),
        "segment": (GOOD["segment"][0], ("traits", "deep"), True),
        "posthog": (GOOD["posthog"][0], ("person", "properties", "email"), False),
        "rudderstack": (GOOD["rudderstack"][0], ("traits", "deep"), True),
    }[name]


def with_value(event: dict, path: tuple[str, ...], value) -> dict:
    event = copy.deepcopy(event)
    target = event
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return event


def dumps(value) -> bytes:
    """JSON text of any value, big integers and 1,000-deep nesting included."""
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10_000))
    try:
        return json.dumps(value, ensure_ascii=False).encode()
    finally:
        sys.setrecursionlimit(limit)


# --- the input file ----------------------------------------------------------------------


@dataclass
class Line:
    raw: bytes  # without the line ending
    ending: bytes = b"\n"
    status: str | None = None  # expected reject status for crafted bad lines
    keywords: tuple[str, ...] = ()  # words the reason must contain (any case)


@dataclass
class Input:
    lines: list[Line] = field(default_factory=list)

    def add(self, raw: bytes, **kwargs) -> None:
        self.lines.append(Line(raw, **kwargs))

    def event(self, event, ending: bytes = b"\n") -> None:
        self.lines.append(Line(dumps(event), ending))

    def data(self) -> bytes:
        return b"".join(line.raw + line.ending for line in self.lines)


def build_input(name: str) -> Input:
    good = GOOD[name]
    data = Input()
    base, path, raw = passthrough_field(name)
    invalid = ("invalid json",)
    not_object = ("not a json object",)
    for event in good:
        data.event(event)
    data.add(json.dumps(good[0]).encode()[:-5], status="rejected", keywords=invalid)  # truncated
    data.add(b"[1, 2, 3]", status="rejected", keywords=(*not_object, "array"))
    data.add(b'"just a string"', status="rejected", keywords=(*not_object, "string"))
    data.add(b"12345", status="rejected", keywords=(*not_object, "number"))
    data.add(b"null", status="rejected", keywords=(*not_object, "null"))
    data.add(b"true", status="rejected", keywords=(*not_object, "boolean"))
    data.event(good[1 % len(good)], ending=b"\r\n")
    data.add(b'{"a": NaN}', status="rejected", keywords=invalid)
    data.add(b'{"a": Infinity, "b": -Infinity}', status="rejected", keywords=invalid)
    # in a field the mapping reads (an unread one is skipped, not converted: tests/test_decoder.py)
    read = READS[name][1][0].encode()
    data.add(b'{"' + read + b'": ' + b"9" * 5000 + b"}", status="rejected", keywords=(*invalid, "number"))
    data.add(b'{"type": "track", "event": "\\ud800", "userId": "u"}', status="rejected", keywords=invalid)
    data.add(b'{"\\udfff": 1}', status="rejected", keywords=invalid)
    data.add(b'{"' + read + b'": "caf\xe9", "type": "track", "event": "x"}', status="rejected",
             keywords=(*invalid, "utf-8"))  # in a field the mapping reads, as above
    data.add(b"\xff\xfe{}", status="rejected", keywords=invalid)
    data.add(b"\xef\xbb\xbf" + json.dumps(good[0]).encode(), status="rejected", keywords=invalid)
    data.add(b"")  # empty line
    data.add(b"   \t ", ending=b"\r\n")  # blank line with CRLF
    data.add(b"{" * 3000 + b"}" * 3000, status="rejected", keywords=invalid)
    data.add(b"[" * 5000 + b"]" * 5000, status="rejected", keywords=invalid)
    data.add(b"{}{}", status="rejected", keywords=invalid)
    data.add(b"{} trailing", status="rejected", keywords=invalid)
    data.add(b'{"a": 1,}', status="rejected", keywords=invalid)
    data.add(b"{'single': 'quotes'}", status="rejected", keywords=invalid)
    # valid JSON that the mapping must cope with
    data.event({**good[0], "unread": deep(1000)})  # 1,000-deep nesting in a field not read
    data.event(with_value(base, path, deep(1000)))  # and in one copied to the output:
    if raw:  # too deep to write (as text, it is a string)
        data.lines[-1].status, data.lines[-1].keywords = "rejected", ("json",)
    data.event(with_value(base, path, deep(200)))
    data.event({**good[0], "big": 10**300})
    data.event({**good[0], "blob": "x" * 1_000_000})
    data.event(with_value(base, path, "y" * 1_000_000))
    data.event({**good[0], "\u0000": "\u0000", "\u2028": "\u2029", "emoji": "\U0001f600"})
    data.event({})
    for event in wrong_type_events(name):
        data.event(event)
    for event in good:  # good events again, CRLF
        data.event(event, ending=b"\r\n")
    data.lines[-1].ending = b""  # the last line has no line ending
    return data


# --- what the run must give -----------------------------------------------------------------


def exact_loads(raw: bytes):
    """The event as `run` reads it: integers of any size exactly, 1,000-deep nesting included."""
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10_000))
    try:
        return strict_loads(raw)
    finally:
        sys.setrecursionlimit(limit)


def strict_loads(raw: bytes):
    def refuse(constant):
        raise ValueError(f"non-standard JSON constant {constant}")

    return json.loads(raw, parse_constant=refuse)


@dataclass
class Expected:
    payloads: list[dict]
    statuses: dict[int, str]  # line -> expected status of the crafted bad lines
    keywords: dict[int, tuple[str, ...]]


def expectations(module, data: Input) -> Expected:
    """What each line gives when its event is transformed alone."""
    payloads: list[dict] = []
    statuses, keywords = {}, {}
    for number, line in enumerate(data.lines, 1):
        if line.status is not None:
            statuses[number], keywords[number] = line.status, line.keywords
            continue
        if not line.raw.strip():
            continue
        event = exact_loads(line.raw)
        try:
            calls = module.transform(event)
        except module.RejectEvent:
            continue
        try:
            encoded = [orjson.dumps(call) for call in calls]
        except orjson.JSONEncodeError:
            continue  # the runner rejects the line: checked below
        payloads += [orjson.loads(text) for text in encoded]
    return Expected(payloads, statuses, keywords)


_VALIDATOR = Draft202012Validator(payload_schema())


def check_outputs(out: bytes, rejects: bytes, data: Input, expected: Expected) -> dict:
    """Assert everything the brief asks of one run; return the reject records by line."""
    lines = out.split(b"\n")
    assert lines[-1] == b""
    payloads = [strict_loads(line) for line in lines[:-1]]  # no NaN / Infinity anywhere
    assert payloads == expected.payloads
    records: dict[int, list[dict]] = {}
    for text in rejects.splitlines():
        record = strict_loads(text)
        assert set(record) >= {"line", "status", "reason"}
        assert 1 <= record["line"] <= len(data.lines)
        records.setdefault(record["line"], []).append(record)
    for number, status in expected.statuses.items():
        found = records.get(number, [])
        assert len(found) == 1, (number, data.lines[number - 1].raw[:80], found)
        assert found[0]["status"] == status
        reason = found[0]["reason"].lower()
        for word in expected.keywords[number]:
            assert word in reason, (number, word, found[0]["reason"])
    # blank lines are counted, never recorded
    for number, line in enumerate(data.lines, 1):
        if not line.raw.strip():
            assert number not in records
    check_payload_schema(payloads)
    return records


def check_payload_schema(payloads: list[dict]) -> None:
    """Every call body is a valid Accoil payload; failures summarised by call type and key."""
    broken: dict[tuple, list] = {}
    for payload in payloads:
        for error in _VALIDATOR.iter_errors(payload):
            where = ".".join(str(part) for part in error.absolute_path) or "(body)"
            broken.setdefault((payload.get("type"), where, error.validator), []).append(error.instance)
    summary = {key: f"{len(found)}x, e.g. {found[0]!r:.60}" for key, found in broken.items()}
    assert not broken, f"payloads break the Accoil payload schema: {summary}"


def check_reasons_are_readable(records: dict[int, list[dict]]) -> None:
    for found in records.values():
        for record in found:
            reason = record["reason"]
            assert reason and "Traceback" not in reason and len(reason) < 2000, reason
            assert record["status"] in ("rejected", "skipped", "dropped")


SUMMARY = re.compile(
    r"(\d+) lines: (\d+) emitted \((\d+) calls\), (\d+) skipped, (\d+) rejected(?:, (\d+) blank)?"
)


def check_summary(text: str, data: Input, calls: int) -> None:
    match = SUMMARY.search(text)
    assert match, text
    lines, emitted, ncalls, skipped, rejected, blank = (int(g or 0) for g in match.groups())
    assert lines == len(data.lines)
    assert lines == emitted + skipped + rejected + blank
    assert ncalls == calls
    assert blank == sum(1 for line in data.lines if not line.raw.strip())


# --- the runs -----------------------------------------------------------------------------


@pytest.fixture(scope="module", params=SHIPPED_NAMES)
def case(request, tmp_path_factory):
    name = request.param
    _, module, _ = compiled(MAPPING_BY_NAME[name])
    data = build_input(name)
    path = tmp_path_factory.mktemp(name) / "in.ndjson"
    path.write_bytes(data.data())
    return name, module, data, path, expectations(module, data)


def test_run_stream(case):
    _, module, data, path, expected = case
    out, rejects = io.BytesIO(), io.BytesIO()
    with path.open("rb") as infile:
        stats = run_stream(module, infile, out, rejects)
    records = check_outputs(out.getvalue(), rejects.getvalue(), data, expected)
    check_reasons_are_readable(records)
    assert stats.lines == len(data.lines)
    assert stats.lines == stats.emitted + stats.skipped + stats.rejected + stats.blank
    assert stats.calls == len(expected.payloads)
    rejected_lines = {n for n, found in records.items() if any(r["status"] == "rejected" for r in found)}
    skipped_lines = {n for n, found in records.items() if any(r["status"] == "skipped" for r in found)}
    assert len(rejected_lines) == stats.rejected
    assert len(skipped_lines) == stats.skipped


@pytest.mark.parametrize("workers", [1, 2])
def test_cli_run(case, workers, tmp_path):
    name, _, data, path, expected = case
    out, rejects = tmp_path / "out.ndjson", tmp_path / "rejects.ndjson"
    result = subprocess.run(
        [sys.executable, "-m", "accoil_map", "run", str(MAPPING_BY_NAME[name]), "-i", str(path),
         "-o", str(out), "--rejects", str(rejects), "--workers", str(workers)],
        capture_output=True, text=True, timeout=120, cwd=ROOT, check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    records = check_outputs(out.read_bytes(), rejects.read_bytes(), data, expected)
    check_reasons_are_readable(records)
    check_summary(result.stderr, data, len(expected.payloads))


@pytest.mark.parametrize("shape", ["plain file", "gzip file", "stream"])
def test_run_parallel_gives_run_stream_output_chunk_by_chunk(case, shape, tmp_path):
    """Small chunks, so every line boundary case meets a chunk edge somewhere."""
    name, module, _, path, _ = case
    expected_out, expected_rejects = io.BytesIO(), io.BytesIO()
    with path.open("rb") as infile:
        expected = run_stream(module, infile, expected_out, expected_rejects)
    source, _, _ = compiled(MAPPING_BY_NAME[name])
    if shape == "gzip file":
        zipped = tmp_path / "in.ndjson.gz"
        zipped.write_bytes(gzip.compress(path.read_bytes()))
        infile = open_input(str(zipped))
    elif shape == "plain file":
        infile = open_input(str(path))
    else:
        infile = io.BytesIO(path.read_bytes())
    out, rejects = io.BytesIO(), io.BytesIO()
    with infile:
        stats = run_parallel(source, name, infile, out, rejects, workers=2, chunk_bytes=200)
    assert out.getvalue() == expected_out.getvalue()
    assert rejects.getvalue() == expected_rejects.getvalue()
    assert stats == expected


def test_line_numbers_of_bad_lines_in_reject_records(case):
    """Each reject record carries its own line's event or raw text."""
    _, module, data, path, _ = case
    out, rejects = io.BytesIO(), io.BytesIO()
    with path.open("rb") as infile:
        run_stream(module, infile, out, rejects)
    records = [orjson.loads(text) for text in rejects.getvalue().splitlines()]
    for record in records:
        line = data.lines[record["line"] - 1]
        if "raw" in record:
            assert record["raw"] == line.raw.decode("utf-8", "backslashreplace").rstrip("\r\n")
        elif "event" in record:
            assert record["event"] == orjson.loads(line.raw)


def test_big_integer_ids_keep_their_digits():
    """JSON has no integer limit: an id beyond 64 bits must not become a float or vanish."""
    _, module, _ = compiled(MAPPING_BY_NAME["amplitude"])
    big = 2**64 + 1
    event = {**GOOD["amplitude"][3], "groups": {"Account": big},
             "group_properties": {"Account": {str(big): {"name": "Big"}}}}
    out = io.BytesIO()
    stats = run_stream(module, io.BytesIO(dumps(event) + b"\n"), out, io.BytesIO())
    assert stats.emitted == 1, stats.summary()
    [payload] = [strict_loads(line) for line in out.getvalue().splitlines()]
    assert payload["groupId"] == str(big)
    assert payload["traits"]["name"] == "Big"


# --- hypothesis: arbitrary JSON-ish events ----------------------------------------------------

FIELD_NAMES = sorted({key for paths in READS.values() for path in paths for key in path}
                     | {"Account", "Team", "210000", "7", "deep", "$ip", "geoip", "current_url"})
EVENT_NAMES = ["$identify", "$groupidentify", "$set", "$pageview", "$screen", "$autocapture",
               "[Amplitude] Page Viewed", "identify", "group", "track", "page", "screen", "x", ""]

_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)
    | st.sampled_from(EVENT_NAMES)
    | st.sampled_from(["2024-05-01 12:00:00.123", "2024-02-30T00:00:00Z", "1714564800", "1e5",
                       "-0.5", "99999999999999999999", "true", "NaN", "1e999"])
)
_keys = st.sampled_from(FIELD_NAMES) | st.text(max_size=8)
json_values = st.recursive(
    _scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_keys, children, max_size=5),
    max_leaves=12,
)
events = st.dictionaries(_keys, json_values, max_size=12) | json_values


def assert_finite(value) -> None:
    if isinstance(value, float):
        assert math.isfinite(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            assert isinstance(key, str)
            assert_finite(item)
    elif isinstance(value, list):
        for item in value:
            assert_finite(item)


@pytest.mark.parametrize("name", SHIPPED_NAMES)
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(event=events)
def test_arbitrary_events_only_ever_reject(name, event):
    _, module, _ = compiled(MAPPING_BY_NAME[name])
    reasons: list = []
    try:
        payloads = module.transform(event, reasons)
    except module.RejectEvent as exc:
        assert str(exc)
        return
    assert isinstance(payloads, list)
    for payload in payloads:
        orjson.dumps(payload)
        json.dumps(payload, allow_nan=False)
        assert_finite(payload)
    for rule, missing in reasons:
        assert isinstance(rule, str) and missing and all(isinstance(key, str) for key in missing)


@pytest.mark.parametrize("name", SHIPPED_NAMES)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(event=st.dictionaries(st.sampled_from(FIELD_NAMES), json_values, max_size=8))
def test_arbitrary_events_through_the_runner(name, event):
    """The same, as an NDJSON line: one outcome per line, never an exception."""
    _, module, _ = compiled(MAPPING_BY_NAME[name])
    out, rejects = io.BytesIO(), io.BytesIO()
    stats = run_stream(module, io.BytesIO(orjson.dumps(event) + b"\n"), out, rejects)
    assert stats.lines == 1 == stats.emitted + stats.skipped + stats.rejected + stats.blank
    for line in out.getvalue().splitlines():
        strict_loads(line)


def test_inputs_cover_every_shipped_mapping():
    assert set(SHIPPED_NAMES) == set(GOOD) == set(READS)
    assert Path(ROOT / "mappings").is_dir()


# --- reading in bounded pieces ------------------------------------------------------------------


class _ShortReads(io.RawIOBase):
    """A stream that returns fewer bytes than asked, as a pipe does."""

    def __init__(self, data: bytes, sizes: list[int]):
        self.data, self.position, self.sizes = data, 0, sizes or [1]

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        size = self.sizes[self.position % len(self.sizes)]
        piece = self.data[self.position : self.position + min(size, len(buffer))]
        buffer[: len(piece)] = piece
        self.position += len(piece)
        return len(piece)


@settings(max_examples=300, deadline=None)
@given(
    lines=st.lists(st.binary(max_size=30).map(lambda b: b.replace(b"\n", b"")), max_size=15),
    newline_at_end=st.booleans(),
    size=st.integers(1, 64),
    limit=st.integers(1, 40),
    reads=st.lists(st.integers(1, 50), max_size=5),
)
def test_readers_give_every_line_once_and_long_ones_by_number(
    lines, newline_at_end, size, limit, reads
):
    """Lists of whole lines (`read_lines`) or where they are (`scan_lines`), and a
    LongLine (number, length) for each line over the limit, in input order, whatever
    the reads return."""
    data = b"\n".join(lines) + (b"\n" if newline_at_end and lines else b"")
    expected = []
    for number, line in enumerate(io.BytesIO(data), 1):  # split at b"\n" only
        content = line.rstrip(b"\n")
        expected.append(("long", number, len(content)) if len(content) > limit else ("line", number, line))
    assert _read_pieces(scan_lines, data, reads, size, limit) == expected
    assert _read_pieces(read_lines, data, reads, size, limit) == expected


def _read_pieces(reader, data: bytes, reads: list[int], size: int, limit: int) -> list:
    """("line", number, bytes) and ("long", number, length) for what a reader gives."""
    got = []
    stream = io.BufferedReader(_ShortReads(data, reads), buffer_size=16)
    for piece in reader(stream, size, limit):
        if isinstance(piece, LongLine):
            got.append(("long", piece.number, piece.length))
            continue
        if isinstance(piece, Lines):
            got += [("line", piece.first_line + n, line) for n, line in enumerate(piece.lines)]
            continue
        span = data[piece.offset : piece.offset + piece.length]
        got += [("line", piece.first_line + n, line) for n, line in enumerate(io.BytesIO(span))]
    return got
