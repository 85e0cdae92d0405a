"""Check a loaded mapping against schemas/mapping.schema.json, with short, located messages."""

from __future__ import annotations

import copy
import difflib
import functools
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.resources import files
from typing import TYPE_CHECKING, Any

from .errors import Diagnostic
from .language import MODIFIERS, OPERATORS, REQUIRED_KEYS, call_name, requirement

if TYPE_CHECKING:  # jsonschema and the YAML loader are imported when first needed:
    # `send` reads the payload schema here and needs neither.
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError

    from .loader import Document

#: The schemas shipped with the package (schemas/ in the repository).
SCHEMAS = files("accoil_map.schemas")

_YAML_TYPES = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
}


@functools.cache
def _load(relative: str) -> dict:
    return json.loads(SCHEMAS.joinpath(*relative.split("/")).read_text(encoding="utf-8"))


@functools.cache
def _validator() -> Draft202012Validator:
    from jsonschema import Draft202012Validator

    return Draft202012Validator(_load("mapping.schema.json"))


def validate_schema(doc: Document) -> list[Diagnostic]:
    """Diagnostics for `doc` against the mapping schema: [] when valid, headline first."""
    from jsonschema.exceptions import best_match

    errors = _errors(doc.data)
    if not errors:
        return []
    headline = best_match(errors)
    first = list(_diagnose(doc, headline))
    rest = [d for error in errors if error is not headline for d in _diagnose(doc, error)]
    rest += first[1:]
    rest = sorted(set(rest) - {first[0]}, key=lambda d: (d.line, d.col, d.message))
    return [first[0], *rest]


def _errors(instance: Any) -> list[ValidationError]:
    """The schema's errors for `instance`, each told at the node it is about.

    jsonschema reports a failed `unevaluatedProperties` (the keys of a call
    body that Accoil does not define) as one error on the whole object, without
    saying why; it is replaced here by the errors of each key's value.
    """
    validator = _validator()
    found = []
    for error in validator.iter_errors(instance):
        if error.validator != "unevaluatedProperties":
            found.append(error)
            continue
        for key, value in error.instance.items():
            for nested in validator.descend(value, error.validator_value, path=key):
                nested.path.extendleft(reversed(error.absolute_path))
                found.append(nested)
    return found


def source_fields(source: str) -> frozenset[str] | None:
    """Top-level field names of a source's events; None for the `custom` source."""
    if source == "custom":
        return None
    try:
        return frozenset(_load(f"sources/{source}.schema.json")["properties"])
    except FileNotFoundError:
        raise ValueError(f"unknown source {source!r}") from None


@dataclass(frozen=True)
class Source:
    """A mapping's source: its name, the top-level fields of its events (None: any), and the
    events schema file it names, if any."""

    name: str
    fields: frozenset[str] | None
    events_schema: str | None = None


def mapping_source(doc: Document) -> tuple[Source, list[Diagnostic]]:
    """The source of a schema-valid mapping; a diagnostic when its events schema is unusable.

    `source: NAME` is a shipped source (or custom); `source: {name, events_schema}` reads
    the events schema at that path, relative to the mapping file."""
    source = doc.data["source"]
    if isinstance(source, str):
        return Source(source, source_fields(source)), []
    relative = source["events_schema"]
    try:
        fields = events_schema_fields(os.path.join(os.path.dirname(doc.path), relative))
    except EventsSchemaError as exc:
        problem = doc.diagnostic(
            ("source", "events_schema"),
            f"events schema '{relative}': {exc}",
            "the path is relative to the mapping file; "
            "`accoil-map infer-schema EVENTS.ndjson -o FILE` writes one from sample events",
            code="AM401",
        )
        return Source(source["name"], None, relative), [problem]
    return Source(source["name"], fields, relative), []


class EventsSchemaError(Exception):
    """An events schema that cannot be read or used."""


#: The largest events schema read (a generated one for a wide source is a few hundred KiB).
MAX_EVENTS_SCHEMA_BYTES = 8 * 1024 * 1024


