"""Hostile mappings: nothing in a mapping file can run code, and every string stays data.

Each hostile string goes into every position a mapping author controls. The
outcome must be one of two: the mapping compiles, the generated module passes
`audit_source`, and the payloads carry the string exactly as data; or a
MappingError whose diagnostics point at file:line:col. Never a SyntaxError,
never a crash, never a side effect: a canary file that the payloads try to
create never appears, and an audit hook sees no process, no unexpected import,
no code executed but the generated module's own.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
from pathlib import Path

import orjson
import pytest

from accoil_map import check
from accoil_map.audit import audit_source
from accoil_map.codegen import generate
from accoil_map.errors import MappingError
from accoil_map.language import KEY_TYPES
from accoil_map.modules import import_source
from tests.conftest import MAPPINGS, compiled, no_runaway

TS = "2024-01-01T00:00:00.000Z"
OPERATOR_WORDS = frozenset(
    {"path", "coalesce", "merge", "groups", "value", "literal", "object", "as", "default", "omit_keys"}
)
CANARY_MARK = "PWNED-accoil-canary"

# --- the watcher: canary file and audit hook -----------------------------------

_SPAWN_PREFIXES = (
    "os.system", "os.exec", "os.spawn", "os.posix_spawn", "os.fork", "os.forkpty",
    "subprocess.", "pty.", "socket.", "ctypes.", "winreg.", "os.kill", "os.remove",
    "os.rename", "os.rmdir", "os.unlink", "shutil.", "webbrowser.",
)
_IMPORT_OK = frozenset({
    "re", "json", "math", "datetime", "decimal", "jmespath", "jinja2", "encodings", "_strptime",
    "unicodedata", "linecache", "tokenize", "hashlib", "_hashlib", "_blake2", "_sha256",
})
_WATCH: dict = {"active": False, "events": []}


def _audit_hook(event: str, args: tuple) -> None:
    if not _WATCH["active"]:
        return
    if event.startswith(_SPAWN_PREFIXES):
        _WATCH["events"].append((event, repr(args)[:200]))
    elif event == "import":
        if args[0].split(".")[0] not in _IMPORT_OK:
            _WATCH["events"].append((event, args[0]))
    elif event == "exec":
        # Only the generated module itself (import_source) and real module files.
        # Jinja execs `raise __jinja_exception__` to rewrite a syntax error's traceback.
        filename = getattr(args[0], "co_filename", "")
        names = getattr(args[0], "co_names", ())
        if not (
            filename.startswith("<accoil-map ")
            or os.path.isfile(filename)
            or names == ("__jinja_exception__",)
        ):
            _WATCH["events"].append((event, filename))
    elif event == "open":
        path = args[0]
        if isinstance(path, (str, bytes)) and CANARY_MARK in os.fsdecode(path):
            _WATCH["events"].append((event, os.fsdecode(path)))


@pytest.fixture(scope="session", autouse=True)
def _audit_hook_installed():
    # Audit hooks cannot be removed: install one for the session, active only in `watched()`.
    if not getattr(sys, "_accoil_security_hook", False):
        sys.addaudithook(_audit_hook)
        sys._accoil_security_hook = True
    yield


@contextlib.contextmanager
def watched():
    """Fail if anything in the block spawns a process, imports oddly, or runs foreign code."""
    _WATCH["events"] = []
    _WATCH["active"] = True
    try:
        yield
    finally:
        _WATCH["active"] = False
    assert _WATCH["events"] == [], f"unexpected audit events: {_WATCH['events'][:5]}"


@pytest.fixture
def canary(tmp_path_factory):
    """A path that hostile payloads try to create; it must never exist."""
    path = tmp_path_factory.mktemp("canary") / CANARY_MARK
    yield str(path)
    assert not path.exists(), "a hostile mapping ran code"


# --- hostile strings -------------------------------------------------------------


def hostile_strings(canary: str) -> list[str]:
    touch = f"touch {canary}"
    strings = [
        # quotes and escapes
        "'", '"', "'''", '"""', "`", "\\", "ends with a backslash\\", "\\'", '\\"', "\\n",
        "\\x00", "\\u2028", "'\"'\"",
        # line breaks and odd characters
        "line\nbreak", "carriage\rreturn", "crlf\r\nline", "\n", "\r", "nul\x00byte", "\x00",
        "ls\u2028ps\u2029", "nel\x85", "\ufeffbom", "tab\there", "\x1b[31mred", "del\x7f",
        "\x0cform feed", "\x0bvtab", "\U0001f600 astral", "\ufffe\uffff", "\u202eRTL",
        # code injection
        f"'; import os; os.system('{touch}'); '",
        f'"; import os; os.system("{touch}"); "',
        f"'''; __import__('os').system('{touch}'); '''",
        f'"""\n__import__("os").system("{touch}")\n"""',
        f"\\'); __import__('os').system('{touch}') #",
        f"x\n#\nimport os\nos.system('{touch}')\n",
        f"\r__import__('os').system('{touch}')",
        f"\u2028__import__('os').system('{touch}')",
        f"{{__import__('os').system('{touch}')}}",
        "{__import__('os')}", "{0.__class__}", "{0.__init__.__globals__}", "%s", "%(x)s",
        "{}", "{!r}", "${HOME}", "$(id)", "`id`",
        # names that mean something in generated code
        "class", "None", "True", "def", "lambda", "import", "__class__", "__init__",
        "__globals__", "__builtins__", "__import__", "__dict__", "keys", "items", "get",
        "self", "event", "out", "body", "reasons", "transform", "RejectEvent", "to_text",
        "truthy", "omit_keys", "select_groups", "jp_search", "_C1", "_JMESPATH_1",
        "MAPPING_NAME", "t1", "e_x", "v_user", "x_userId", "item", "value", "key",
        # Unicode look-alikes: NFKC would fold them together
        "\ufb01", "fi", "e\u0301", "\u00e9", "\uff41", "a", "\u212a", "K",
        # blanks and markup
        "", " ", "#", "# comment", "-- ", "<script>alert(1)</script>", "a" * 300,
    ]
    assert len(set(strings)) == len(strings)
    return strings


