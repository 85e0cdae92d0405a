"""The shape of generated modules: what a reader of the source would check."""

from __future__ import annotations

import ast
import re
import subprocess

import pytest
from hypothesis import HealthCheck, given, settings

from accoil_map import compile_source, language, load
from accoil_map.codegen.rules import contract_test
from accoil_map.runtime.contract import accepts
from tests import strategies as S
from tests.conftest import MAPPINGS, venv_tool

_SETTINGS = settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _transform(source: str) -> ast.FunctionDef:
    tree = ast.parse(source)
    return next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "transform")


def unread_names(source: str) -> set[str]:
    """Names `transform` assigns but never reads."""
    stored, loaded = set(), set()
    for node in ast.walk(_transform(source)):
        if isinstance(node, ast.Name):
            (stored if isinstance(node.ctx, ast.Store) else loaded).add(node.id)
    return stored - loaded


def test_unread_names_finds_a_dead_assignment():
    source = "def transform(event, reasons=None):\n    t1 = ...\n    x = 1\n    return [x]\n"
    assert unread_names(source) == {"t1"}


def test_shipped_modules_assign_no_unread_name():
    for path in MAPPINGS:
        assert unread_names(compile_source(path)) == set(), path.name


@_SETTINGS
@given(S.mappings())
def test_generated_modules_assign_no_unread_name(case):
    text, _ = case
    assert unread_names(compile_source(text, filename="generated.yaml")) == set()


def ruff_problems(source: str, tmp_path) -> str:
    """What `ruff format --check` and `ruff check` (default rules) say of a module."""
    path = tmp_path / "generated_module.py"
    path.write_text(source, encoding="utf-8")
    ruff = venv_tool("ruff")
    problems = ""
    for command in (["format", "--check", "--diff"], ["check", "--output-format", "concise"]):
        result = subprocess.run(
            [ruff, *command, "--isolated", "--line-length", "100", "--no-cache", str(path)],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            problems += result.stdout + result.stderr
    return problems


def long_lines(source: str) -> list[str]:
    """Lines over 100 characters that ruff could have split (not one long string or comment)."""
    return [line for line in source.splitlines() if len(line) > 100 and not _unsplittable(line)]


def _unsplittable(line: str) -> bool:
    """A comment, or one string literal (maybe assigned to a name, or an argument)."""
    text = line.strip()
    if text.startswith("#"):
        return True
    text = re.sub(r"^[A-Za-z_][A-Za-z0-9_]* = ", "", text).rstrip(",")
    try:
        node = ast.parse(text, mode="eval").body
    except SyntaxError:
        return False
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


@pytest.mark.parametrize("path", MAPPINGS, ids=lambda p: p.stem)
def test_shipped_modules_are_ruff_formatted_and_clean(path, tmp_path):
    source = compile_source(path)
    assert ruff_problems(source, tmp_path) == ""
    assert long_lines(source) == []


@settings(max_examples=25, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])
@given(S.mappings())
def test_generated_modules_are_ruff_formatted_and_clean(tmp_path, case):
    text, _ = case
    source = compile_source(text, filename="generated.yaml")
    assert ruff_problems(source, tmp_path) == ""
    assert long_lines(source) == []


_CONSTANT_LEFT = """\
version: 1
name: constant-left
source: custom
rules:
  - name: r
    when: "%s"
    emit:
      type: page
      name: "{{ n }}"
      timestamp: "{{ ts }}"
"""


@pytest.mark.parametrize(
    ("when", "holds"),
    [
        ("`null` && n == 'a'", False),
        ("`0` && n == 'a'", True),  # 0 is true in JMESPath
        ("`\\\"\\\"` || n == 'a'", True),
        ("`[1]` || n == 'b'", True),
        ("`false` || n == 'b'", False),
    ],
)
def test_a_constant_left_of_and_or_is_decided_when_compiling(tmp_path, when, holds):
    """`null && x` is null whatever x is: decided when compiling, not written as
    `None and x` (which ruff flags), with JMESPath's truthiness (0 is true)."""
    source = compile_source(_CONSTANT_LEFT % when, filename="generated.yaml")
    assert ruff_problems(source, tmp_path) == ""
    module = load(_CONSTANT_LEFT % when, filename="generated.yaml")
    calls = module.transform({"n": "a", "ts": "2024-05-01T12:00:00.000Z"})
    assert bool(calls) is holds


_FOLDED_READ = """\
"version": 1
"name": "gen-amplitude"
"source": "amplitude"
"define":
  "d_0":
    "merge":
    - "{{ event_type }} "
    - "path": "length(\\"$insert_id\\") > `1`"
      "as": "string"
      "default":
        "path": "(`null`) && (\\"$insert_id\\")"
        "as": "string"
    "omit_keys":
    - "ip"
    "as": "string"
    "default": "{{ event_type }} "
"rules":
- "name": "events"
  "emit":
    "type": "identify"
    "userId": "{{ event_type }}"
    "timestamp": "{{ event_type }}"
    "extra key": "{{ d_0 }}"
- "name": "identify"
  "emit":
    "type": "identify"
    "userId": "{{ event_type }}"
    "timestamp": "{{ event_type }}"
    "extra key": "{{ d_0 }}"
"""


