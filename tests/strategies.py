"""Hypothesis strategies: source-shaped events and valid accoil-map mappings.

Used by the differential tests (compiled module vs reference interpreter) and
by the determinism tests. Everything here is small on purpose: a mapping has
1..4 rules and 0..4 defines, values nest at most a few levels, events hold a
handful of fields. The aim is coverage of *shapes* (every value kind, every
filter, every conversion, the JMESPath subset and its fallback, missing and
mistyped data), not size.

Events
    `events(source)` gives dicts with the source's real top-level field names
    (each one optional), where every field is sometimes the expected shape and
    sometimes null, a number, a list, an empty value, a numeric-looking string
    or unicode text. `any_event(source)` also yields the odd non-object event.

Mappings
    `mappings(source=None)` gives `(yaml_text, source)`: a mapping dict built
    from the language's constructs and dumped with every string
    double-quoted, so that YAML 1.1/1.2 differences never change a value.
    Names in templates and top-level JMESPath fields are real fields of the
    source (or `define` names), so the compiler's name checks pass.
"""

from __future__ import annotations

import functools
import json
import string

import yaml
from hypothesis import strategies as st

SOURCES = ("amplitude", "segment", "posthog", "custom")
from accoil_map.language import (
    CALL_TYPES,
    COMPARISONS,
    CONVERSIONS,
    FILTER_ALIASES,
    FILTERS,
    GROUP_COMPARES,
    GROUP_ORDERS,
    GROUP_SORT_KEYS,
    MODIFIERS,
    OPERATORS,
    REQUIRED_KEYS,
)

# --------------------------------------------------------------------------
# Vocabulary shared by events and mappings, so that paths usually hit data
# --------------------------------------------------------------------------

#: Top-level fields per source and the shape each usually has. Fields whose
#: names are not identifiers can only be reached from JMESPath.
FIELDS: dict[str, dict[str, str]] = {
    "amplitude": {
        "event_type": "name",
        "user_id": "id",
        "device_id": "id",
        "event_time": "ts",
        "$insert_id": "id",
        "event_properties": "obj",
        "user_properties": "obj",
        "groups": "groups",
        "group_properties": "gprops",
        "data": "any",
        "plan": "any",
        "paying": "any",
        "session_id": "id",
    },
    "segment": {
        "type": "name",
        "userId": "id",
        "anonymousId": "id",
        "groupId": "id",
        "timestamp": "ts",
        "originalTimestamp": "ts",  # RudderStack's fallback for timestamp
        "event": "name",
        "name": "id",  # a page or screen name, which RudderStack requires
        "properties": "obj",
        "traits": "obj",
        "context": "obj",
        "messageId": "id",
    },
    "posthog": {
        "event": "name",
        "distinct_id": "id",
        "timestamp": "ts",
        "properties": "obj",
        "person": "obj",
        "groups": "groups",
        "set": "obj",
        "ip": "any",
        "uuid": "id",
    },
    "custom": {
        "kind": "name",
        "user": "id",
        "ts": "ts",
        "props": "obj",
        "groups": "groups",
        "group_properties": "gprops",
        "a": "any",
        "b": "any",
        "weird key": "any",
    },
}

#: Where group ids and group traits live, per source (JMESPath).
GROUP_PATHS = {
    "amplitude": (("groups",), ("group_properties",)),
    "segment": (("context.groups", "traits"), ("context.group_properties", "properties")),
    "posthog": (("groups",), ('properties."$group_set"', "person.properties")),
    "custom": (("groups", "props.groups"), ("group_properties", "props")),
}

EVENT_NAMES = (
    "$identify", "$groupidentify", "[Amplitude] Page Viewed", "$pageview", "$screen",
    "$set", "$autocapture", "identify", "group", "track", "page", "screen",
    "Signed Up", "signed up", "", "Ünïcode ✓",
)
NESTED_KEYS = (
    "email", "name", "plan", "mrr", "title", "$pathname", "$screen_name", "$group_key",
    "[Amplitude] Page Title", "[Amplitude] Page Path", "Account", "210000", "a", "b c", "0", "created_at",
    "createdAt", "group_type", "geoip_city", "IP", "$group_set", "properties", "groups",
)
GROUP_TYPES = ("Account", "org", "Team", "")
GROUP_IDS = ("210000", "2", "10", "-1", "1e3", "007", "abc", "", "Ä")
OMIT_NEEDLES = ("ip", "geoip", "current_url", "NAME", "é", "$")

IDENT = frozenset(string.ascii_letters + string.digits + "_")
JINJA_KEYWORDS = frozenset({
    "and", "or", "not", "in", "is", "if", "else", "true", "false", "none",
    "True", "False", "None", "for", "block", "with", "recursive",
})

# Characters that are safe inside a quoted JMESPath raw string, a Jinja
# string literal and plain template text (no quotes, braces, backslashes,
# backticks).
_SAFE_TEXT = string.ascii_letters + string.digits + " -_:/.,$[]@#é日Ω"