_YAML_ESCAPE = re.compile(r'[^\x20-\x7e]|["\\]')


def _yaml_escape(match: re.Match) -> str:
    char = match.group()
    code = ord(char)
    if char in '"\\':
        return "\\" + char
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def yq(text: str) -> str:
    """A YAML double-quoted scalar for `text`, with YAML's own escapes."""
    return '"' + _YAML_ESCAPE.sub(_yaml_escape, text) + '"'


def to_yaml(value, indent: int = 0) -> str:
    """YAML in flow style (JSON-like, one item a line), every string double-quoted."""
    pad = "  " * (indent + 1)
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [f"{pad}{yq(k)}: {to_yaml(v, indent + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + "  " * indent + "}"
    if isinstance(value, list):
        if not value:
            return "[]"
        items = [pad + to_yaml(v, indent + 1) for v in value]
        return "[\n" + ",\n".join(items) + "\n" + "  " * indent + "]"
    if isinstance(value, str):
        return yq(value)
    return json.dumps(value)


def jinja_str(text: str) -> str:
    """A Jinja string literal for `text` (Jinja decodes them with unicode-escape)."""
    return "'" + text.encode("unicode_escape").decode("ascii").replace("'", "\\'") + "'"


def jmes_json(text: str) -> str:
    """A JMESPath JSON literal `...` for `text`."""
    return "`" + json.dumps(text).replace("`", "\\`") + "`"


def mapping(emit: dict | None = None, *, rules: list | None = None, **top) -> dict:
    """A custom-source mapping with one page rule (or the given rules)."""
    if rules is None:
        rules = [{"name": "r", "emit": {"type": "page", "timestamp": TS, **(emit or {})}}]
    return {"version": 1, "name": "m", "source": "custom", **top, "rules": rules}


def write(tmp_path: Path, doc, name: str = "m.yaml") -> Path:
    path = tmp_path / name
    path.write_text(doc if isinstance(doc, str) else to_yaml(doc) + "\n", encoding="utf-8")
    return path


def build(path: Path):
    """Compile, audit and import a mapping under watch; MappingError propagates."""
    with watched():
        checked = check(path)
        source = generate(checked.mapping)
        audit_source(source)
        module = import_source(source, checked.mapping.name)
    return module


def compiles(tmp_path: Path, doc, name: str = "m.yaml"):
    return build(write(tmp_path, doc, name))


def run(module, event: dict) -> list[dict]:
    with watched():
        payloads = module.transform(event)
    for payload in payloads:
        json.dumps(payload, allow_nan=False)  # plain, finite JSON data, nothing else
    return payloads


def assert_located(error: MappingError, path: Path) -> None:
    """Every diagnostic is `file:line:col: error[CODE]: message` for this file."""
    assert error.diagnostics
    for diagnostic in error.diagnostics:
        text = diagnostic.format()
        prefix = f"{path}:{diagnostic.line}:{diagnostic.col}: error[{diagnostic.code}]: "
        assert text.startswith(prefix), text
        assert diagnostic.line >= 1 and diagnostic.col >= 1
        assert diagnostic.message.strip()


def refused(tmp_path: Path, doc, name: str = "m.yaml") -> MappingError:
    path = write(tmp_path, doc, name)
    with watched(), pytest.raises(MappingError) as caught:
        check(path)
    assert_located(caught.value, path)
    return caught.value


def compiles_or_refused(tmp_path: Path, doc, name: str = "m.yaml"):
    """The module, or None after checking that the refusal is located."""
    path = write(tmp_path, doc, name)
    try:
        return build(path)
    except MappingError as error:
        assert_located(error, path)
        return None


# --- hostile strings as data, position by position ---------------------------------


def test_output_keys(tmp_path, canary):
    strings = hostile_strings(canary)
    emit = {text: f"v{i}" for i, text in enumerate(strings)}
    module = compiles(tmp_path, mapping(emit))
    [payload] = run(module, {})
    assert list(payload.items()) == [("type", "page"), ("timestamp", TS), *emit.items()]


