"""accoil_map.helpers: the runtime as source, copied into generated modules."""

from __future__ import annotations

import ast
import subprocess
from pathlib import Path

import jmespath
import pytest

from accoil_map import runtime
from accoil_map.helpers import emit_source, helper_objects, registry
from tests.conftest import venv_tool
from tests.test_runtime_groups import AMPLITUDE_IDS, AMPLITUDE_TRAITS

HELPER_NAMES = tuple(registry())
HELPERS = helper_objects()


# --------------------------------------------------------------------------
# emit_source
# --------------------------------------------------------------------------

SAMPLES = {
    "truthy": [(0,), ("",), ([],), ({"a": 1},), (None,)],
    "jp_eq": [(1, True), (1, 1.0), ("a", "a")],
    "jp_lt": [(1, 2), ("b", "a"), (1, "a")],
    "jp_le": [(1, 1), (None, 1)],
    "jp_gt": [(2, 1.5), (True, 1)],
    "jp_ge": [("a", "a"), ([], [])],
    "jp_contains": [(["a"], "a"), ("abc", "b"), ("abc", 1), (None, "a")],
    "jp_starts_with": [("abc", "a"), (None, "a")],
    "jp_ends_with": [("abc", "c"), ("abc", 3)],
    "jp_type": [(True,), (1,), (1.5,), (None,), ([],), ({},), ("",)],
    "jp_merge": [({"a": 1}, {"a": None, "b": 2}), ({},), ("x", {}), ({}, 2.5), ({}, [["k", 1]])],
    "merge_from": [({"a": 1, "b": None},), ({"a": 1},), ("x",)],
    "jp_index": [([1, 2], -1), ([1], 5), ("ab", 0)],
    "jp_search": [
        (jmespath.compile("a[?b]"), {"a": [{"b": 1}, {}]}),
        (jmespath.compile("abs(a)"), {"a": "x"}),
    ],
    "get_key": [({"a": 1}, "a"), ([], "a")],
    "to_text": [(1.0,), ({"a": [True]},), (float("nan"),)],
    "to_number": [("1e3",), ("12",), ("x",)],
    "to_integer": [("1.0",), (2.5,), ("1e2",)],
    "to_boolean": [("TRUE",), (0,), ("no",)],
    "to_timestamp": [
        ("2024-05-01 12:00:00.123000",),
        ("2024-05-01T12:00:00.123Z",),
        ("2024-02-29T00:00:00+01:00",),
        (1714564800,),
        ("1714564800123",),
        (1.5,),
        ("2023-02-29",),
    ],
    "f_lower": [("AB",), (True,), (None,)],
    "f_upper": [("ab",), (1,)],
    "f_trim": [(" a ",)],
    "f_title": [("a b",)],
    "f_capitalize": [("aB",)],
    "f_replace": [("a-b", "-", "+"), (None, "a", "b")],
    "f_length": [("ab",), (3,)],
    "f_first": [([1, 2],), ("",)],
    "f_last": [("ab",), ([],)],
    "f_join": [(["a", 1, None], "/"), ("x", "/")],
    "f_default": [(None, 1), ("", 2, True), ("", 2)],
    "omit_keys": [({"IP": 1, "a": 2}, ("ip",)), (3, ("ip",))],
    "merge": [({"a": 1}, None, {"a": 2, "b": 3}), ({"a": 1}, {"a": None, "b": None})],
    "accepts": [("userId", "u"), ("userId", 5), ("traits", {}), ("x", ""), ("x", "", False)],
    "missing_keys": [(("userId", "name"), ("u", None)), (("traits",), ([],))],
    "value_problem": [
        ("traits", {"a": [1, None]}),
        ("groupTraits", [{"groupId": "g", "traits": {}}, {"groupId": ""}]),
        ("x", {"deep": {"er": None}}),
    ],
    "body_problem": [({"type": "track", "groupTraits": [{"traits": {}}]}, ("groupTraits",))],
    "without_nulls": [({"a": [1, None, {"b": None}]},), ([None],), (3,)],
    "merge_into": [({}, {"a": 1, "b": None}), ({"a": 1}, [1])],
    "omit_into": [({}, {"IP": 1, "a": None, "b": 2}, ("ip",), True), ({}, 3, ("ip",), False)],
    "first_group": [
        (AMPLITUDE_IDS, AMPLITUDE_TRAITS, "group_type"),
        ({"a": [7, 10**5000, "7"]}, {}, None),
        (None, {}, None),
    ],
    "select_groups": [
        (AMPLITUDE_IDS, AMPLITUDE_TRAITS, False, False, False, 1, "group_type"),
        (AMPLITUDE_IDS, AMPLITUDE_TRAITS, True, True, True, None, None),
        (None, {}, False, False, False, None, None),
    ],
    "_decimal_parts": [("-1.50e3",), ("0.0",), ("x",)],
    "_ms_to_iso": [(0,), (-1,), (10**18,)],
}