def is_identifier(name: str) -> bool:
    return bool(name) and not name[0].isdigit() and set(name) <= IDENT


def template_fields(source: str) -> tuple[str, ...]:
    return tuple(name for name in FIELDS[source] if is_identifier(name))


# --------------------------------------------------------------------------
# Event data
# --------------------------------------------------------------------------

NUMERIC_STRINGS = st.sampled_from(
    ["0", "007", "1e3", "-1", "1.5", "-0", "+3", "1E+2", "12.0", "0x10", " 1", "1_000", "NaN",
     "inf", "99999999999999999999", "1.0e-3", ".5", "5."]
)

TIMESTAMP_STRINGS = st.one_of(
    st.sampled_from([
        "2024-05-01 12:00:00.123000", "2024-05-01T12:00:00Z", "2024-05-01T12:00:00.123Z",
        "2024-05-01T12:00:00+02:00", "2024-05-01T12:00:00-0530", "2024-05-01T12:00:00+01",
        "2024-05-01", "2024-02-29T00:00:00Z", "2023-02-29T00:00:00Z", "2024-13-01T00:00:00Z",
        "2024-05-01T24:00:00Z", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59.9999Z",
        "0000-01-01T00:00:00Z", "2024-05-01T12:00", "2024-05-01 12:00:00.1",
        "1714564800", "1714564800123", "-1", "1714564800.5", "", "yesterday",
        "2024-05-01T12:00:00.123456789+00:00", "20240501T120000Z", "2024-5-1",
    ]),
    st.builds(
        "{:04d}-{:02d}-{:02d}{}{:02d}:{:02d}:{:02d}{}{}".format,
        st.integers(0, 10000), st.integers(0, 13), st.integers(0, 32), st.sampled_from("T "),
        st.integers(0, 24), st.integers(0, 60), st.integers(0, 60),
        st.sampled_from(["", ".1", ".123", ".123456", ".1234567"]),
        st.sampled_from(["", "Z", "+00:00", "-07:00", "+0530", "+14", "+24:00"]),
    ),
)

TIMESTAMPS = st.one_of(
    TIMESTAMP_STRINGS,
    st.integers(-(10**15), 10**15),
    st.sampled_from([0, 1714564800, 1714564800123, 99999999999, 100000000000, -62135596800]),
    st.floats(-1e16, 1e16, allow_nan=False, allow_infinity=False),
    st.sampled_from([None, True, False, [], {}, ["2024-05-01"]]),
)

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from([0, 1, -1, 0.0, 1.0, -0.0, 1.5, 2**63, 10**20]),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=6),
    st.sampled_from(["", " ", "true", "FALSE", "null", "a b", "Ünï", "x" * 3]),
    NUMERIC_STRINGS,
    TIMESTAMP_STRINGS,
    st.sampled_from(EVENT_NAMES),
    st.sampled_from(GROUP_IDS),
)

_KEYS = st.one_of(st.sampled_from(NESTED_KEYS), st.text(max_size=4))

JSON = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(_KEYS, children, max_size=4),
    ),
    max_leaves=8,
)

IDS = st.one_of(
    st.sampled_from(["u1", "user-42", "ü", "", "0", "007", "-1", "1e3"]),
    st.text(max_size=6),
    st.integers(-5, 10**12),
    st.sampled_from([None, True, False, 0, 1, 1.5, [], {}, ["u1"], {"id": "u1"}]),
)

NAMES = st.one_of(
    st.sampled_from(EVENT_NAMES),
    st.text(max_size=6),
    st.sampled_from([None, 0, 1, True, [], {}, ["$identify"], {"name": "x"}]),
)

OBJECTS = st.one_of(
    st.dictionaries(st.sampled_from(NESTED_KEYS), JSON, max_size=5),
    st.dictionaries(
        st.sampled_from(NESTED_KEYS),
        st.dictionaries(st.sampled_from(NESTED_KEYS), JSON, max_size=3),
        max_size=3,
    ),
    st.sampled_from([None, {}, [], "", "obj", 0, 1, True, [{"a": 1}]]),
)

GROUP_ID_VALUES = st.one_of(
    st.sampled_from(GROUP_IDS),
    st.integers(-3, 300000),
    st.sampled_from([None, True, 1.5, {}, []]),
)

GROUPS = st.one_of(
    st.dictionaries(
        st.sampled_from(GROUP_TYPES),
        st.one_of(GROUP_ID_VALUES, st.lists(GROUP_ID_VALUES, max_size=4)),
        max_size=3,
    ),
    st.sampled_from([None, {}, [], "210000", 0, ["Account"]]),
)

GROUP_PROPERTIES = st.one_of(
    st.dictionaries(
        st.sampled_from(GROUP_TYPES),
        st.one_of(
            st.dictionaries(
                st.sampled_from(GROUP_IDS),
                st.one_of(
                    st.dictionaries(st.sampled_from(NESTED_KEYS), SCALARS, max_size=3),
                    st.sampled_from([None, "x", 1, []]),
                ),
                max_size=3,
            ),
            st.sampled_from([None, "x", [], 1]),
        ),
        max_size=3,
    ),
    st.sampled_from([None, {}, [], "x", 0]),
)