def test_a_read_folded_away_is_not_named():
    """`null && x` is folded before codegen counts reads (a case the property test
    found): `$insert_id`, read in the folded branch and once elsewhere, is not named
    for a second read that no longer happens."""
    assert unread_names(compile_source(_FOLDED_READ, filename="generated.yaml")) == set()


_VALUES = [None, "", "u", 0, 1, 1.5, True, False, {}, {"a": 1}, [], ["x"]]


@pytest.mark.parametrize("key", [*language.KEY_TYPES, "custom key"])
@pytest.mark.parametrize("required", [True, False])
def test_inline_contract_tests_mean_what_accepts_means(key, required):
    """The tests codegen writes inline decide as runtime.contract.accepts does, as the
    conditions of `if` statements they are (a list's test is its truth value)."""
    holds = contract_test(key, "v", required, holds=True)
    fails = contract_test(key, "v", required, holds=False)
    for v in _VALUES:
        expected = accepts(key, v, required)
        assert bool(eval(holds, {}, {"v": v})) is expected, (key, v)
        assert bool(eval(fails, {}, {"v": v})) is not expected, (key, v)


@pytest.mark.parametrize("key", [*language.KEY_TYPES, "custom key"])
@pytest.mark.parametrize("required", [True, False])
def test_inline_contract_tests_of_text_mean_what_accepts_means(key, required):
    """For a value known to be text or missing, the cheaper tests decide as accepts does."""
    holds = contract_test(key, "v", required, holds=True, text=True)
    fails = contract_test(key, "v", required, holds=False, text=True)
    for v in (None, "", "u", "0"):
        expected = accepts(key, v, required)
        assert eval(holds, {}, {"v": v}) is expected, (key, v)
        assert eval(fails, {}, {"v": v}) is not expected, (key, v)


_READS = """\
version: 1
name: reads
source: custom
rules:
  - name: r
    emit:
      type: identify
      userId: {path: id, as: string}
      timestamp: "2024-05-01T00:00:00.000Z"
      traits:
        email: {path: traits.email, as: string}
        plan: {path: traits.plan}
        vip: {path: "traits.plan == 'gold' || traits.plan == 'platinum'"}
"""


def test_a_rule_reads_each_key_once_and_tests_an_object_once():
    """Generated code names a read it makes twice (traits.plan) and tests once whether
    the object it reads several keys of (traits) is one; a conversion to text happens
    in the key's own local, and the required key is then tested for None, not for its
    class."""
    source = compile_source(_READS, filename="reads.yaml")
    body = ast.unparse(_transform(source))
    assert body.count("e_traits.__class__ is dict") == 1, body
    assert body.count(".get('plan')") == 1, body
    assert "x_userId is None or x_userId == ''" in body, body
    assert body.count("x_userId.__class__ is not str") == 1, body  # its conversion only
    module = load(_READS)
    assert module.transform({"id": 7, "traits": {"plan": "gold", "email": 1}}) == [
        {"type": "identify", "userId": "7", "timestamp": "2024-05-01T00:00:00.000Z",
         "traits": {"email": "1", "plan": "gold", "vip": True}}
    ]
    assert module.transform({"id": "u", "traits": "gold"})[0]["traits"] == {"vip": False}


_GROUP_LISTS = """\
version: 1
name: group_lists
source: custom
rules:
  - name: built
    when: "kind == 'built'"
    emit:
      type: track
      event: e
      userId: u
      timestamp: "2024-05-01T00:00:00.000Z"
      groupTraits:
        groups: {ids: groups, traits: group_properties}
  - name: copied
    when: "kind == 'copied'"
    emit:
      type: track
      event: e
      userId: u
      timestamp: "2024-05-01T00:00:00.000Z"
      groupTraits: {path: entries}
"""


def test_only_a_copied_group_list_is_checked_without_nulls():
    """With `nulls` false the contract check of a `groups:` list is skipped (its entries
    are right by construction: what is left is nulls, found by the caller); a group
    list copied from the event is still checked, and an entry without its id is
    dropped either way."""
    source = compile_source(_GROUP_LISTS, filename="group_lists.yaml")
    body = ast.unparse(_transform(source))
    assert body.count("body_problem(body, _CHECK_1) if nulls else None") == 1, body
    assert body.count("body_problem(body, _CHECK_1, nulls)") == 1, body
    module = load(_GROUP_LISTS)
    bad = {"kind": "copied", "entries": [{"groupId": "", "traits": {}}]}
    for nulls in (True, False):
        reasons: list = []
        assert module.transform(bad, reasons, nulls) == [], nulls
        assert reasons == [("copied", ("groupTraits[0].groupId",))], nulls
    built = {"kind": "built", "groups": {"A": ["", "g"]}, "group_properties": {}}
    expected = [{"groupId": "g", "traits": {}}]
    for nulls in (True, False):
        assert module.transform(built, None, nulls)[0]["groupTraits"] == expected