def _outcome(fn, args):
    try:
        return ("ok", fn(*args))
    except Exception as exc:  # noqa: BLE001 - compare exceptions by class name and text
        return ("raise", type(exc).__name__, str(exc))


@pytest.mark.parametrize("name", HELPER_NAMES)
def test_emit_source_single_helper_runs_standalone(name):
    source = emit_source([name])
    assert source == emit_source([name])  # deterministic
    assert "@helper" not in source and "_constant(" not in source
    code = compile(source, f"<emitted {name}>", "exec")
    namespace: dict = {}
    exec(code, namespace)  # noqa: S102 - our own emitted source
    assert name in namespace
    original = HELPERS[name]
    for args in SAMPLES.get(name, []):
        assert _outcome(namespace[name], args) == _outcome(original, args), (name, args)


def test_emit_source_covers_every_public_helper_sample():
    public = {n for n in HELPER_NAMES if not n.startswith("_") and n != "RejectEvent"}
    assert public <= set(SAMPLES)


def test_emit_source_rejects_with_its_own_reject_event():
    namespace: dict = {}
    exec(emit_source(["jp_contains"]), namespace)  # noqa: S102 - our own emitted source
    with pytest.raises(namespace["RejectEvent"], match="got null"):
        namespace["jp_contains"](None, "x")


def test_emit_source_imports_only_when_needed():
    assert "import" not in emit_source(["truthy", "merge", "jp_eq", "omit_keys", "f_length"])
    assert emit_source(["select_groups"]).startswith("import re\n\n\n")  # numeric ids
    assert emit_source(["f_lower"]).startswith("import json\n\n\n")  # via to_text
    ts = emit_source(["to_timestamp"])
    assert ts.startswith("import datetime\nimport re\n\n\n")
    assert "json" not in ts.split("\n\n\n")[0]
    assert emit_source(["to_text"]).startswith("import json\n\n\n")
    search = emit_source(["jp_search"])
    assert search.startswith("import jmespath.exceptions\n\n\n")
    both = emit_source(["to_text", "to_timestamp"])
    assert both.startswith("import datetime\nimport json\nimport re\n\n\n")
    assert emit_source([]) == ""
    with pytest.raises(KeyError):
        emit_source(["no_such_helper"])
    with pytest.raises(KeyError):
        emit_source(["emit_source"])


def test_emit_source_is_deterministic_and_in_file_order():
    names = ["select_groups", "to_timestamp", "truthy", "jp_contains", "to_text"]
    a = emit_source(names)
    assert a == emit_source(list(reversed(names))) == emit_source(names + names)
    positions = [a.index(f"def {n}(") for n in ["truthy", "jp_contains", "to_text", "to_timestamp"]]
    assert positions == sorted(positions)
    assert a.index("class RejectEvent") < a.index("def jp_contains(")
    assert a.index("_TS_ISO_RE = ") < a.index("_FROM_ISO = ") < a.index("def to_timestamp(")
    assert emit_source(HELPER_NAMES).count("def to_text(") == 1


def test_registry_is_every_definition_of_the_runtime_modules():
    """Each top-level function, class and constant of runtime/ is a helper, nothing else."""
    defined = set()
    for module in runtime.MODULES:
        for node in ast.parse(Path(module.__file__).read_text(encoding="utf-8")).body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                defined.add(node.name)
            elif isinstance(node, ast.Assign):
                defined.update(target.id for target in node.targets)
    assert set(HELPER_NAMES) == defined
    assert "KEY_TYPES" not in defined and "to_text" in defined


def test_language_tables_are_written_as_literals():
    source = emit_source(["accepts"])
    assert "_KEY_TYPES = {" in source and "KEY_TYPES\n" not in source
    namespace: dict = {}
    exec(source, namespace)  # noqa: S102 - our own emitted source
    assert namespace["_KEY_TYPES"] == HELPERS["_KEY_TYPES"]


@pytest.mark.skipif(venv_tool("ruff") is None, reason="ruff not installed")
def test_emit_source_is_ruff_clean(tmp_path):
    path = tmp_path / "emitted.py"
    path.write_text(emit_source(HELPER_NAMES), encoding="utf-8")
    result = subprocess.run(
        [venv_tool("ruff"), "check", "--no-cache", "--isolated", "--line-length", "100",
         "--select", "E,F,W,B", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