_BY_KIND = {
    "name": NAMES,
    "id": IDS,
    "ts": TIMESTAMPS,
    "obj": OBJECTS,
    "groups": GROUPS,
    "gprops": GROUP_PROPERTIES,
    "any": JSON,
}


def _with_groups(obj_strategy: st.SearchStrategy) -> st.SearchStrategy:
    """Objects that sometimes carry `groups` / `group_properties` / `$group_set` shapes."""
    return st.one_of(
        obj_strategy,
        st.fixed_dictionaries({}, optional={
            "groups": GROUPS,
            "group_properties": GROUP_PROPERTIES,
            "$group_set": OBJECTS,
            "$group_key": IDS,
            "properties": GROUP_PROPERTIES,
            "title": NAMES,
            "$pathname": NAMES,
        }),
    )


_GOOD_TIMESTAMPS = st.one_of(
    st.sampled_from([
        "2024-05-01 12:00:00.123000", "2024-05-01T12:00:00Z", "2024-05-01T12:00:00.123+02:00",
        "2024-02-29", 1714564800, 1714564800123, "1714564800",
    ]),
    st.datetimes().map(lambda d: d.isoformat(sep=" ")),
)
_GOOD_NAMES = st.sampled_from(["Home", "/pricing", "Acme", "210000"])
_PAGE_NAMES = st.one_of(_GOOD_NAMES, _GOOD_NAMES, _GOOD_NAMES, SCALARS)
_PAGE_PROPERTIES = st.fixed_dictionaries(
    {key: _PAGE_NAMES for key in ("[Amplitude] Page Title", "title", "$screen_name", "$group_key")},
    optional={key: _PAGE_NAMES for key in ("[Amplitude] Page Path", "$pathname", "email", "name",
                                           "mrr", "$group_set")},
)
_GOOD_OBJECTS = st.dictionaries(
    st.sampled_from(NESTED_KEYS), st.one_of(SCALARS, st.text(min_size=1, max_size=5)), max_size=5,
)
_GOOD_GROUPS = st.dictionaries(
    st.sampled_from(GROUP_TYPES),
    st.one_of(st.sampled_from(GROUP_IDS), st.lists(st.sampled_from(GROUP_IDS), max_size=3)),
    min_size=1, max_size=3,
)
_GOOD_TRAITS = st.dictionaries(
    st.sampled_from(["name", "plan", "mrr", "domain", "createdAt", "IP", "group_type"]),
    SCALARS, max_size=3,
)
_GOOD_GROUP_PROPERTIES = st.dictionaries(
    st.sampled_from(GROUP_TYPES),
    st.dictionaries(st.sampled_from(GROUP_IDS), _GOOD_TRAITS, min_size=1, max_size=2),
    min_size=1, max_size=2,
)
_GOOD_BY_KIND = {
    "name": st.sampled_from(EVENT_NAMES),
    "id": st.one_of(st.sampled_from(["u1", "user-42", "ü", "007"]), st.text(min_size=1, max_size=5)),
    "ts": _GOOD_TIMESTAMPS,
    "obj": st.one_of(_PAGE_PROPERTIES, _PAGE_PROPERTIES, _GOOD_OBJECTS, _with_groups(_GOOD_OBJECTS)),
    "groups": _GOOD_GROUPS,
    "gprops": _GOOD_GROUP_PROPERTIES,
    "any": JSON,
}


#: The event names each source's rules look for.
SOURCE_EVENT_NAMES = {
    "amplitude": ("$identify", "$groupidentify", "[Amplitude] Page Viewed", "Signed Up"),
    "segment": ("identify", "group", "track", "page", "screen"),
    "posthog": ("$identify", "$set", "$pageview", "$screen", "$groupidentify", "Signed Up",
                "$autocapture"),
    "custom": EVENT_NAMES,
}


@functools.cache
def well_formed_events(source: str) -> st.SearchStrategy[dict]:
    """Events whose main fields have the expected shapes: rules fire and calls are emitted."""
    fields = FIELDS[source]
    good = dict(_GOOD_BY_KIND)
    names = st.sampled_from(SOURCE_EVENT_NAMES[source])
    good["name"] = st.one_of(names, names, names, good["name"])
    required = {name: good[kind] for name, kind in fields.items() if kind != "any"}
    optional = {name: JSON for name, kind in fields.items() if kind == "any"}
    return st.fixed_dictionaries(required, optional=optional)


@functools.cache
def messy_events(source: str) -> st.SearchStrategy[dict]:
    """Events with the source's real top-level fields, each optional and often mistyped."""
    optional = {}
    for name, kind in FIELDS[source].items():
        strategy = _BY_KIND[kind]
        if kind == "obj":
            strategy = _with_groups(strategy)
        optional[name] = st.one_of(strategy, strategy, JSON) if kind != "any" else strategy
    return st.fixed_dictionaries({}, optional=optional)


