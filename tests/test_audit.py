"""compiler.audit: generated modules pass; hand-made malicious sources never do."""

from __future__ import annotations

import ast
import re
import textwrap

import pytest

from accoil_map.audit import (
    ALLOWED_BUILTINS,
    ALLOWED_IMPORTS,
    ALLOWED_NODES,
    UnsafeModuleError,
    _Auditor,
    audit_file_bytes,
    audit_source,
)
from accoil_map.helpers import emit_source, registry
from tests.conftest import MAPPINGS, compiled, no_runaway


@pytest.mark.parametrize("mapping", MAPPINGS, ids=lambda p: p.stem)
def test_every_shipped_mapping_passes(mapping):
    source, _, _ = compiled(mapping)
    audit_source(source)


def test_every_runtime_helper_passes():
    # Any mapping may pull any helper in; all of them together must pass.
    source = emit_source(registry())
    source += "\nimport jmespath\n_JMESPATH_1 = jmespath.compile('a[?b]')\n"
    audit_source(source)


def test_error_is_a_value_error_naming_the_line():
    with pytest.raises(UnsafeModuleError) as caught:
        audit_source("x = 1\ny = 2\nimport os\n")
    assert isinstance(caught.value, ValueError)
    assert caught.value.line == 3
    assert str(caught.value).startswith("line 3: ")
    assert "'os'" in str(caught.value)


def test_allowlists_are_minimal():
    for dangerous in ("eval", "exec", "compile", "open", "__import__", "getattr", "setattr",
                      "delattr", "globals", "locals", "vars", "breakpoint", "input", "print",
                      "type", "object", "super", "memoryview", "help", "exit", "quit", "dir"):
        assert dangerous not in ALLOWED_BUILTINS
    for module in ("os", "sys", "subprocess", "socket", "shutil", "ctypes", "importlib",
                   "builtins", "pickle", "marshal", "codecs", "io", "pathlib", "types"):
        assert module not in ALLOWED_IMPORTS


GOOD = {
    "allowed imports": "import re\nimport json\nimport math\nimport datetime\nimport decimal\n"
                       "import jmespath\nimport jmespath.exceptions\n",
    "module attributes": "import re\nimport jmespath.exceptions\n_R = re.compile('a')\n"
                         "E = jmespath.exceptions.JMESPathError\n",
    "type tests": "def f(v):\n    return v.__class__ is str and v.__class__.__name__ == 'str'\n",
    "methods on values": "def f(v, k):\n    return v.get(k).startswith('$') if v else sorted(v.items())\n",
    "own functions and lambdas": "def g(x):\n    return x\n\n\ndef f(v):\n"
                                 "    key = (lambda t: g(t[0]))\n    return key(v)\n",
    "own exception class": "class RejectEvent(Exception):\n    pass\n\n\n"
                           "def f():\n    raise RejectEvent('no ' + repr(1))\n",
    "comprehensions": "def f(xs):\n    return [item for item in xs if item is not None]\n",
    "f-strings": "def f(y):\n    return f'{y:04d}'\n",
    "hostile data as constants": "X = '__import__(\"os\").system(\"x\")'\nY = {'__class__': 'eval'}\n",
}


@pytest.mark.parametrize("source", GOOD.values(), ids=GOOD.keys())
def test_ordinary_code_passes(source):
    audit_source(source)