def test_nested_object_literal_keys(tmp_path, canary):
    strings = hostile_strings(canary)
    inner = {text: i for i, text in enumerate(strings)}
    # In a plain object literal, operator and modifier words are syntax; `object:` takes any key.
    plain = {text: i for text, i in inner.items() if text not in OPERATOR_WORDS}
    deeper = {text: {"object": {text: text}} for text in strings}
    module = compiles(tmp_path, mapping({"plain": plain, "object": {"object": inner}, "deep": {"object": deeper}}))
    [payload] = run(module, {})
    assert list(payload["plain"].items()) == list(plain.items())
    assert list(payload["object"].items()) == list(inner.items())
    assert payload["deep"] == {text: {text: text} for text in strings}


def test_operator_words_as_plain_object_keys_are_refused(tmp_path):
    for i, word in enumerate(sorted(OPERATOR_WORDS)):
        value = {"a": 1, word: 2} if word in ("as", "default", "omit_keys") else {word: "x", "a": 1}
        refused(tmp_path, mapping({"pad": 1, "o": value}), f"m{i}.yaml")


def test_literal_values(tmp_path, canary):
    strings = hostile_strings(canary)
    emit = {f"k{i}": {"literal": text} for i, text in enumerate(strings)}
    emit["all"] = {"literal": {text: [text, {text: text}] for text in strings}}
    module = compiles(tmp_path, mapping(emit))
    [payload] = run(module, {})
    for i, text in enumerate(strings):
        assert payload[f"k{i}"] == text
    assert payload["all"] == {text: [text, {text: text}] for text in strings}


def test_plain_string_values(tmp_path, canary):
    # Strings without {{ }} are constant text: every one must come out as written.
    strings = hostile_strings(canary)
    emit = {f"k{i}": text for i, text in enumerate(strings)}
    emit["list"] = list(strings)
    module = compiles(tmp_path, mapping(emit))
    [payload] = run(module, {})
    for i, text in enumerate(strings):
        assert payload[f"k{i}"] == text, (i, text)
    assert payload["list"] == strings


def test_default_values(tmp_path, canary):
    strings = hostile_strings(canary)
    emit = {}
    for i, text in enumerate(strings):
        emit[f"d{i}"] = {"path": f"missing{i}", "default": text}
        emit[f"l{i}"] = {"path": f"missing{i}", "default": {"literal": text}}
        emit[f"c{i}"] = {"coalesce": [{"path": "nope"}, text]}
    module = compiles(tmp_path, mapping(emit))
    [payload] = run(module, {})
    for i, text in enumerate(strings):
        assert (payload[f"d{i}"], payload[f"l{i}"], payload[f"c{i}"]) == (text, text, text), i


def test_template_text(tmp_path, canary):
    """Text around {{ }} is literal: it reaches the payload unchanged."""
    strings = hostile_strings(canary)
    emit = {f"k{i}": f"{text}{{{{ n }}}}{text}" for i, text in enumerate(strings)}
    module = compiles(tmp_path, mapping(emit))
    [payload] = run(module, {"n": "N"})
    wrong = {
        text: payload.get(f"k{i}")
        for i, text in enumerate(strings)
        if payload.get(f"k{i}") != f"{text}N{text}"
    }
    assert wrong == {}


def test_template_string_constants(tmp_path, canary):
    strings = hostile_strings(canary)
    emit = {}
    for i, text in enumerate(strings):
        quoted = jinja_str(text)
        emit[f"default{i}"] = f"{{{{ nope | default({quoted}) }}}}"
        emit[f"subscript{i}"] = f"{{{{ obj[{quoted}] }}}}"
        emit[f"replace{i}"] = f"{{{{ word | replace('X', {quoted}) }}}}"
        emit[f"join{i}"] = f"{{{{ pair | join({quoted}) }}}}"
        emit[f"text{i}"] = f"<{{{{ nope | d({quoted}) }}}}>"
    module = compiles(tmp_path, mapping(emit))
    event = {"obj": {text: f"value {i}" for i, text in enumerate(strings)}, "word": "aXb", "pair": [1, 2]}
    [payload] = run(module, event)
    for i, text in enumerate(strings):
        assert payload[f"default{i}"] == text, i
        assert payload[f"subscript{i}"] == f"value {i}", i
        assert payload[f"replace{i}"] == f"a{text}b", i
        assert payload[f"join{i}"] == f"1{text}2", i
        assert payload[f"text{i}"] == f"<{text}>", i


def test_jmespath_quoted_identifiers(tmp_path, canary):
    strings = hostile_strings(canary)
    emit = {}
    for i, text in enumerate(strings):
        emit[f"top{i}"] = {"path": json.dumps(text)}
        emit[f"nested{i}"] = {"path": f"obj.{json.dumps(text)}.{json.dumps(text)}"}
    module = compiles(tmp_path, mapping(emit))
    event = {text: i for i, text in enumerate(strings)}
    event["obj"] = {text: {text: f"n{i}"} for i, text in enumerate(strings)}
    [payload] = run(module, event)
    for i in range(len(strings)):
        assert (payload[f"top{i}"], payload[f"nested{i}"]) == (i, f"n{i}"), i