@functools.cache
def events(source: str) -> st.SearchStrategy[dict]:
    """Source-shaped events: well-formed ones and messy ones (missing, null, mistyped)."""
    return st.one_of(well_formed_events(source), messy_events(source))


@functools.cache
def any_event(source: str) -> st.SearchStrategy:
    """Mostly events of the source, now and then a value that is not an object at all."""
    return st.one_of(
        events(source),
        events(source),
        events(source),
        events(source),
        events(source),
        events(source),
        events(source),
        st.sampled_from([None, [], "event", 1, [{"event_type": "x"}]]),
    )


# --------------------------------------------------------------------------
# Mapping text fragments: JMESPath
# --------------------------------------------------------------------------
#
# Strategy factories are cached (`functools.cache`): building strategies is
# far more expensive than drawing from them, and these are drawn many times.

SAFE_TEXT = st.text(_SAFE_TEXT, max_size=6)
_BOOL = st.booleans()
_ONE_IN = {n: st.integers(0, n - 1) for n in (2, 3, 4, 5, 6)}
_NESTED_KEY = st.sampled_from(NESTED_KEYS)
_INDEX = st.sampled_from([0, 1, -1])


def _one_in(draw, n: int) -> bool:
    """True with probability 1/n."""
    return draw(_ONE_IN[n]) == 0


def jp_name(name: str) -> str:
    """A JMESPath identifier, quoted when needed."""
    if is_identifier(name):
        return name
    return json.dumps(name, ensure_ascii=False)


def jp_literal_text(value) -> str:
    return "`" + json.dumps(value, ensure_ascii=False).replace("`", "\\`") + "`"


JP_LITERAL_VALUES = st.one_of(
    st.sampled_from([None, True, False, 0, 1, -1, 2.5, "", "x", [], {}, ["a"], {"a": 1}]),
    st.sampled_from(EVENT_NAMES),
    st.integers(-100, 300000),
    SAFE_TEXT,
    st.sampled_from(GROUP_IDS),
)


@st.composite
def _jp_literal(draw) -> str:
    value = draw(JP_LITERAL_VALUES)
    if isinstance(value, str) and draw(_BOOL):
        return "'" + value + "'"  # raw string literal
    return jp_literal_text(value)


JP_LITERAL = _jp_literal()
_JP_STEP = st.sampled_from(["key", "key", "index"])
_STEPS = st.integers(0, 2)


@functools.cache
def jp_path(source: str) -> st.SearchStrategy[str]:
    """`field`, `field.key`, `field."quoted key"`, `field[0]`, `field[-1]` chains."""
    roots = st.sampled_from(sorted(FIELDS[source]))

    @st.composite
    def build(draw) -> str:
        text = jp_name(draw(roots))
        for _ in range(draw(_STEPS)):
            if draw(_JP_STEP) == "key":
                text += "." + jp_name(draw(_NESTED_KEY))
            else:
                text += f"[{draw(_INDEX)}]"
        return text

    return build()


_FALLBACKS = st.sampled_from([
    "length({f}) > `1`",
    "{f}[*].{k}",
    "to_number({f}) > `1`",
    "{f}[?{k} == 'x']",
    "not_null({f}, {g})",
    "[{f}, {g}]",
    "{{k: {f}}}",
    "keys({f})",
    "to_string({f})",
    "{f} | {k}",
    "{f}[0:2]",
    "contains(keys(@), 'email') && {f}",
    "sort_by(@, &{k})",
])
_JP_KINDS = st.sampled_from([
    "atom", "atom", "compare", "compare", "and", "or", "not", "contains", "starts", "ends",
    "in_list", "current", "type", "merge",
])
_COMPARATORS = st.sampled_from([comparison.token for comparison in COMPARISONS.values()])
_IN_LIST = st.lists(st.sampled_from(EVENT_NAMES[:8]), min_size=1, max_size=3)
_AFFIXES = st.sampled_from(["'$'", "'Sign'", "''", "'ed'", "'a'"])
# type() names, and a name type() never gives.
_TYPE_NAMES = st.sampled_from(["string", "number", "boolean", "array", "object", "null", "text"])
_MERGED = st.sampled_from(['`{"mrr": null}`', '`{"a": 1, "b": [null]}`', "`{}`", "@", "`[1]`"])
_MERGE_ARGS = st.integers(1, 3)