BAD = {
    # imports
    "import os": ("import os", "'os'"),
    "import sys as re": ("import sys as re", "'sys'"),
    "from os import system": ("from os import system", "'os'"),
    "relative import": ("from . import runtime", "import from"),
    "from json import codecs": ("from json import codecs", "codecs"),
    "star import": ("from re import *", "*"),
    "import submodule": ("import re._compiler", "re._compiler"),
    "import inside function": ("def f():\n    import subprocess\n", "'subprocess'"),
    "importlib": ("import importlib", "'importlib'"),
    # dangerous builtins, by call or by reference
    "__import__": ("__import__('os').system('true')", "__import__"),
    "eval": ("eval('1 + 1')", "eval"),
    "exec": ("exec('import os')", "exec"),
    "compile": ("compile('1', 'x', 'eval')", "compile"),
    "open": ("open('/etc/passwd')", "open"),
    "getattr": ("getattr(1, '__class__')", "getattr"),
    "setattr": ("setattr(f, 'x', 1)", "setattr"),
    "globals": ("globals()['x'] = 1", "globals"),
    "locals": ("def f():\n    return locals()\n", "locals"),
    "vars": ("vars()", "vars"),
    "breakpoint": ("breakpoint()", "breakpoint"),
    "input": ("input()", "input"),
    "print": ("print('hi')", "print"),
    "type": ("type('X', (), {})", "type"),
    "aliasing eval": ("e = eval\ne('1')\n", "eval"),
    "eval as default argument": ("def f(e=eval):\n    return e\n", "eval"),
    "shadow that never runs": ("if False:\n    eval = None\neval('1')\n", "eval"),
    "builtin as parameter name": ("def f(exec):\n    return exec\n", "exec"),
    "builtin as function name": ("def open():\n    pass\n", "open"),
    "builtin as exception variable": ("try:\n    pass\nexcept Exception as exec:\n    pass\n", "exec"),
    "builtin as walrus target": ("(getattr := 1)", "getattr"),
    "__builtins__": ("__builtins__['eval']('1')", "__builtins__"),
    "__build_class__": ("__build_class__", "__build_class__"),
    "dunder name": ("__loader__", "__loader__"),
    # dunder and introspection attributes
    "mro walk": ("().__class__.__bases__[0].__subclasses__()", "__bases__"),
    "__mro__": ("''.__class__.__mro__", "__mro__"),
    "__globals__": ("def f():\n    pass\n\n\nf.__globals__['__builtins__']\n", "__globals__"),
    "__init__.__globals__": ("RejectEvent.__init__.__globals__", "__init__"),
    "__dict__": ("f.__dict__", "__dict__"),
    "__code__": ("(lambda: 0).__code__", "__code__"),
    "__traceback__": ("x.__traceback__", "__traceback__"),
    "mro()": ("''.__class__.mro()", "mro"),
    "gi_frame": ("(x for x in ()).gi_frame.f_globals", "gi_frame"),
    "f_globals": ("frame.f_globals", "f_globals"),
    "tb_frame": ("tb.tb_frame", "tb_frame"),
    "co_consts": ("code.co_consts", "co_consts"),
    "private attribute": ("x._private", "_private"),
    "str.format sandbox escape": ("'{0.__class__.__init__.__globals__}'.format(f)", "format"),
    "format_map": ("'{x}'.format_map(d)", "format_map"),
    "dunder keyword": ("f(**{}, __x__=1)", "__x__"),
    "metaclass": ("class A(metaclass=M):\n    pass\n", "metaclass"),
    # escaping through an allowed module
    "json.codecs.open": ("import json\njson.codecs.open('/etc/passwd')", "json.codecs"),
    "re.enum.sys": ("import re\nre.enum.sys.modules['os']", "re.enum"),
    "jmespath.functions": ("import jmespath\njmespath.functions", "jmespath.functions"),
    "jmespath.compat": ("import jmespath.exceptions\njmespath.compat", "jmespath.compat"),
    "module through alias": ("import json as j\nj.codecs", "json.codecs"),
    "module passed around": ("import json\nm = json\nm.codecs\n", "json"),
    "module dunder": ("import re\nre.__builtins__", "__builtins__"),
    "datetime sys": ("import datetime\ndatetime.sys", "datetime.sys"),
    # statements
    "global": ("def f():\n    global x\n    x = 1\n", "global"),
    "nonlocal": ("def f():\n    x = 1\n    def g():\n        nonlocal x\n", "nonlocal"),
    "async": ("async def f():\n    pass\n", "async"),
    # lambda smuggling
    "lambda eval": ("f = lambda s: eval(s)", "eval"),
    "lambda __import__": ("(lambda: __import__('os'))()", "__import__"),
    "lambda dunder": ("(lambda: 0).__class__.__init__", "__init__"),
    "decorator": ("@exec\ndef f():\n    pass\n", "exec"),
    "class base": ("class A(object):\n    pass\n", "object"),
    "match capture": ("match x:\n    case exec:\n        pass\n", "'match' statement"),
    "match class attributes": (
        (
            "match f:\n    case f.__class__(__globals__={'__builtins__': {'__import__': i}}):\n"
            "        pass\n"
        ),
        "'match' statement",
    ),
    # not Python
    "syntax error": ("def f(:\n", "does not compile"),
    "return outside function": ("return 1\n", "does not compile"),
    "NUL byte": ("x = 1\0\n", "does not compile"),
    "lone surrogate": ("x = '\ud800'\n", "does not compile"),
}


@pytest.mark.parametrize(("source", "needle"), BAD.values(), ids=BAD.keys())
def test_malicious_source_is_refused(source, needle):
    with pytest.raises(UnsafeModuleError) as caught:
        audit_source(source)
    assert needle in str(caught.value)


def test_non_string_source_is_refused():
    with pytest.raises(UnsafeModuleError):
        audit_source(b"import os")  # type: ignore[arg-type]


