"""What users read when a mapping is wrong: every diagnostic of lowering and analysis, pinned.

Each case is a small mapping and the exact report `accoil_map.check` gives
for it: `file:line:col: severity[CODE]: message`, the hint indented below, errors
by position first, then warnings. The schema checker's messages are pinned
in test_schema.py and the loader's errors in test_loader.py; the loader's
warnings are here because they reach users through `check`.
"""

from __future__ import annotations

import pytest

from accoil_map import MappingError, check

_HEAD = "version: 1\nname: m\nsource: segment\n"


def page(*lines: str) -> str:
    """A segment mapping whose one rule emits a page call, `lines` added to its emit.

    Line numbers, for reading the expected reports::

        1 version: 1
        2 name: m
        3 source: segment
        4 rules:
        5   - name: r
        6     emit:
        7       type: page
        8       timestamp: "{{ timestamp }}"
        9       <lines[0]>

    A value written `      name: "...` has its text from column 14 (the quote is 13),
    one written `      x: {path: "...` from column 18.
    """
    emit = "".join(f"      {line}\n" for line in lines)
    return (
        _HEAD
        + 'rules:\n  - name: r\n    emit:\n      type: page\n      timestamp: "{{ timestamp }}"\n'
        + emit
    )


def mapping(body: str) -> str:
    """The three header lines (version, name, source: segment) and `body` from line 4."""
    return _HEAD + body


def case(case_id: str, text: str, *report: str, bug: str | None = None):
    """One row of the table: a mapping and its report, line by line ('' for none)."""
    marks = [pytest.mark.xfail(strict=True, reason=bug)] if bug else []
    return pytest.param(text, "\n".join(report), id=case_id, marks=marks)


_FILTERS = (
    "filters: capitalize, default, first, float, int, join, last, length, lower, replace, "
    "string, title, trim, upper"
)
_SUBSCRIPT_HINT = "write a['key'] or a[0]; a key computed from the event needs a path:"
_SUBSET = "supported: names, a.b, a['b'], a[0], literals and filters " + _FILTERS.removeprefix(
    "filters: "
)