@functools.cache
def jp_expr(source: str, depth: int = 2, fallback: bool = True) -> st.SearchStrategy[str]:
    """A JMESPath expression: mostly the compiled subset, sometimes outside it."""
    path = jp_path(source)
    atoms = st.one_of(path, path, JP_LITERAL)
    sub = jp_expr(source, depth - 1, fallback) if depth > 0 else atoms
    fields = st.sampled_from(sorted(FIELDS[source]))

    @st.composite
    def build(draw) -> str:
        if fallback and _one_in(draw, 6):
            pattern = draw(_FALLBACKS)
            return pattern.format(f=draw(path), g=draw(path), k=jp_name(draw(_NESTED_KEY)))
        if depth <= 0:
            return draw(atoms)
        kind = draw(_JP_KINDS)
        if kind == "atom":
            return draw(atoms)
        if kind == "compare":
            left = f"({draw(sub)})" if _one_in(draw, 4) else draw(atoms)
            return f"{left} {draw(_COMPARATORS)} {draw(atoms)}"
        if kind in ("and", "or"):
            op = "&&" if kind == "and" else "||"
            return f"({draw(sub)}) {op} ({draw(sub)})"
        if kind == "not":
            return f"!({draw(sub)})"
        if kind == "in_list":
            listed = ", ".join("'" + item + "'" for item in draw(_IN_LIST))
            return f"{'!' if draw(_BOOL) else ''}contains([{listed}], {draw(path)})"
        if kind == "current":
            choice = draw(_ONE_IN[3])
            return ("@", "contains(@, 'x')", f"@.{jp_name(draw(fields))}")[choice]
        if kind == "type":
            return _type_test(draw, draw(path) if draw(_BOOL) else draw(sub))
        if kind == "merge":
            return _merged(draw, [draw(st.one_of(path, _MERGED)) for _ in range(draw(_MERGE_ARGS))])
        name = {"contains": "contains", "starts": "starts_with", "ends": "ends_with"}[kind]
        second = draw(_AFFIXES) if draw(_BOOL) else draw(atoms)
        return f"{name}({draw(path)}, {second})"

    return build()


def _type_test(draw, subject: str) -> str:
    """`type(x)`, or it compared with a type name (`==`, `!=`)."""
    if _one_in(draw, 3):
        return f"type({subject})"
    return f"type({subject}) {'==' if draw(_BOOL) else '!='} '{draw(_TYPE_NAMES)}'"


def _merged(draw, args: list[str]) -> str:
    """`merge(a, ...)` (arguments that are not objects reject the event), or guarded by a
    type test of its first argument, as mappings/segment.yaml writes it."""
    merged = f"merge({', '.join(args)})"
    if draw(_BOOL):
        return f"type({args[0]}) == 'object' && {merged} || `null`"
    return merged


# --------------------------------------------------------------------------
# Mapping text fragments: Jinja templates
# --------------------------------------------------------------------------

_JINJA_STEP = st.sampled_from(["attr", "item", "index"])


@functools.cache
def jinja_chain(names: tuple[str, ...]) -> st.SearchStrategy[str]:
    """`name`, `name.key`, `name['b c']`, `name[0]`, `name[-1]`."""
    roots = st.sampled_from(names)

    @st.composite
    def build(draw) -> str:
        text = draw(roots)
        for _ in range(draw(_STEPS)):
            step = draw(_JINJA_STEP)
            key = draw(_NESTED_KEY)
            if step == "attr" and is_identifier(key) and key not in JINJA_KEYWORDS:
                text += "." + key
            elif step == "index":
                text += f"[{draw(_INDEX)}]"
            else:
                text += "['" + key + "']"
        return text

    return build()


JINJA_LITERALS = st.one_of(
    SAFE_TEXT.map("'{}'".format),
    SAFE_TEXT.map('"{}"'.format),
    st.sampled_from(["0", "1", "-1", "2.5", "-0.5", "true", "false", "none", "1e3"]),
)
# Every filter and alias of the language, and the argument forms of default and join.
_FILTERS = st.sampled_from([*FILTERS, *FILTER_ALIASES, "default_true", "default_kw", "join_sep"])
_TRUE_FALSE = st.sampled_from(["true", "false"])
_REPLACE_OLD = st.sampled_from(["a", " ", "$", "", "Ü"])
_JOIN_SEP = st.sampled_from([", ", "", "-", "é"])


@functools.cache
def jinja_filter(names: tuple[str, ...]) -> st.SearchStrategy[str]:
    fallback = st.one_of(JINJA_LITERALS, jinja_chain(names))

    @st.composite
    def build(draw) -> str:
        name = draw(_FILTERS)
        if name in ("default", "d"):
            return f"{name}({draw(fallback)})"
        if name == "default_true":
            return f"default({draw(fallback)}, {draw(_TRUE_FALSE)})"
        if name == "default_kw":
            return f"default({draw(fallback)}, boolean=true)"
        if name == "replace":
            return f"replace('{draw(_REPLACE_OLD)}', '{draw(SAFE_TEXT)}')"
        if name == "join_sep":
            return f"join('{draw(_JOIN_SEP)}')"
        return name

    return build()


@functools.cache
def jinja_expr(names: tuple[str, ...], literal_root: bool = True) -> st.SearchStrategy[str]:
    chain = jinja_chain(names)
    roots = st.one_of(chain, chain, JINJA_LITERALS) if literal_root else chain
    filters = jinja_filter(names)

    @st.composite
    def build(draw) -> str:
        text = draw(roots)
        for _ in range(draw(_STEPS)):
            text += " | " + draw(filters)
        return text

    return build()