def test_jmespath_literals_in_conditions_and_fallback_expressions(tmp_path, canary):
    strings = hostile_strings(canary)
    rules = []
    for i, text in enumerate(strings):
        rules.append({
            "name": f"r{i}",
            "when": f"k == {jmes_json(text)}",
            "emit": {
                "type": "page",
                "timestamp": TS,
                "n": i,
                # outside the compiled subset: a precompiled jmespath expression
                "found": {"path": f"items[?k == {jmes_json(text)}].v | [0]"},
                "raw": {"path": f"contains({jmes_json([text])}, k)"},
            },
        })
    module = compiles(tmp_path, mapping(rules=rules))
    items = [{"k": text, "v": f"v{i}"} for i, text in enumerate(strings)]
    for i, text in enumerate(strings):
        payloads = run(module, {"k": text, "items": items})
        assert payloads == [{"type": "page", "timestamp": TS, "n": i, "found": f"v{i}", "raw": True}]


def test_require_names_hostile_keys(tmp_path, canary):
    # Accoil's own keys (event, name, traits...) have types the value 1 does not fit.
    strings = [s for s in hostile_strings(canary) if s and s not in KEY_TYPES]
    rules = [
        {"name": "r", "require": strings, "emit": {"type": "page", "timestamp": TS,
                                                    **{s: {"path": "v"} for s in strings}}}
    ]
    module = compiles(tmp_path, mapping(rules=rules))
    [payload] = run(module, {"v": 1})
    assert all(payload[s] == 1 for s in strings)
    reasons: list = []
    with watched():
        assert module.transform({}, reasons) == []
    assert reasons == [("r", tuple(strings))]


def test_omit_keys_needles(tmp_path, canary):
    strings = [s for s in hostile_strings(canary) if s]
    emit = {f"k{i}": {"path": "traits", "omit_keys": [text]} for i, text in enumerate(strings)}
    module = compiles(tmp_path, mapping(emit))
    for i, text in enumerate(strings):
        traits = {f"<{text}>": 1, "zz": 2}
        [payload] = run(module, {"traits": traits})
        expected = {k: v for k, v in traits.items() if text.lower() not in k.lower()}
        assert payload[f"k{i}"] == expected, i
        assert f"<{text}>" not in payload[f"k{i}"]


def test_omit_keys_empty_needle_is_refused_or_drops_everything(tmp_path):
    module = compiles_or_refused(tmp_path, mapping({"t": {"path": "traits", "omit_keys": [""]}}))
    if module is not None:
        [payload] = run(module, {"traits": {"a": 1}})
        assert payload.get("t", {}) == {}


def test_type_trait(tmp_path, canary):
    strings = [s for s in hostile_strings(canary) if s]
    emit = {
        f"g{i}": {"groups": {"ids": "ids", "traits": "traits", "type_trait": text}}
        for i, text in enumerate(strings)
    }
    module = compiles(tmp_path, mapping(emit))
    [payload] = run(module, {"ids": {"Account": "1"}, "traits": {"Account": {"1": {"n": 1}}}})
    for i, text in enumerate(strings):
        assert payload[f"g{i}"] == [{"groupId": "1", "traits": {"n": 1, text: "Account"}}], i


def test_descriptions_and_schema_key(tmp_path, canary):
    strings = hostile_strings(canary)
    rules = [
        {"name": f"r{i}", "description": text, "emit": {"type": "page", "timestamp": TS, "n": i}}
        for i, text in enumerate(strings)
    ]
    doc = mapping(rules=rules, description="\n".join(strings))
    doc = {"$schema": strings[20], **doc}
    module = compiles(tmp_path, doc)
    assert [p["n"] for p in run(module, {})] == list(range(len(strings)))


@pytest.mark.parametrize("where", ["define", "rule", "mapping", "source", "call type"])
def test_hostile_names_are_refused_by_the_schema(tmp_path, canary, where):
    valid = {
        "define": re.compile(r"[A-Za-z_][A-Za-z0-9_]*"),
        "rule": re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*"),
        "mapping": re.compile(r"[a-z0-9_-]+"),
        "source": re.compile(r"amplitude|segment|posthog|custom"),
        "call type": re.compile(r"identify|group|track|page|screen"),
    }[where]
    for i, text in enumerate(hostile_strings(canary)):
        if valid.fullmatch(text) and "\n" not in text:
            continue
        if where == "define":
            doc = mapping({"x": "{{ v }}"}, define={"v": 1, text: 2})
        elif where == "rule":
            doc = mapping(rules=[{"name": text, "emit": {"type": "page", "timestamp": TS}}])
        elif where == "mapping":
            doc = {**mapping(), "name": text}
        elif where == "source":
            doc = {**mapping(), "source": text}
        else:
            doc = mapping(rules=[{"name": "r", "emit": {"type": text, "timestamp": TS}}])
        error = refused(tmp_path, doc, f"m{i}.yaml")
        assert error.diagnostics[0].line > 1  # at the offending node, not the top of the file