def test_line_of_a_problem_deep_in_a_real_module():
    source, _, _ = compiled(next(p for p in MAPPINGS if p.stem == "amplitude"))
    lines = source.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("def transform("))
    lines.insert(at + 10, "    __import__('os')")
    with pytest.raises(UnsafeModuleError) as caught:
        audit_source("\n".join(lines) + "\n")
    assert caught.value.line == at + 11


def test_injected_line_in_generated_module_is_refused():
    """A generated module with one statement pasted in (what an injection would do) fails."""
    source, _, _ = compiled(next(p for p in MAPPINGS if p.stem == "segment"))
    for payload in ("import os", "os = __import__('os')", "eval('1')", "x = getattr"):
        hacked = re.sub(r"^(def transform\(.*\):)$", payload + r"\n\n\n\1", source, count=1, flags=re.MULTILINE)
        assert hacked != source
        with pytest.raises(UnsafeModuleError):
            audit_source(hacked)


def test_deeply_nested_expression_fails_cleanly():
    source = "x = " + "(" * 5000 + "1" + ")" * 5000 + "\n"
    with pytest.raises(UnsafeModuleError):
        audit_source(source)


def test_audit_of_big_module_finishes():
    body = "".join(f"    out[{i!r}] = event.get({str(i)!r})\n" for i in range(10000))
    source = "def transform(event):\n    out = {}\n" + body + "    return out\n"
    with no_runaway():
        audit_source(source)


def test_docstring_example():
    audit_source(textwrap.dedent(
        '''
        """A module."""
        import re

        _RE = re.compile(r"[0-9]+")


        def transform(event, reasons=None):
            out = []
            v = event.get("n")
            if v.__class__ is str and _RE.fullmatch(v):
                out.append({"type": "track", "n": int(v)})
            return out
        '''
    ))


# --- the whole grammar --------------------------------------------------------------------


def _node_kinds() -> list[type]:
    """Every concrete syntax node class of this Python's `ast` (those with an ASDL signature)."""
    found, stack = set(), [ast.AST]
    while stack:
        kind = stack.pop()
        stack.extend(kind.__subclasses__())
        if re.match(r"\w+(\(|$)", kind.__doc__ or "") and "=" not in (kind.__doc__ or ""):
            found.add(kind)
    return sorted(found, key=lambda kind: kind.__name__)


def _identifier_fields(kind: type) -> set[str]:
    """The fields the ASDL signature declares as identifiers (names)."""
    return set(re.findall(r"identifier[*?]?\s+(\w+)", kind.__doc__ or ""))


NODE_KINDS = _node_kinds()


def test_the_grammar_is_enumerated():
    names = {kind.__name__ for kind in NODE_KINDS}
    assert {"Name", "MatchClass", "Global", "FunctionDef", "Add", "Load"} <= names
    assert len(NODE_KINDS) > 100


@pytest.mark.parametrize("kind", NODE_KINDS, ids=lambda kind: kind.__name__)
def test_every_node_kind_is_allowed_with_its_names_checked_or_refused(kind):
    if kind in ALLOWED_NODES:
        assert set(ALLOWED_NODES[kind]) == _identifier_fields(kind)
        return
    auditor = _Auditor(ast.parse(""))
    auditor.check_node(kind())
    assert auditor.problems, f"{kind.__name__} is neither allowed nor refused"


def test_allowed_identifier_fields_are_checked():
    # One hostile name in each checked field of each allowed kind is refused.
    samples = {
        "def __import__(): pass": "__import__",
        "class exec: pass": "exec",
        "try:\n    pass\nexcept Exception as eval:\n    pass": "eval",
        "def f(__builtins__): pass": "__builtins__",
        "f(__globals__=1)": "__globals__",
        "x.__globals__": "__globals__",
        "from re import __loader__": "__loader__",
        "import re as __builtins__": "__builtins__",
    }
    for source, name in samples.items():
        with pytest.raises(UnsafeModuleError, match=re.escape(name)):
            audit_source(source)


@pytest.mark.parametrize("encoding", ["shift_jis", "latin-1", "utf-16"])
def test_a_coding_declaration_other_than_utf8_is_refused(encoding):
    data = f"# -*- coding: {encoding} -*-\nx = 'a'\n".encode("ascii")
    with pytest.raises(UnsafeModuleError, match="encoding"):
        audit_file_bytes(data)


def test_module_file_bytes_are_audited_as_python_reads_them():
    assert audit_file_bytes("# coding: utf-8\nx = 'é'\n".encode()) == "# coding: utf-8\nx = 'é'\n"
    with pytest.raises(UnsafeModuleError):
        audit_file_bytes(b"import os\n")