_TEXT_END = st.sampled_from([" ", "!", "é"])
_PARTS = st.integers(1, 3)


@functools.cache
def template(names: tuple[str, ...], single: bool | None = None,
             literal_root: bool = True) -> st.SearchStrategy[str]:
    """A template string: exactly one expression, or text around 1..3 expressions."""
    expr = jinja_expr(names, literal_root)

    @st.composite
    def build(draw) -> str:
        one = draw(_BOOL) if single is None else single
        if one:
            return "{{ " + draw(expr) + " }}"
        pieces = [draw(SAFE_TEXT)]
        for _ in range(draw(_PARTS)):
            pieces.append("{{ " + draw(expr) + " }}")
            pieces.append(draw(SAFE_TEXT))
        if pieces[0] == "" and pieces[-1] == "" and len(pieces) == 3:
            pieces[-1] = draw(_TEXT_END)
        return "".join(pieces)

    return build()


# --------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------

LITERAL_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-1000, 10**6),
    st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False),
    st.sampled_from([0, 1, -1, 0.0, 1.5]),
)
PLAIN_TEXT = SAFE_TEXT  # a string with no {{ }} is a constant
LITERAL_ANY = st.recursive(
    st.one_of(LITERAL_SCALARS, SAFE_TEXT, st.sampled_from(["{{ not a template }}", "a {{ b }}"])),
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(st.sampled_from(NESTED_KEYS + OPERATORS + MODIFIERS), children, max_size=3),
    ),
    max_leaves=5,
)
OBJECT_KEYS = st.sampled_from(
    ["name", "email", "plan", "mrr", "k", "ключ", "group_type", "createdAt", "nested key", "0"]
)
_OBJECT_OP_KEYS = st.one_of(OBJECT_KEYS, st.sampled_from(OPERATORS + MODIFIERS))
_NEEDLES = st.lists(st.sampled_from(OMIT_NEEDLES), min_size=1, max_size=2, unique=True)
_CONVERSION = st.sampled_from(list(CONVERSIONS))
_SORT_OPTIONS = (
    ("by", st.sampled_from(GROUP_SORT_KEYS)),
    ("order", st.sampled_from(GROUP_ORDERS)),
    ("compare", st.sampled_from(GROUP_COMPARES)),
)
_TAKE = st.integers(1, 3)
_TYPE_TRAIT = st.sampled_from(["group_type", "name", "ключ"])
_LEAF_KINDS = ("template", "template", "path", "path", "scalar", "text")
_KINDS = {
    False: st.sampled_from(_LEAF_KINDS),
    True: st.sampled_from(_LEAF_KINDS + (
        "coalesce", "merge", "groups", "value", "literal", "object", "objlit", "list",
    )),
}


def names_of(source: str, defines: tuple[str, ...]) -> tuple[str, ...]:
    """Names a template may use: identifier fields of the source, then defines."""
    return template_fields(source) + defines


@functools.cache
def groups_value(source: str) -> st.SearchStrategy[dict]:
    ids, traits = (st.sampled_from(paths) for paths in GROUP_PATHS[source])

    @st.composite
    def build(draw) -> dict:
        spec: dict = {"ids": draw(ids), "traits": draw(traits)}
        if draw(_BOOL):
            spec["sort"] = {key: draw(opts) for key, opts in _SORT_OPTIONS if not _one_in(draw, 4)}
        if draw(_BOOL):
            spec["take"] = draw(_TAKE)
        if draw(_BOOL):
            spec["type_trait"] = draw(_TYPE_TRAIT)
        return {"groups": spec}

    return build()


@functools.cache
def value(source: str, defines: tuple[str, ...] = (), depth: int = 2) -> st.SearchStrategy:
    """Any value of the mapping language, nested at most `depth` operator levels."""
    names = names_of(source, defines)
    kinds = _KINDS[depth > 0]
    templates = template(names)
    paths = jp_expr(source, 1)
    sub = value(source, defines, depth - 1) if depth > 0 else None
    objlit = objlit_value(source, defines, depth - 1) if depth > 0 else None
    fallback = value(source, defines, max(depth - 1, 0)) if depth > 0 else None

    @st.composite
    def build(draw):
        kind = draw(kinds)
        if kind == "template":
            return draw(templates)
        if kind == "text":
            return draw(PLAIN_TEXT)
        if kind == "scalar":
            return draw(LITERAL_SCALARS)
        if kind == "path":
            node = {"path": draw(paths)}
        elif kind == "coalesce":
            node = {"coalesce": draw(st.lists(sub, min_size=1, max_size=3))}
        elif kind == "merge":
            node = {"merge": draw(st.lists(st.one_of(sub, objlit), min_size=1, max_size=3))}
        elif kind == "groups":
            node = draw(groups_value(source))
        elif kind == "value":
            node = {"value": draw(sub)}
        elif kind == "literal":
            node = {"literal": draw(LITERAL_ANY)}
        elif kind == "object":
            node = {"object": draw(st.dictionaries(_OBJECT_OP_KEYS, sub, max_size=3))}
        elif kind == "objlit":
            return draw(objlit)
        else:
            return draw(st.lists(sub, max_size=3))
        # Modifiers of an operator mapping.
        if _one_in(draw, 4):
            node["omit_keys"] = draw(_NEEDLES)
        if _one_in(draw, 3):
            node["as"] = draw(_CONVERSION)
        if _one_in(draw, 4) and fallback is not None:
            node["default"] = draw(fallback)
        return node

    return build()