def test_valid_but_suspicious_define_names(tmp_path):
    names = ["__class__", "__import__", "__builtins__", "_", "event", "out", "body", "reasons",
             "transform", "RejectEvent", "to_text", "truthy", "MAPPING_NAME", "_C1", "class",
             "None", "True", "lambda", "self", "e_x", "x_userId", "t1", "a" * 200]
    define = {name: {"literal": f"value of {name}"} for name in names}
    emit = {name: f"{{{{ {name} }}}}" for name in names if name not in ("None", "True")}
    emit["text"] = " ".join(f"{{{{ {name} }}}}" for name in names if name not in ("None", "True"))
    module = compiles_or_refused(tmp_path, mapping(emit, define=define))
    if module is None:
        return
    [payload] = run(module, {"event": "E", "x": "X"})
    for name in names:
        if name not in ("None", "True"):
            assert payload[name] == f"value of {name}", name


def test_keys_that_fold_together_stay_apart(tmp_path):
    """Python folds identifiers by NFKC ('ﬁ' is 'fi'); event keys must not be."""
    emit = {
        "lig": "{{ \ufb01 }}", "plain": "{{ fi }}",
        "lig_path": {"path": '"\ufb01"'}, "plain_path": {"path": "fi"},
        "kelvin": {"path": '"\u212a"'}, "k": {"path": "K"},
        "wide": "{{ obj['\uff41'] }}", "narrow": "{{ obj.a }}",
        "\ufb01": 1, "fi": 2,
    }
    module = compiles(tmp_path, mapping(emit))
    event = {"\ufb01": "L", "fi": "P", "\u212a": "KELVIN", "K": "KAY", "obj": {"\uff41": "W", "a": "N"}}
    [payload] = run(module, event)
    assert payload == {
        "type": "page", "timestamp": TS, "lig": "L", "plain": "P", "lig_path": "L",
        "plain_path": "P", "kelvin": "KELVIN", "k": "KAY", "wide": "W", "narrow": "N",
        "\ufb01": 1, "fi": 2,
    }


def test_event_fields_named_like_generated_code(tmp_path):
    names = ["event", "out", "body", "reasons", "transform", "RejectEvent", "to_text", "truthy",
             "class", "def", "self", "e_event", "x_userId", "t1", "_C1", "item", "None_"]
    emit = {f"{name}_t": f"{{{{ {name} }}}}" for name in names}
    emit.update({f"{name}_p": {"path": json.dumps(name)} for name in names})
    emit.update({f"{name}_x": f"<{{{{ {name} }}}}>" for name in names})
    module = compiles(tmp_path, mapping(emit))
    event = {name: f"[{name}]" for name in names}
    [payload] = run(module, event)
    for name in names:
        assert payload[f"{name}_t"] == payload[f"{name}_p"] == f"[{name}]"
        assert payload[f"{name}_x"] == f"<[{name}]>"


def test_lone_surrogates_are_refused_by_yaml(tmp_path):
    for i, text in enumerate(["\ud800", "a\udfffb", "\udc80"]):
        refused(tmp_path, mapping({"k": text}), f"s{i}.yaml")
        refused(tmp_path, mapping({text: 1}), f"k{i}.yaml")


def test_lone_surrogates_through_escapes_in_expressions(tmp_path):
    """JMESPath JSON escapes and Jinja escapes can still make a lone surrogate: data only."""
    emit = {
        "path": {"path": '"\\ud800"'},
        "jinja": "{{ nope | default('\\ud800') }}",
        "subscript": "{{ obj['\\udfff'] }}",
    }
    module = compiles_or_refused(tmp_path, mapping(emit))
    if module is None:
        return
    with watched():
        [payload] = module.transform({"\ud800": "S", "obj": {"\udfff": "T"}})
    assert payload["path"] == "S"
    assert payload["jinja"] == "\ud800"
    assert payload["subscript"] == "T"


def test_hostile_file_names(tmp_path, canary):
    names = [
        "x'; import os; os.system('touch pwned') #.yaml",
        'a"""b\'\'\'c.yaml',
        "new\nline.yaml",
        "carriage\rreturn.yaml",
        "back\\slash.yaml",
        "\u2028sep.yaml",
        "{__import__('os')}.yaml",
        "%s{}.yaml",
        "\ufb01le.yaml",
        os.fsdecode(b"non-utf8-\xff\xfe.yaml"),
    ]
    for i, name in enumerate(names):
        folder = tmp_path / f"d{i}"
        folder.mkdir()
        path = folder / name
        path.write_text(to_yaml(mapping({"n": i})) + "\n", encoding="utf-8")
        module = build(path)
        assert module.MAPPING_FILE == name
        assert run(module, {}) == [{"type": "page", "timestamp": TS, "n": i}]
        # and an invalid mapping under the same name is reported against it
        path.write_text(to_yaml({**mapping(), "version": 2}) + "\n", encoding="utf-8")
        with watched(), pytest.raises(MappingError) as caught:
            check(path)
        assert_located(caught.value, path)


# --- template sandbox-escape payloads ----------------------------------------------