def events_schema_fields(path: str) -> frozenset[str]:
    """The top-level property names of the JSON Schema of one event, at `path`."""
    from jsonschema.exceptions import SchemaError
    from jsonschema.validators import validator_for

    try:
        with open(path, "rb") as stream:
            raw = stream.read(MAX_EVENTS_SCHEMA_BYTES + 1)
    except OSError as exc:
        raise EventsSchemaError(f"cannot read it: {exc.strerror}") from None
    if len(raw) > MAX_EVENTS_SCHEMA_BYTES:
        raise EventsSchemaError(f"larger than {MAX_EVENTS_SCHEMA_BYTES // (1024 * 1024)} MiB")
    try:
        schema = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise EventsSchemaError(f"not JSON: {exc}") from None
    if not isinstance(schema, dict) or not isinstance(schema.get("properties"), dict):
        raise EventsSchemaError("it has no top-level 'properties' naming the events' fields")
    try:
        validator_for(schema).check_schema(schema)
    except SchemaError as exc:
        raise EventsSchemaError(f"not a valid JSON Schema: {exc.message}") from None
    return frozenset(schema["properties"])


def payload_schema() -> dict:
    """The JSON Schema of an Accoil call body (a fresh copy)."""
    return copy.deepcopy(_load("accoil/payload.schema.json"))


def _diagnose(doc: Document, error: ValidationError) -> Iterator[Diagnostic]:
    """One or more diagnostics for a jsonschema error, at the offending node."""
    path = tuple(error.absolute_path)
    if error.validator == "anyOf":
        yield from _any_of(doc, path, error)
    elif error.validator == "additionalProperties":
        yield from _unknown_keys(doc, path, error)
    elif "propertyNames" in error.schema_path:
        yield _bad_key(doc, path, error)
    elif error.validator == "required":
        yield _missing(doc, path, error)
    elif error.validator == "enum":
        yield doc.diagnostic(path, *_enum_message(error), code="AM107")
    elif _required_call_key(doc, path) and error.validator in ("type", "minLength"):
        call_type, key = doc.data["rules"][path[1]]["emit"]["type"], path[3]
        yield doc.diagnostic(
            path,
            f"{call_name(call_type)} needs '{key}', and this constant never fits: "
            f"{requirement(key)}",
            code="AM109",
        )
    else:
        message, hint, code = _message(error, _subject(path))
        yield doc.diagnostic(path, message, hint, code=code)


def _any_of(doc: Document, path: tuple, error: ValidationError) -> Iterator[Diagnostic]:
    """The errors of the branch whose type the value has (`source: amplitud` is a string:
    the enum's complaint, not the mapping branch's); a type error when no branch has it."""
    mistyped = {e.relative_schema_path[0] for e in error.context if _is_type_error_at_root(e)}
    fitting = [e for e in error.context if e.relative_schema_path[0] not in mistyped]
    for nested in fitting:
        yield from _diagnose(doc, nested)
    if not fitting:
        kinds = [branch.get("type") for branch in error.validator_value]
        wanted = " or ".join(_YAML_TYPES[kind] for kind in kinds if kind)
        yield doc.diagnostic(
            path, f"{_subject(path)} must be {wanted}, not {_kind(error.instance)}", code="AM108"
        )


def _is_type_error_at_root(error: ValidationError) -> bool:
    return error.validator == "type" and not error.relative_path


def _required_call_key(doc: Document, path: tuple) -> bool:
    """True for the path of a key under `emit` that the rule's call type needs."""
    if len(path) != 4 or path[0] != "rules" or path[2] != "emit":
        return False
    call_type = doc.data["rules"][path[1]]["emit"].get("type")
    return path[3] in REQUIRED_KEYS.get(call_type, ())


def _unknown_keys(doc: Document, path: tuple, error: ValidationError) -> Iterator[Diagnostic]:
    allowed = list(error.schema.get("properties", {}))
    where = _noun(error.schema)
    for key in error.instance:
        if key in allowed:
            continue
        if key in OPERATORS:
            # The first operator in OPERATORS order decides the value's schema
            # (as in lowering), which rejects each other operator once.
            operator = error.schema["required"][0]
            message = f"'{key}' cannot be combined with '{operator}'"
            hint = "an operator mapping holds exactly one operator; nest the other as a value"
            code = "AM102"
        else:
            message, hint = f"unknown key '{key}' in {where}", _did_you_mean(key, allowed)
            code = "AM101"
        yield doc.diagnostic((*path, key), message, hint, at_key=True, code=code)