@functools.cache
def objlit_value(source: str, defines: tuple[str, ...], depth: int) -> st.SearchStrategy[dict]:
    return st.dictionaries(OBJECT_KEYS, value(source, defines, depth), min_size=1, max_size=3)


_REQUIRED_KINDS = st.sampled_from(["single", "text", "path", "coalesce"])
_TAIL = st.one_of(st.none(), st.just(""), PLAIN_TEXT)


@functools.cache
def required_value(source: str, defines: tuple[str, ...], key: str) -> st.SearchStrategy:
    """A value for a required key: a template or path, so that it is missing now and then."""
    names = names_of(source, defines)
    single = template(names, single=True, literal_root=False)
    text = template(names, single=False, literal_root=False)
    any_template = template(names, literal_root=False)
    path = jp_path(source)
    items = st.lists(st.one_of(any_template, st.builds(dict, path=path)),
                     min_size=1, max_size=3)

    @st.composite
    def build(draw):
        kind = draw(_REQUIRED_KINDS)
        if kind == "single":
            return draw(single)
        if kind == "text":
            return draw(text)
        if kind == "path":
            node = {"path": draw(path)}
            if key == "timestamp" and draw(_BOOL):
                node["as"] = "timestamp"
            elif _one_in(draw, 4):
                node["as"] = draw(_CONVERSION)
            return node
        node = {"coalesce": draw(items)}
        if _one_in(draw, 3):
            node["coalesce"].append(draw(_TAIL))
        return node

    return build()


def _quoted(names) -> list[str]:
    return ["'" + name + "'" for name in names]


@st.composite
def dispatch_conditions(draw, source: str, count: int) -> list[str]:
    """Conditions for `count` rules that test the event's name against constants.

    Usually each rule has names of its own, so the rules exclude each other and
    the module returns at the rule an event matches; sometimes one rule takes
    every other name (`!contains`, `!starts_with`), sometimes two overlap.
    """
    field = jp_name(min(name for name, kind in FIELDS[source].items() if kind == "name"))
    names = draw(st.permutations(SOURCE_EVENT_NAMES[source]))
    owned = [names[index::count][:2] or names[:1] for index in range(count)]
    conditions = []
    for own in owned:
        quoted = _quoted(own)
        conditions.append(draw(st.sampled_from([
            f"{field} == {quoted[0]}",
            f"{quoted[0]} == {field}",
            " || ".join(f"{field} == {name}" for name in quoted),
            f"contains([{', '.join(quoted)}], {field})",
        ])))
    if count > 1 and draw(_BOOL):  # one rule for everything the others leave
        index = draw(st.integers(0, count - 1))
        others = [name for i, own in enumerate(owned) if i != index for name in own]
        if all(name.startswith("$") for name in others) and draw(_BOOL):
            conditions[index] = f"!starts_with({field}, '$')"
        else:
            conditions[index] = f"!contains([{', '.join(_quoted(others))}], {field})"
    if _one_in(draw, 4):  # a near miss: the sets overlap, both rules may fire
        index = draw(st.integers(0, count - 1))
        name = _quoted([draw(st.sampled_from(names))])[0]
        conditions[index] = draw(st.sampled_from([
            f"{field} == {name}", f"{field} != {name}", f"!starts_with({field}, '$')",
        ]))
    return conditions


EXTRA_KEYS = ("traits", "properties", "name", "userId", "anonymousId", "context",
              "groupTraits", "groupId", "event", "extra key", "ünï")
_CALL_TYPE = st.sampled_from(CALL_TYPES)


@functools.cache
def rule(source: str, defines: tuple[str, ...], name: str) -> st.SearchStrategy[dict]:
    when = jp_expr(source)
    extra_value = value(source, defines, 2)

    @st.composite
    def build(draw) -> dict:
        call_type = draw(_CALL_TYPE)
        required = REQUIRED_KEYS[call_type]
        fields = {key: draw(required_value(source, defines, key)) for key in required}
        extras = [k for k in EXTRA_KEYS if k not in required]
        for key in draw(st.lists(st.sampled_from(extras), max_size=3, unique=True)):
            fields[key] = draw(extra_value)
        keys = draw(st.permutations(list(fields)))
        node: dict = {"name": name}
        if not _one_in(draw, 4):
            node["when"] = draw(when)
        if _one_in(draw, 4):
            node["require"] = draw(st.lists(st.sampled_from(keys), min_size=1, max_size=2,
                                            unique=True))
            for key in node["require"]:  # a required constant that never fits is an error
                if key not in required:
                    fields[key] = draw(required_value(source, defines, key))
        items = [(key, fields[key]) for key in keys]
        items.insert(draw(_ONE_IN[2]), ("type", call_type))
        node["emit"] = dict(items)
        return node

    return build()