SANDBOX_PAYLOADS = [
    "{{ ''.__class__.__mro__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ x|attr('format') }}",
    "{{ x|attr('__class__') }}",
    "{{ cycler.__init__.__globals__.os.popen('touch CANARY').read() }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ lipsum.__globals__['os'] }}",
    "{{ self.__init__.__globals__.__builtins__ }}",
    "{{ config.items() }}",
    "{{ request.application.__globals__ }}",
    "{{ ''['__class__'] }}",
    "{{ (1).__class__ }}",
    "{{ x.__class__ }}",
    "{{ x['__dict__'] }}",
    "{{ range.__init__ }}",
    "{{ namespace.__init__.__globals__.os }}",
    "{{ joiner.__init__.__globals__['os'].system('touch CANARY') }}",
    "{{ x ~ y }}",
    "{{ x + y }}",
    "{{ x if y else z }}",
    "{{ [1, 2] }}",
    "{{ {'a': 1} }}",
    "{{ x is defined }}",
    "{{ x.format('{0.__class__}') }}",
    "{{ '{0.__class__}'.format(x) }}",
    "{{ x | map(attribute='__class__') }}",
    "{{ x | default(__import__('os')) }}",
    "{{ x | replace(x, 'a') }}",
    "{{ x | join(*y) }}",
    "{{ x | default('a', boolean=__class__) }}",
    "{% for x in ().__class__.__base__.__subclasses__() %}{{ x }}{% endfor %}",
    "{% for %}",
    "{% import 'os' as os %}",
    "{% include '/etc/passwd' %}",
    "{% set x = 1 %}{{ x }}",
    "{% raw %}{{ x }}{% endraw %}",
    "{% macro m() %}{% endmacro %}",
    "{{ x",
    "{{ }}",
    "}}{{",
    "{{ x }}{{",
    "{# comment #}",
    "text {# comment #}",
    "{{ x }}{# comment #}",
    "{{ x.__class__.__name__ }}",
    "{{ '\\x00' }}",
    "{{ x[999999999999999999999999] }}",
    "{{ x[-0] }}",
    "{{ 1e999 }}",
    "{{ -1e999 }}",
    "{{ 99999999999999999999999999999 }}",
]


@pytest.mark.parametrize("template", SANDBOX_PAYLOADS)
def test_template_sandbox_payloads(tmp_path, canary, template):
    template = template.replace("CANARY", canary)
    module = compiles_or_refused(tmp_path, mapping({"t": template, "n": 1}))
    if module is None:
        return
    event = {
        "x": {"__class__": "C", "__dict__": "D", "format": "F", "__init__": {"__globals__": "G"}},
        "y": [1], "z": 2,
        "cycler": {"__init__": {"__globals__": {"os": "not a module"}}},
        "self": {"__init__": {"__globals__": {"__builtins__": "B"}}},
    }
    [payload] = run(module, event)  # plain JSON data (checked in run)
    assert payload["n"] == 1
    # Whatever the template gave was read from the event or written in the mapping:
    # never a Python object's repr, a module, a function or a globals dict.
    text = json.dumps(payload.get("t"))
    for leak in ("<class", "<function", "<module", "<built-in", "__builtins__", "object at 0x"):
        assert leak not in text, (template, text)


JMESPATH_PAYLOADS = [
    "`1`.a", "`-1`.a", "`1.5`.a", "'abc'.a", "`true`.a", "`null`.a", "`[1]`[0]", "`{\"a\": 1}`.a",
    "`1e999`", "`-1e999`", "`NaN`", "`Infinity`", "`[1e999]`", "`{\"a\": NaN}`",
    "`99999999999999999999999999`", "__class__", "\"__class__\".\"__globals__\"",
    "x.__init__.__globals__", "x | keys(@)", "x[?__class__ == `1`]", "`\"__import__('os')\"`",
    "to_string(`{\"a\": \"\\u2028\"}`)", "x.\"\\u0000\"",
]


@pytest.mark.parametrize("expression", JMESPATH_PAYLOADS)
def test_jmespath_constants_and_payloads(tmp_path, canary, expression):
    """Any JMESPath expression compiles to a working module, or is refused with a location."""
    module = compiles_or_refused(tmp_path, mapping({
        "p": {"path": expression},
        "w": {"path": f"({expression}) == `1`"},
    }))
    if module is None:
        return
    event = {"x": {"__class__": 1, "__init__": {"__globals__": "G"}, "\u0000": "N"}, "__class__": "C"}
    with watched():
        try:
            payloads = module.transform(event)
        except module.RejectEvent:
            return
    [payload] = payloads
    json.dumps(payload, allow_nan=False)


def test_dunder_keys_are_plain_event_data(tmp_path):
    emit = {
        "a": "{{ x.__class__ }}",
        "b": "{{ cycler.__init__.__globals__ }}",
        "c": "{{ x['__dict__'] }}",
        "d": {"path": "x.__class__"},
        "e": {"path": 'x."__init__"."__globals__"'},
        "f": "{{ ''.__class__ }}",
        "g": "{{ x.__class__.__mro__ }}",
    }
    module = compiles(tmp_path, mapping(emit))
    event = {
        "x": {"__class__": "C", "__dict__": "D", "__init__": {"__globals__": "G"}},
        "cycler": {"__init__": {"__globals__": "H"}},
    }
    [payload] = run(module, event)
    assert payload == {"type": "page", "timestamp": TS, "a": "C", "b": "H", "c": "D", "d": "C", "e": "G"}


def test_statements_and_unsupported_expressions_are_located(tmp_path):
    for i, template in enumerate(["{% for x in y %}{{ x }}{% endfor %}", "{{ x|attr('a') }}",
                                  "{{ x() }}", "{{ x ~ y }}", "{{ x", "{{ lipsum.__globals__ }}"]):
        if "lipsum" in template:
            continue
        error = refused(tmp_path, mapping({"pad": 1, "t": template}), f"m{i}.yaml")
        assert any(d.line > 1 for d in error.diagnostics)


