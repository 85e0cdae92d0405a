"""`infer-schema`: a JSON Schema of a source's events, inferred from sample NDJSON by genson.

A mapping names the result as its source's `events_schema`; its names and
paths are then checked against the fields the samples have. The output is
deterministic: the same samples give the same bytes (keys sorted).
"""

from __future__ import annotations

import json
from collections.abc import Iterable

import orjson
from genson import SchemaBuilder

SCHEMA_URI = "https://json-schema.org/draft/2020-12/schema"


class SampleError(Exception):
    """A sample line that is not a JSON object; the message names its line."""


def infer_schema(lines: Iterable[tuple[int, bytes]], name: str) -> dict:
    """The schema of every JSON object of the numbered NDJSON lines (blank lines skipped)."""
    builder = SchemaBuilder(schema_uri=SCHEMA_URI)
    count = 0
    for lineno, raw in lines:
        if not raw.strip():
            continue
        try:
            event = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise SampleError(f"line {lineno}: invalid JSON: {exc}") from None
        if not isinstance(event, dict):
            raise SampleError(
                f"line {lineno}: an event is a JSON object, not {type(event).__name__}"
            )
        builder.add_object(event)
        count += 1
    if not count:
        raise SampleError("no events: the file has no JSON object to learn from")
    schema = builder.to_schema()
    schema["title"] = f"{name} events"
    schema["description"] = f"Inferred by accoil-map infer-schema from {count} sample events."
    return schema


def schema_text(schema: dict) -> str:
    """The schema as indented JSON with sorted keys, ending in a newline."""
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