_SOURCE = st.sampled_from(SOURCES)
_RULE_NAMES = ("events", "identify", "group", "r.1", "r-2", "page_views", "_x", "9")


@st.composite
def mapping_dicts(draw, source: str | None = None, max_rules: int = 4,
                  max_defines: int = 4, shared: bool = False) -> dict:
    """A valid mapping as a Python dict; `shared`: rules that share values (share_values)."""
    if source is None:
        source = draw(_SOURCE)
    defines: dict = {}
    for index in range(draw(st.integers(0, max_defines))):
        defines[f"d_{index}"] = draw(value(source, tuple(defines), 2))
    rule_names = draw(st.lists(st.sampled_from(_RULE_NAMES), min_size=3 if shared else 1,
                               max_size=max_rules, unique=True))
    doc: dict = {"version": 1, "name": f"gen-{source}", "source": source}
    if draw(_BOOL):
        doc["description"] = draw(PLAIN_TEXT)
    if defines:
        doc["define"] = defines
    doc["rules"] = [draw(rule(source, tuple(defines), name)) for name in rule_names]
    if shared:
        share_values(draw, doc["rules"], source, tuple(defines))
    elif _one_in(draw, 3):  # rules that dispatch on the event's name
        conditions = draw(dispatch_conditions(source, len(rule_names)))
        for node, condition in zip(doc["rules"], conditions):
            node["when"] = condition
    elif _one_in(draw, 3):
        share_values(draw, doc["rules"], source, tuple(defines))
    return doc


def share_values(draw, rules: list[dict], source: str, defines: tuple[str, ...]) -> None:
    """Rules that compute the same values under the same keys, some of them
    unconditional, some values able to reject the event (so never shared up front),
    defines read both by name and through their text: a value named in one rule
    must not be overwritten by another rule before a third reads it again."""
    keys = sorted({key for rule in rules for key in rule["emit"] if key != "type"})
    field = draw(st.sampled_from(template_fields(source) or ("k",)))
    rejecting = [{"path": f"to_string({jp_name(field)})"}, {"path": f"length({jp_name(field)})"}]
    pool = {key: draw(st.lists(st.one_of(st.sampled_from(rejecting), st.sampled_from(rejecting),
                                         required_value(source, defines, key)),
                               min_size=1, max_size=2)) for key in keys}
    for rule in rules:
        if _one_in(draw, 2):
            rule.pop("when", None)
        elif draw(_BOOL):  # a condition that often holds, so the rule's values are computed
            rule["when"] = f"{jp_name(field)} != `null`"
        for key in rule["emit"]:
            if key in pool and draw(_BOOL):
                rule["emit"][key] = draw(st.sampled_from(pool[key]))
        if defines and _one_in(draw, 3):  # a define by name beside its text
            name = draw(st.sampled_from(defines))
            rule["emit"]["extra key"] = f"{{{{ {name} }}}}"


class _Dumper(yaml.SafeDumper):
    """Every string double-quoted (so no scalar changes type), no anchors or aliases."""

    def ignore_aliases(self, data) -> bool:
        return True


def _quoted_str(dumper: yaml.SafeDumper, data: str):
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style='"')


_Dumper.add_representer(str, _quoted_str)


def to_yaml(doc: dict) -> str:
    """A mapping dict as YAML text the strict loader reads back unchanged."""
    return yaml.dump(doc, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=1 << 30,
                     default_flow_style=False)


@st.composite
def mappings(draw, source: str | None = None, shared: bool = False) -> tuple[str, str]:
    """`(yaml_text, source)` of a valid mapping."""
    doc = draw(mapping_dicts(source, shared=shared))
    return to_yaml(doc), doc["source"]


@st.composite
def mapping_and_events(draw, max_events: int = 4, shared: bool = False) -> tuple[str, list]:
    """A mapping and a few events of its source."""
    text, source = draw(mappings(shared=shared))
    return text, draw(st.lists(any_event(source), min_size=1, max_size=max_events))


# --------------------------------------------------------------------------
# The JMESPath subset against jmespath.search
# --------------------------------------------------------------------------

JP_DATA_KEYS = (*FIELDS["custom"], *NESTED_KEYS[:12])
_JP_VALUES = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(st.sampled_from(JP_DATA_KEYS), children, max_size=4),
    ),
    max_leaves=10,
)
#: Data for the JMESPath checks: an object at the top, like every event.
JP_DATA = st.dictionaries(st.sampled_from(JP_DATA_KEYS), _JP_VALUES, max_size=6)