def test_generated_code_compiles_without_warnings(tmp_path):
    """Constant required fields must not give `'...' is None` (a SyntaxWarning)."""
    import warnings

    path = write(tmp_path, mapping({"n": 1}))
    source = generate(check(path).mapping)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        compile(source, "generated.py", "exec")


# --- sizes -------------------------------------------------------------------------------


def test_ten_megabyte_literal(tmp_path):
    big = ("x" * 995 + "'\"\\\n\u2028") * 10_000  # 10 MB
    with no_runaway():
        module = compiles(tmp_path, mapping({"big": {"literal": big}, "text": big[:1_000_000]}))
        [payload] = run(module, {})
    assert payload["big"] == big and payload["text"] == big[:1_000_000]


def test_deep_nesting_fails_cleanly(tmp_path):
    value: object = "leaf"
    for _ in range(300):
        value = {"k": value}
    error = refused(tmp_path, mapping({"deep": value}))
    assert any("nesting" in d.message for d in error.diagnostics)
    # the same in block style
    text = BASE_YAML + "".join("  " * (3 + i) + "k:\n" for i in range(300)) + "  " * 303 + "leaf\n"
    error = refused(tmp_path, text, "block.yaml")
    assert any("nesting" in d.message for d in error.diagnostics)


def test_ten_thousand_fields_in_one_emit(tmp_path):
    emit = {f"field {i} '\"": (f"v{i}" if i % 10 else {"path": f'"f{i}"'}) for i in range(10_000)}
    module = compiles(tmp_path, mapping(emit))
    event = {f"f{i}": i for i in range(0, 10_000, 10)}
    [payload] = run(module, event)
    assert len(payload) == 10_002
    for i in range(10_000):
        assert payload[f"field {i} '\""] == (f"v{i}" if i % 10 else i)


# --- YAML hazards, through the whole pipeline ---------------------------------------------

BASE_YAML = f"""version: 1
name: m
source: custom
rules:
  - name: r
    emit:
      type: page
      timestamp: '{TS}'
"""


def yaml_hazards(canary: str) -> dict[str, str]:
    bomb = "a: &a ['lol','lol','lol','lol','lol','lol','lol','lol','lol']\n"
    for level in "bcdefghi":
        previous = chr(ord(level) - 1)
        bomb += f"{level}: &{level} [*{previous},*{previous},*{previous},*{previous},*{previous}," \
                f"*{previous},*{previous},*{previous},*{previous}]\n"
    return {
        "python object apply": BASE_YAML + f'      x: !!python/object/apply:os.system ["touch {canary}"]\n',
        "python object new": BASE_YAML + f'      x: !!python/object/new:os.system ["touch {canary}"]\n',
        "python name": BASE_YAML + "      x: !!python/name:os.system\n",
        "python module": BASE_YAML + "      x: !!python/module:os\n",
        "tag on key": BASE_YAML + f'      !!python/object/apply:os.system ["touch {canary}"]: 1\n',
        "root tag": f'!!python/object/apply:os.system ["touch {canary}"]\n',
        "local tag": BASE_YAML + "      x: !os.system touch\n",
        "alias bomb": BASE_YAML.replace("rules:", bomb + "rules:"),
        "alias in emit": BASE_YAML + "      x: &v 1\n      y: *v\n",
        "merge key": BASE_YAML + "      <<: {a: 1}\n",
        "deep flow": BASE_YAML + "      x: " + "[" * 1000 + "]" * 1000 + "\n",
        "deep block": BASE_YAML + "".join("  " * (3 + i) + "- \n" for i in range(1000)),
        "duplicate deep": BASE_YAML + "      x:\n        y:\n          z: 1\n          z: 2\n",
        "duplicate rule key": BASE_YAML + "      timestamp: 'again'\n",
        "NUL byte": BASE_YAML + "      x: a\x00b\n",
        "unclosed quote": BASE_YAML + "      x: 'abc\n",
        "tab indent": BASE_YAML + "\tx: 1\n",
        "directive": "%YAML 1.1\n---\n" + BASE_YAML,
        "two documents": BASE_YAML + "---\n" + BASE_YAML,
        "huge integer": BASE_YAML + "      x: " + "9" * 5000 + "\n",
        "non-finite": BASE_YAML + "      x: .nan\n",
    }


# YAML 1.1 constructs a YAML 1.2 reader may take as plain text, but only with a warning.
WARN_OR_REFUSE = {"merge key": "<<", "directive": "1.1"}


@pytest.mark.parametrize("case", list(yaml_hazards("C")))
def test_yaml_hazards_are_refused(tmp_path, canary, case):
    text = yaml_hazards(canary)[case]
    path = tmp_path / "m.yaml"
    path.write_text(text, encoding="utf-8")
    with no_runaway(), watched():
        try:
            checked = check(path)
        except MappingError as error:
            assert_located(error, path)
        else:
            assert case in WARN_OR_REFUSE, f"accepted: {checked.document.data!r:.200}"
            warned = [w.format() for w in checked.warnings]
            assert any(WARN_OR_REFUSE[case] in w for w in warned), f"accepted silently: {warned}"