def _bad_key(doc: Document, path: tuple, error: ValidationError) -> Diagnostic:
    # propertyNames errors carry the object's path and the key as the instance.
    key = error.instance
    if key in MODIFIERS:  # in an object literal: no other object refuses them
        typo = [k for k in _keys_at(doc, path) if k not in MODIFIERS]
        close = [m for k in typo for m in difflib.get_close_matches(k, OPERATORS, n=1)]
        hint = (
            f"did you mean '{close[0]}'?"
            if close
            else f"modifiers need an operator: write {{value: ..., {key}: ...}}"
        )
        return doc.diagnostic(
            (*path, key),
            f"'{key}' only applies to an operator ({', '.join(OPERATORS)})",
            hint,
            at_key=True,
            code="AM103",
        )
    noun = error.schema.get("title", "key")
    return doc.diagnostic(
        (*path, key),
        f"'{key}' is not a valid {noun}",
        f"it must match {error.validator_value}",
        at_key=True,
        code="AM104",
    )


def _keys_at(doc: Document, path: tuple) -> list[str]:
    """The keys of the mapping at `path` in `doc` (empty when it is not a mapping)."""
    node: Any = doc.data
    for part in path:
        node = node[part]
    return list(node) if isinstance(node, dict) else []


def _missing(doc: Document, path: tuple, error: ValidationError) -> Diagnostic:
    missing = [k for k in error.validator_value if k not in error.instance]
    # jsonschema raises one error per missing key, its message starting with the key's repr.
    key = next((k for k in missing if error.message.startswith(repr(k))), missing[0])
    # At the key of the object that lacks one (`emit:`), where editors mark it too.
    if len(path) == 3 and path[0] == "rules" and key != "type":  # a key the call type needs
        return doc.diagnostic(
            path,
            f"{call_name(error.instance['type'])} needs '{key}', and this rule does not produce it",
            f"add '{key}:' under emit",
            at_key=True,
            code="AM106",
        )
    return doc.diagnostic(
        path, f"missing required key '{key}' in {_noun(error.schema)}", at_key=True, code="AM105"
    )


def _enum_message(error: ValidationError) -> tuple[str, str]:
    allowed = [str(v) for v in error.validator_value]
    noun = error.schema.get("title", "allowed value")
    hint = f"use one of: {', '.join(allowed)}"
    if isinstance(error.instance, str):
        close = difflib.get_close_matches(error.instance, allowed, n=1)
        if close:
            hint = f"did you mean '{close[0]}'? ({hint})"
    return f"{_show(error.instance)} is not {_article(noun)} {noun}", hint


def _message(error: ValidationError, subject: str) -> tuple[str, str | None, str]:
    """A short message, hint and code about `subject` for the remaining validators."""
    value, expected, noun = error.instance, error.validator_value, error.schema.get("title")
    match error.validator:
        case "type":
            kinds = [expected] if isinstance(expected, str) else expected
            wanted = " or ".join(_YAML_TYPES[k] for k in kinds)
            return f"{subject} must be {wanted}, not {_kind(value)}", None, "AM108"
        case "const":
            return f"{noun or 'value'} must be {json.dumps(expected)}", None, "AM110"
        case "pattern":
            hint = f"it must match {expected}"
            return f"{_show(value)} is not a valid {noun or 'value'}", hint, "AM111"
        case "minItems":
            items = f"item{'s' if expected > 1 else ''}"
            return f"{subject} needs at least {expected} {items}", None, "AM112"
        case "uniqueItems":
            return f"{subject} lists an item twice", None, "AM113"
        case "minLength":
            return f"{subject} must not be empty", None, "AM114"
        case "minimum":
            return f"{subject} must be at least {expected}", None, "AM115"
    return error.message, None, "AM199"


def _article(noun: str) -> str:
    return "an" if noun[0] in "aeiou" else "a"


def _subject(path: tuple) -> str:
    if not path:
        return "the mapping file"
    if isinstance(path[-1], str):
        return f"'{path[-1]}'"
    return f"item {path[-1] + 1}" + (f" of '{path[-2]}'" if len(path) > 1 else "")


def _noun(schema: dict) -> str:
    return schema.get("title", "mapping")


def _did_you_mean(key: str, allowed: list[str]) -> str:
    close = difflib.get_close_matches(key, allowed, n=1)
    if close:
        return f"did you mean '{close[0]}'?"
    return f"allowed keys: {', '.join(allowed)}"


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    for python, name in ((dict, "a mapping"), (list, "a list"), (str, "a string")):
        if isinstance(value, python):
            return name
    return "null" if value is None else f"the number {value}"


def _show(value: Any) -> str:
    return f"'{value}'" if isinstance(value, str) else json.dumps(value)