CASES = [
    case("clean-mapping-reports-nothing", page('name: "{{ name | trim }}"'), ""),
    # --- analysis: the Accoil contract, require:, rule names, defines ----------------
    case(
        "required-key-missing",
        mapping(
            "rules:\n"
            "  - name: r\n"
            "    emit:\n"
            "      type: track\n"
            '      userId: "{{ userId }}"\n'
            '      timestamp: "{{ timestamp }}"\n'
        ),
        "m.yaml:6:5: error[AM106]: a track call needs 'event', and this rule does not produce it",
        "    hint: add 'event:' under emit",
    ),
    case(
        "required-key-constant-of-another-type",
        mapping(
            "rules:\n"
            "  - name: r\n"
            "    emit:\n"
            "      type: identify\n"
            "      userId: 42\n"
            '      timestamp: "{{ timestamp }}"\n'
        ),
        "m.yaml:8:15: error[AM109]: an identify call needs 'userId', and this constant never fits: "
        "userId must be a non-empty string",
    ),
    case(
        "required-key-empty-string",
        mapping("rules:\n  - name: r\n    emit:\n      type: page\n      timestamp: ''\n"),
        "m.yaml:8:18: error[AM109]: a page call needs 'timestamp', and this constant never fits: "
        "timestamp must be a non-empty string",
    ),
    case(
        "required-key-template-of-a-constant-none",
        mapping(
            "rules:\n  - name: r\n    emit:\n      type: page\n      timestamp: '{{ none }}'\n"
        ),
        "m.yaml:8:18: error[AM109]: a page call needs 'timestamp', and this constant never fits: "
        "timestamp must be a non-empty string",
    ),
    case(
        "require-names-a-key-not-emitted",
        mapping(
            "rules:\n"
            "  - name: r\n"
            "    require: [name]\n"
            "    emit:\n"
            "      type: page\n"
            '      timestamp: "{{ timestamp }}"\n'
        ),
        "m.yaml:6:15: error[AM301]: require: names 'name', which this rule does not emit",
        "    hint: require: lists keys of emit",
    ),
    case(
        "require-names-a-key-whose-constant-never-fits",
        mapping(
            "rules:\n"
            "  - name: r\n"
            "    require: [name]\n"
            "    emit:\n"
            "      type: page\n"
            '      timestamp: "{{ timestamp }}"\n'
            "      name: ''\n"
        ),
        "m.yaml:10:13: error[AM109]: require: names 'name', and its constant never fits: "
        "name must be a non-empty string",
    ),
    case(
        "duplicate-rule-name",
        mapping(
            "rules:\n"
            "  - name: r\n"
            "    emit: {type: page, timestamp: '{{ timestamp }}'}\n"
            "  - name: r\n"
            "    emit: {type: page, timestamp: '{{ timestamp }}'}\n"
        ),
        "m.yaml:7:11: error[AM302]: duplicate rule name 'r' (first used at line 5)",
    ),
    case(
        "define-cycle-through-two-defines",
        mapping(
            "define:\n"
            "  a: '{{ b }}'\n"
            "  b: '{{ a }}'\n"
            "rules:\n"
            "  - name: r\n"
            "    emit: {type: page, timestamp: '{{ a }}'}\n"
        ),
        "m.yaml:5:6: error[AM303]: define 'a' depends on itself: a -> b -> a",
        "m.yaml:6:6: error[AM303]: define 'b' depends on itself: b -> a -> b",
    ),
    case(
        "define-depends-on-itself",
        mapping(
            "define:\n"
            "  a: {coalesce: ['{{ a }}', {path: timestamp}]}\n"
            "rules:\n"
            "  - name: r\n"
            "    emit: {type: page, timestamp: '{{ a }}'}\n"
        ),
        "m.yaml:5:6: error[AM303]: define 'a' depends on itself: a -> a",
    ),
    case(
        "unused-define-is-a-warning-at-its-key",
        mapping(
            "define:\n"
            "  spare: {path: userId}\n"
            "rules:\n"
            "  - name: r\n"
            "    emit: {type: page, timestamp: '{{ timestamp }}'}\n"
        ),
        "m.yaml:5:3: warning[AM390]: define 'spare' is never used",
    ),
    case(
        "define-used-only-by-an-unused-define",
        mapping(
            "define:\n"
            "  a: {path: userId}\n"
            "  b: '{{ a }}'\n"
            "rules:\n"
            "  - name: r\n"
            "    emit: {type: page, timestamp: '{{ timestamp }}'}\n"
        ),
        "m.yaml:6:3: warning[AM390]: define 'b' is never used",
    ),
    # --- names in templates -------------------------------------------------------
    case(
        "unknown-name-with-close-match",
        page('name: "{{ nmae }}"'),
        "m.yaml:9:17: error[AM202]: unknown name 'nmae': not a define and not a field of segment events",
        "    hint: did you mean 'name'?",
    ),
    case(
        "unknown-name-without-close-match",
        page('name: "Hi {{ zzzz }}"'),
        "m.yaml:9:20: error[AM202]: unknown name 'zzzz': not a define and not a field of segment events",
        "    hint: names are define: names or top-level fields of segment events",
    ),
    case(
        "unknown-name-in-a-plain-scalar",
        page("name: Hi {{ zzzz }}"),
        "m.yaml:9:19: error[AM202]: unknown name 'zzzz': not a define and not a field of segment events",
        "    hint: names are define: names or top-level fields of segment events",
    ),
    case(
        "unknown-name-also-written-as-text-before-it",
        page('name: "user {{ user }}"'),
        "m.yaml:9:22: error[AM202]: unknown name 'user': not a define and not a field of segment events",
        "    hint: did you mean 'userId'?",
    ),
    case(
        "unknown-name-on-the-second-line-of-a-block-template",
        page("name: |-", "  Hello", "  {{ nmae }}"),
        "m.yaml:11:12: error[AM202]: unknown name 'nmae': not a define and not a field of segment events",
        "    hint: did you mean 'name'?",
    ),
    # --- event fields in JMESPath -------------------------------------------------
    case(
        "unknown-field-in-path-with-close-match",
        page("x: {path: usrId}"),
        "m.yaml:9:17: error[AM203]: 'usrId' is not a field of segment events",
        "    hint: did you mean 'userId'?",
    ),
    case(
        "unknown-field-in-path-without-close-match",
        page('x: {path: "qqq.x"}'),
        "m.yaml:9:18: error[AM203]: 'qqq' is not a field of segment events",
        "    hint: use source: custom for other shapes",
    ),
    case(
        "unknown-field-in-when",
        mapping(
            "rules:\n"
            "  - name: r\n"
            "    when: \"typ == 'page'\"\n"
            "    emit: {type: page, timestamp: '{{ timestamp }}'}\n"
        ),
        "m.yaml:6:12: error[AM203]: 'typ' is not a field of segment events",
        "    hint: did you mean 'type'?",
    ),
    case(
        "unknown-field-in-a-define",
        mapping(
            "define:\n"
            "  u: {path: usrId}\n"
            "rules:\n"
            "  - name: r\n"
            "    emit: {type: page, timestamp: '{{ timestamp }}', userId: '{{ u }}'}\n"
        ),
        "m.yaml:5:13: error[AM203]: 'usrId' is not a field of segment events",
        "    hint: did you mean 'userId'?",
    ),
    case(
        "unknown-field-in-group-ids",
        page("groupTraits:", "  groups: {ids: grops, traits: traits}"),
        "m.yaml:10:23: error[AM203]: 'grops' is not a field of segment events",
        "    hint: did you mean 'groupId'?",
    ),
    case(
        "define-name-read-in-when-is-an-unknown-field",
        mapping(
            "define:\n"
            "  kind: {path: type}\n"
            "rules:\n"
            "  - name: r\n"
            "    when: \"kind == 'page'\"\n"
            "    emit: {type: page, timestamp: '{{ kind }}'}\n"
        ),
        "m.yaml:8:12: error[AM203]: 'kind' is not a field of segment events",
        "    hint: defines are names in templates; JMESPath reads the event only",
    ),
    case(
        "unknown-field-also-written-inside-a-known-one-before-it",
        mapping(
            "rules:\n"
            "  - name: r\n"
            "    when: \"type == 'track' || typ == 'page'\"\n"
            "    emit: {type: page, timestamp: '{{ timestamp }}'}\n"
        ),
        "m.yaml:6:31: error[AM203]: 'typ' is not a field of segment events",
        "    hint: did you mean 'type'?",
    ),
    # --- filters ------------------------------------------------------------------
    case(
        "unknown-filter-with-close-match",
        page('name: "{{ name | lowr }}"'),
        "m.yaml:9:24: error[AM210]: unknown filter 'lowr'",
        "    hint: did you mean 'lower'?",
    ),
    case(
        "unknown-filter-without-close-match",
        page('name: "{{ name | zzzzz }}"'),
        "m.yaml:9:24: error[AM210]: unknown filter 'zzzzz'",
        "    hint: " + _FILTERS,
    ),
    case(
        "unknown-filter-whose-name-starts-an-earlier-filter",
        page('name: "{{ name | trim | tri }}"'),
        "m.yaml:9:31: error[AM210]: unknown filter 'tri'",
        "    hint: did you mean 'trim'?",
    ),
    case(
        "filter-with-an-argument-it-does-not-take",
        page('name: "{{ name | lower(1) }}"'),
        "m.yaml:9:24: error[AM211]: filter 'lower' takes no arguments",
    ),
    case(
        "filter-with-too-few-arguments",
        page("name: \"{{ name | replace('a') }}\""),
        "m.yaml:9:24: error[AM211]: filter 'replace' takes 2 arguments",
    ),
    case(
        "filter-with-star-arguments",
        page('name: "{{ name | default(*x) }}"'),
        "m.yaml:9:24: error[AM211]: filter 'default' does not take * or ** arguments",
    ),
    case(
        "filter-with-double-star-arguments",
        page('name: "{{ name | join(**x) }}"'),
        "m.yaml:9:24: error[AM211]: filter 'join' does not take * or ** arguments",
    ),
    case(
        "filter-with-an-unknown-keyword",
        page('name: "{{ name | lower(x=1) }}"'),
        "m.yaml:9:24: error[AM211]: filter 'lower' has no argument 'x'",
    ),
    case(
        "default-with-an-unknown-keyword",
        page("name: \"{{ name | default('a', bool=true) }}\""),
        "m.yaml:9:24: error[AM211]: filter 'default' has no argument 'bool'",
    ),
    case(
        "default-with-boolean-but-no-fallback",
        page('name: "{{ name | default(boolean=true) }}"'),
        "m.yaml:9:24: error[AM211]: filter 'default' takes its fallback value first",
        "    hint: write default(fallback, boolean=true)",
    ),
    case(
        "replace-with-a-number",
        page("name: \"{{ name | replace('a', 1) }}\""),
        "m.yaml:9:24: error[AM211]: the arguments of 'replace' must be quoted strings",
    ),
    case(
        "join-with-a-name",
        page('name: "{{ name | join(userId) }}"'),
        "m.yaml:9:24: error[AM211]: the arguments of 'join' must be quoted strings",
    ),
    case(
        "default-with-a-second-argument-not-a-boolean",
        page("name: \"{{ name | default('x', 1) }}\""),
        "m.yaml:9:24: error[AM211]: the second argument of 'default' must be true or false",
    ),
    # --- template forms -----------------------------------------------------------
    case(
        "template-statement",
        page('name: "{% if name %}x{% endif %}"'),
        "m.yaml:9:14: error[AM208]: only {{ expressions }} are supported in templates, "
        "not {% statements %}",
        "    hint: compute values with define:, coalesce: or when:",
    ),
    case(
        "template-concatenation",
        page('name: "{{ name ~ userId }}"'),
        "m.yaml:9:17: error[AM209]: '~' concatenation is not supported in templates",
        "    hint: write the parts side by side: {{ a }}{{ b }}",
    ),
    case(
        "template-method-call",
        page('name: "{{ name.upper() }}"'),
        "m.yaml:9:17: error[AM209]: a call is not supported in templates",
        "    hint: " + _SUBSET,
    ),
    case(
        "template-conditional",
        page("name: \"{{ name if userId else 'x' }}\""),
        "m.yaml:9:17: error[AM209]: an if/else expression is not supported in templates",
        "    hint: use coalesce:, default: or the default filter",
    ),
    case(
        "subscript-by-a-name",
        page('name: "{{ properties[name] }}"'),
        "m.yaml:9:17: error[AM209]: subscripts must be a quoted key or an integer index",
        "    hint: " + _SUBSCRIPT_HINT,
    ),
    case(
        "subscript-by-a-float",
        page('name: "{{ properties[1.5] }}"'),
        "m.yaml:9:17: error[AM209]: subscripts must be a quoted key or an integer index",
        "    hint: " + _SUBSCRIPT_HINT,
    ),
    case(
        "template-syntax-error",
        page('name: "{{ name }"'),
        "m.yaml:9:14: error[AM201]: template syntax error: unexpected '}'",
    ),
    case(
        "template-syntax-error-on-the-first-line-of-a-block-template",
        page("name: |-", "  {{ name | }}", "  Hello"),
        "m.yaml:10:9: error[AM201]: template syntax error: "
        "expected token 'name', got 'end of print statement'",
    ),
    case(
        "template-syntax-error-on-the-second-line-of-a-block-template",
        page("name: |-", "  Hello", "  {{ name | }}"),
        "m.yaml:11:9: error[AM201]: template syntax error: "
        "expected token 'name', got 'end of print statement'",
    ),
    case(
        "unknown-filter-on-the-second-line-of-a-folded-template",
        page("name: >-", "  Page Viewed {{ properties.title", '  | defalt("x") }}'),
        "m.yaml:11:11: error[AM210]: unknown filter 'defalt'",
        "    hint: did you mean 'default'?",
    ),
    case(
        "template-with-a-carriage-return-and-every-private-use-character",
        page('name: "' + "".join(map(chr, range(0xE000, 0xF900))) + '\\r{{ name }}"'),
        "m.yaml:9:14: error[AM209]: a template with a carriage return uses every private-use character",
    ),
    # --- JMESPath -----------------------------------------------------------------
    case(
        "jmespath-ending-too-early",
        page('x: {path: "properties.[a"}'),
        "m.yaml:9:31: error[AM204]: invalid JMESPath: the expression ends too early",
    ),
    case(
        "jmespath-ending-after-a-dot",
        page('x: {path: "properties."}'),
        "m.yaml:9:29: error[AM204]: invalid JMESPath: Expecting: "
        "['quoted_identifier', 'unquoted_identifier', 'lbracket', 'lbrace'], got: eof",
    ),
    case(
        "jmespath-unexpected-token",
        page('x: {path: "properties & traits"}'),
        "m.yaml:9:29: error[AM204]: invalid JMESPath: Unexpected token: &",
    ),
    case(
        "jmespath-unclosed-quote",
        page("x: {path: 'properties.\"a'}"),
        'm.yaml:9:29: error[AM204]: invalid JMESPath: Unclosed " delimiter',
    ),
    case(
        "jmespath-invalid-in-when",
        mapping(
            "rules:\n"
            "  - name: r\n"
            '    when: "type == "\n'
            "    emit: {type: page, timestamp: '{{ timestamp }}'}\n"
        ),
        "m.yaml:6:20: error[AM204]: invalid JMESPath: the expression ends too early",
    ),
    case(
        "jmespath-unknown-function-with-close-match",
        page('x: {path: "lenght(properties)"}'),
        "m.yaml:9:18: error[AM205]: unknown JMESPath function 'lenght'",
        "    hint: did you mean 'length'?",
    ),
    case(
        "jmespath-unknown-function-without-close-match",
        page('x: {path: "zzqq(properties)"}'),
        "m.yaml:9:18: error[AM205]: unknown JMESPath function 'zzqq'",
        "    hint: see https://jmespath.org/specification.html",
    ),
    case(
        "jmespath-unknown-function-in-when",
        mapping(
            "rules:\n"
            "  - name: r\n"
            '    when: "lenght(name) > `0`"\n'
            "    emit: {type: page, timestamp: '{{ timestamp }}'}\n"
        ),
        "m.yaml:6:12: error[AM205]: unknown JMESPath function 'lenght'",
        "    hint: did you mean 'length'?",
    ),
    # --- constants JSON cannot carry ------------------------------------------------
    case(
        "nan-literal",
        page("x: {literal: .nan}"),
        "m.yaml:9:20: error[AM016]: '.nan' is not a finite number",
        "    hint: a payload cannot carry infinity or NaN; quote it to mean the text",
    ),
    case(
        "huge-integer-literal",
        page("x: {literal: 99999999999999999999999}"),
        "m.yaml:9:20: error[AM207]: integers beyond 64 bits cannot be written as JSON here",
    ),
    case(
        "huge-integer-inside-a-literal",
        page("x: {literal: {a: [1, 99999999999999999999999]}}"),
        "m.yaml:9:20: error[AM207]: integers beyond 64 bits cannot be written as JSON here",
    ),
    case(
        "huge-integer-plain-value",
        page("x: 99999999999999999999999"),
        "m.yaml:9:10: error[AM207]: integers beyond 64 bits cannot be written as JSON here",
    ),
    case(
        "huge-integer-default",
        page("x: {path: name, default: 99999999999999999999999}"),
        "m.yaml:9:32: error[AM207]: integers beyond 64 bits cannot be written as JSON here",
    ),
    case(
        "infinity-in-a-template",
        page('x: "{{ 1e999 }}"'),
        "m.yaml:9:11: error[AM207]: inf is not a number JSON can carry",
    ),
    case(
        "huge-negative-integer-in-a-template",
        page('x: "{{ -99999999999999999999999 }}"'),
        "m.yaml:9:11: error[AM207]: integers beyond 64 bits cannot be written as JSON here",
    ),
    case(
        "nan-in-a-path",
        page('x: {path: "`NaN`"}'),
        "m.yaml:9:18: error[AM207]: nan is not a number JSON can carry",
    ),
    case(
        "huge-integer-in-a-path",
        page('x: {path: "`99999999999999999999999`"}'),
        "m.yaml:9:18: error[AM207]: integers beyond 64 bits cannot be written as JSON here",
    ),
    # --- the loader's warnings, through check ----------------------------------------
    case(
        "yaml-1.1-boolean",
        page("x: yes"),
        "m.yaml:9:10: warning[AM050]: read as the string 'yes'; quote it, or write true/false",
    ),
    case(
        "yaml-1.1-number",
        page("x: 1_000"),
        "m.yaml:9:10: warning[AM051]: read as the string '1_000' (YAML 1.1 reads a number)",
        "    hint: quote it, or write the number in plain decimal",
    ),
    case(
        "yaml-directive",
        "%YAML 1.1\n---\n" + page(),
        "m.yaml:1:1: warning[AM053]: '%YAML 1.1' is ignored: mappings are read as YAML 1.2",
        "    hint: remove the directive",
    ),
    case(
        "yaml-merge-key",
        page("x:", "  <<: {a: 1}"),
        "m.yaml:10:9: warning[AM052]: '<<' is a plain key here: YAML merge keys are not supported",
        "    hint: write the keys out, or quote '<<' if you mean the key",
    ),
    case(
        "warnings-come-after-errors",
        page("x: yes", 'name: "{{ nmae }}"'),
        "m.yaml:10:17: error[AM202]: unknown name 'nmae': not a define and not a field of segment events",
        "    hint: did you mean 'name'?",
        "m.yaml:9:10: warning[AM050]: read as the string 'yes'; quote it, or write true/false",
    ),
    case(
        "every-value-is-reported-in-file-order",
        page('name: "{{ nmae | lowr }}"', "x: {path: usrId}", 'userId: "{{ usr }}"'),
        "m.yaml:9:17: error[AM202]: unknown name 'nmae': not a define and not a field of segment events",
        "    hint: did you mean 'name'?",
        "m.yaml:10:17: error[AM203]: 'usrId' is not a field of segment events",
        "    hint: did you mean 'userId'?",
        "m.yaml:11:19: error[AM202]: unknown name 'usr': not a define and not a field of segment events",
        "    hint: did you mean 'userId'?",
    ),
]


def report(text: str) -> tuple[bool, str]:
    """Whether `check` refused the mapping, and every diagnostic it gave, formatted."""
    try:
        checked = check(text, filename="m.yaml")
    except MappingError as exc:
        return True, "\n".join(d.format() for d in exc.diagnostics)
    return False, "\n".join(d.format() for d in checked.warnings)


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_diagnostic(text, expected):
    refused, reported = report(text)
    assert reported == expected
    assert refused == (": error[" in expected)


def test_the_exception_message_is_the_first_diagnostic():
    with pytest.raises(MappingError) as caught:
        check(page('name: "{{ nmae }}"', 'userId: "{{ usr }}"'), filename="m.yaml")
    assert len(caught.value.diagnostics) == 2
    assert str(caught.value) == caught.value.diagnostics[0].format()