@pytest.mark.parametrize(
    ("scalar", "expected"),
    [("on", "on"), ("no", "no"), ("yes", "yes"), ("off", "off"), ("1:30", "1:30"), ("1_000", "1_000")],
)
def test_yaml_1_1_scalars_warn_and_stay_strings(tmp_path, scalar, expected):
    path = write(tmp_path, BASE_YAML + f"      x: {scalar}\n")
    with watched():
        checked = check(path)
        module = import_source(generate(checked.mapping), "m")
    assert any(scalar in w.message for w in checked.warnings)
    assert all(f"{path}:" in w.format() for w in checked.warnings)
    assert module.transform({})[0]["x"] == expected


def test_yaml_octal_looking_number_is_refused(tmp_path):
    error = refused(tmp_path, BASE_YAML + "      x: 0755\n")
    assert "0755" in error.diagnostics[0].message
    assert error.diagnostics[0].line == 9


# --- adversarial event data through omit_keys and conversions -------------------------------


CONVERSIONS = {
    "emit": {
        "type": "page",
        "timestamp": TS,
        "ts": {"path": "ts", "as": "timestamp"},
        "omitted": {"path": "traits", "omit_keys": ["geoip", "ip", "current_url", "x" * 50]},
        "string": {"path": "v", "as": "string"},
        "number": {"path": "v", "as": "number"},
        "integer": {"path": "v", "as": "integer"},
        "boolean": {"path": "v", "as": "boolean"},
        "stamp": {"path": "v", "as": "timestamp"},
        "lower": "{{ v | lower }}",
        "title": "{{ v | title }}",
        "trim": "{{ v | trim }}",
        "length": "{{ v | length }}",
        "joined": "{{ v | join(',') }}",
        "replaced": "{{ v | replace('ip', 'IP') }}",
        "text": "<{{ v }}>",
    }
}

ADVERSARIAL_VALUES = {
    "100k key": {"k" * 100_000: "v" * 100_000},
    "ip repeated": "ip" * 50_000,
    "ip keys": {("ip" * 50_000) + str(i): i for i in range(20)} | {"i" * 100_000 + "p": 1},
    "100k digits": "9" * 100_000,
    "100k digits fraction": "1." + "0" * 100_000 + "1",
    "exponent": "1e" + "9" * 100_000,
    "long iso": "2024-01-01T00:00:00." + "9" * 100_000 + "Z",
    "iso prefix": "2024-01-01T00:00:00" + "+" * 100_000,
    "dashes": "-" * 100_000,
    "digits and dots": "1." * 50_000,
    "whitespace": " " * 100_000,
    "unicode": "\u0130" * 100_000,
    "big list": list(range(100_000)),
    "nested list": [[[["ip"] * 10] * 10] * 10] * 10,
    "huge int": 10**4000,
    "float": 1e308,
    "negative": -(10**15),
}


def test_omit_keys_and_conversions_on_adversarial_data(tmp_path):
    module = compiles(tmp_path, {"version": 1, "name": "m", "source": "custom",
                                 "rules": [{"name": "r", **CONVERSIONS}]})
    for name, value in ADVERSARIAL_VALUES.items():
        traits = value if isinstance(value, dict) else {"ip_" + str(name): value, "plan": "pro"}
        event = {"ts": value, "v": value, "traits": traits}
        with no_runaway(), watched():
            payloads = module.transform(event)
        [payload] = payloads
        for key in payload.get("omitted", {}):
            assert "ip" not in key.lower() and "geoip" not in key.lower(), name
        json.dumps(payload, allow_nan=False)


@pytest.mark.parametrize("mapping_path", MAPPINGS, ids=lambda p: p.stem)
def test_shipped_mappings_on_adversarial_data(mapping_path):
    _, module, _ = compiled(mapping_path)
    fields = ["event_type", "user_id", "event_time", "event_properties", "user_properties",
              "groups", "group_properties", "type", "userId", "timestamp", "traits", "event",
              "distinct_id", "properties", "person", "name", "groupId", "anonymousId"]
    for value in ADVERSARIAL_VALUES.values():
        for field in fields:
            for event in (
                {field: value},
                {"event": "$identify", "event_type": "$identify", "type": "identify",
                 "user_id": "u", "userId": "u", "distinct_id": "u", "timestamp": "2024-01-01",
                 "event_time": "2024-01-01 00:00:00", field: value,
                 "person": {"properties": value if isinstance(value, dict) else {"ip": value}},
                 "traits": value if isinstance(value, dict) else {"mrr": value}},
            ):
                try:
                    with no_runaway():
                        payloads = module.transform(event)
                except module.RejectEvent:
                    continue
                for payload in payloads:
                    with contextlib.suppress(orjson.JSONEncodeError):  # huge ints: runner rejects
                        orjson.dumps(payload)
                    if mapping_path.stem == "posthog" and "traits" in payload:
                        assert not any(
                            needle in key.lower()
                            for key in payload["traits"]
                            for needle in ("ip", "geoip", "current_url")
                        )
