"""Audit of generated module source before it is written or imported.

Code generation puts every value of a mapping into the source through
`repr()` or a validated identifier, so a hostile mapping cannot inject code.
This audit is the second line of defence: it proves, on the source text
alone, that the module only does what generated modules do.

`audit_source(source)` raises `UnsafeModuleError` (a `ValueError`) naming the
line of the first problem unless all of these hold:

- the source parses and compiles;
- every node is of a kind in `ALLOWED_NODES` (the whole Python grammar is
  either there, with each field that names something checked, or refused:
  no `match`, `global`, `nonlocal`, `async`, `await`, `yield`, `:=`, `del`,
  `with`, `assert`, `while`, starred expressions or annotations);
- imports name only modules of `ALLOWED_IMPORTS` (`from ... import` of an
  allowed module too, never `*`);
- an imported module is used only as `module.attribute`, and the attribute
  is in `ALLOWED_MODULE_ATTRIBUTES` (so `json.codecs.open` or
  `re.enum.sys.modules` are refused);
- no identifier (name, argument, function, class, import alias, exception
  variable, pattern capture) is a dunder, or a builtin outside
  `ALLOWED_BUILTINS`: `eval`, `exec`, `compile`, `open`, `getattr`,
  `globals`, `__import__`, `__builtins__` ... can neither be referenced nor
  shadowed by a binding that might not run;
- no attribute is private (`_x`) or a dunder, except `__class__` (type tests)
  and `__name__` (a type's name in messages); no attribute reaches frames or
  code (`gi_frame`, `f_globals`, `tb_frame`, `co_code`, ...) or formats
  with attribute lookups (`format`, `format_map`), or the MRO (`mro`);

`audit_file_bytes(data)` audits the bytes of a module file as Python will
read them: UTF-8, with no coding declaration that says otherwise.

Calls are then calls to functions and classes defined in the module, to local
values (a lambda bound to a name), to the builtins of `ALLOWED_BUILTINS`, or
methods of values (`x.get(...)`, `_RE.fullmatch(...)`, `jmespath.compile(...)`).
"""

from __future__ import annotations

import ast
import builtins
import io
import tokenize
import warnings

__all__ = [
    "ALLOWED_BUILTINS",
    "ALLOWED_IMPORTS",
    "ALLOWED_MODULE_ATTRIBUTES",
    "UnsafeModuleError",
    "audit_file_bytes",
    "audit_source",
]


class UnsafeModuleError(ValueError):
    """Generated source that does something a generated module must not do."""

    def __init__(self, message: str, line: int | None = None):
        self.line = line
        super().__init__(f"line {line}: {message}" if line is not None else message)


ALLOWED_IMPORTS = frozenset(
    {
        "re",
        "json",
        "math",
        "datetime",
        "decimal",
        "jmespath",
        "jmespath.exceptions",
        # the line decoder: msgspec (optional) and the types it decodes into
        "typing",
        "msgspec",
        "msgspec.json",
    }
)

#: What may follow `module.` for each allowed module.
ALLOWED_MODULE_ATTRIBUTES: dict[str, frozenset[str]] = {
    "re": frozenset(
        {
            "compile",
            "fullmatch",
            "match",
            "search",
            "escape",
            "ASCII",
            "IGNORECASE",
            "MULTILINE",
            "DOTALL",
            "VERBOSE",
            "A",
            "I",
            "M",
            "S",
            "X",
            "error",
        }
    ),
    "json": frozenset({"JSONEncoder", "JSONDecoder", "JSONDecodeError", "dumps", "loads"}),
    "math": frozenset(
        {"isfinite", "isinf", "isnan", "floor", "ceil", "trunc", "fsum", "inf", "nan"}
    ),
    "datetime": frozenset(
        {"datetime", "date", "time", "timedelta", "timezone", "UTC", "MINYEAR", "MAXYEAR"}
    ),
    "decimal": frozenset({"Decimal", "InvalidOperation", "ROUND_DOWN", "ROUND_HALF_EVEN"}),
    "jmespath": frozenset({"compile", "search", "exceptions"}),
    "typing": frozenset({"Any", "TypedDict"}),
    "msgspec": frozenset({"json", "DecodeError"}),
    "msgspec.json": frozenset({"Decoder"}),
    "jmespath.exceptions": frozenset(
        {
            "JMESPathError",
            "ParseError",
            "LexerError",
            "IncompleteExpressionError",
            "ArityError",
            "VariadictArityError",
            "JMESPathTypeError",
            "EmptyExpressionError",
            "UnknownFunctionError",
        }
    ),
}

ALLOWED_BUILTINS = frozenset(
    {
        # values and conversions
        "len",
        "str",
        "int",
        "float",
        "bool",
        "repr",
        "dict",
        "list",
        "tuple",
        "set",
        "frozenset",
        "isinstance",
        "sorted",
        "reversed",
        "min",
        "max",
        "any",
        "all",
        "enumerate",
        "range",
        "zip",
        "abs",
        "divmod",
        "round",
        "iter",
        "next",
        # exceptions generated code raises or catches
        "Exception",
        "ValueError",
        "TypeError",
        "KeyError",
        "IndexError",
        "RecursionError",
        "MemoryError",
        "OverflowError",
        "ZeroDivisionError",
        "ArithmeticError",
        "LookupError",
        "UnicodeError",
        "StopIteration",
        "ImportError",  # msgspec is optional
    }
)

#: Every kind of syntax node a generated module may hold, with the fields of it that
#: name something (identifiers), each of which is checked. A kind not listed is
#: refused, so a Python version that adds syntax cannot open a hole.
ALLOWED_NODES: dict[type, tuple[str, ...]] = {
    # statements
    ast.Module: (),
    ast.FunctionDef: ("name",),
    ast.ClassDef: ("name",),
    ast.Return: (),
    ast.Assign: (),
    ast.AugAssign: (),
    ast.For: (),
    ast.If: (),
    ast.Try: (),
    ast.ExceptHandler: ("name",),
    ast.Raise: (),
    ast.Import: (),
    ast.ImportFrom: ("module",),
    ast.alias: ("name", "asname"),
    ast.Expr: (),
    ast.Pass: (),
    ast.Break: (),
    ast.Continue: (),
    ast.arguments: (),
    ast.arg: ("arg",),
    ast.keyword: ("arg",),
    # expressions
    ast.BoolOp: (),
    ast.BinOp: (),
    ast.UnaryOp: (),
    ast.Lambda: (),
    ast.IfExp: (),
    ast.Dict: (),
    ast.Set: (),
    ast.ListComp: (),
    ast.SetComp: (),
    ast.DictComp: (),
    ast.GeneratorExp: (),
    ast.comprehension: (),
    ast.Compare: (),
    ast.Call: (),
    ast.FormattedValue: (),
    ast.JoinedStr: (),
    ast.Constant: (),
    ast.Attribute: ("attr",),
    ast.Subscript: (),
    ast.Name: ("id",),
    ast.List: (),
    ast.Tuple: (),
    ast.Slice: (),
    # operators and contexts: leaves without fields
    **{
        kind: ()
        for base in (ast.operator, ast.boolop, ast.unaryop, ast.cmpop, ast.expr_context)
        for kind in base.__subclasses__()
    },
}

_ALLOWED_DUNDER_ATTRIBUTES = frozenset({"__class__", "__name__"})
_FORBIDDEN_ATTRIBUTES = frozenset({"format", "format_map", "mro"})
# generator, coroutine, async generator, frame, traceback, code and old function internals
_FORBIDDEN_ATTRIBUTE_PREFIXES = ("gi_", "cr_", "ag_", "f_", "tb_", "co_", "func_", "im_")
_BUILTIN_NAMES = frozenset(dir(builtins))
# How a person names some refused syntax, for messages.
_REFUSED_SYNTAX = {
    ast.Global: "a 'global' statement",
    ast.Nonlocal: "a 'nonlocal' statement",
    ast.AsyncFunctionDef: "async code",
    ast.AsyncFor: "async code",
    ast.AsyncWith: "async code",
    ast.Await: "async code",
    ast.Match: "a 'match' statement",
    ast.match_case: "a 'match' statement",
    ast.Yield: "'yield'",
    ast.YieldFrom: "'yield from'",
    ast.NamedExpr: "':='",
    ast.Delete: "'del'",
    ast.With: "a 'with' statement",
    ast.Assert: "'assert'",
    ast.While: "a 'while' loop",
    ast.Starred: "a starred expression",
    ast.AnnAssign: "an annotation",
}
# Attributes, imports and keywords have rules of their own (check_attribute,
# check_import, check_node).
_NAMES_CHECKED_ELSEWHERE = frozenset({ast.Attribute, ast.ImportFrom, ast.alias, ast.keyword})


def audit_source(source: str) -> None:
    """Raise UnsafeModuleError unless `source` is a module generated code may be."""
    if not isinstance(source, str):
        raise UnsafeModuleError(f"source must be str, not {type(source).__name__}")
    try:
        with warnings.catch_warnings():
            # Style warnings (`'x' is None`) are not the audit's business.
            warnings.simplefilter("ignore", SyntaxWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            tree = ast.parse(source, "<generated>", "exec")
            compile(source, "<generated>", "exec", dont_inherit=True)
    except SyntaxError as exc:
        raise UnsafeModuleError(f"does not compile: {exc.msg}", exc.lineno) from None
    except (ValueError, UnicodeError, RecursionError, MemoryError) as exc:
        raise UnsafeModuleError(f"does not compile: {type(exc).__name__}: {exc}") from None
    _Auditor(tree).check()


def audit_file_bytes(data: bytes) -> str:
    """Audit the bytes of a module file as Python will decode them; returns the source.

    A coding declaration on the first two lines changes how Python reads a file:
    only UTF-8 is accepted, so the text checked is the text that runs.
    """
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:
        raise UnsafeModuleError(f"unreadable encoding declaration: {exc}", 1) from None
    if encoding not in ("utf-8", "utf-8-sig"):
        raise UnsafeModuleError(
            f"declares the encoding {encoding!r}; generated modules are UTF-8", 1
        )
    try:
        source = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise UnsafeModuleError(f"not UTF-8: {exc}") from None
    audit_source(source)
    return source


def _position(node: ast.AST) -> tuple[int, int, int, int]:
    return (
        getattr(node, "lineno", 0),
        getattr(node, "col_offset", 0),
        getattr(node, "end_lineno", 0) or 0,
        getattr(node, "end_col_offset", 0) or 0,
    )


def _is_dunder(name: str) -> bool:
    return len(name) > 4 and name.startswith("__") and name.endswith("__")


class _Auditor:
    def __init__(self, tree: ast.Module):
        self.tree = tree
        self.modules: dict[str, str] = {}  # bound name -> dotted module it refers to
        self.module_roots: set[ast.Name] = set()  # Name nodes used as `module.attr`
        self.problems: list[tuple[tuple[int, int, int, int], str]] = []

    def fail(self, node: ast.AST, message: str) -> None:
        self.problems.append((_position(node), message))

    def check(self) -> None:
        nodes = list(ast.walk(self.tree))
        for node in nodes:  # imports first: they decide which names are modules
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                self.check_import(node)
        for node in nodes:  # attributes next: they mark the names used as `module.x`
            if node.__class__ is ast.Attribute:
                self.check_attribute(node)
        for node in nodes:
            self.check_node(node)
        if self.problems:
            # The first in source order (inner nodes first on one spot).
            (line, *_), message = min(self.problems)
            raise UnsafeModuleError(message, line or None)

    # imports and modules ----------------------------------------------------

    def check_import(self, node: ast.Import | ast.ImportFrom) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name not in ALLOWED_IMPORTS:
                    self.fail(node, f"import of {alias.name!r} is not allowed")
                    continue
                if alias.asname is not None:
                    self.check_identifier(node, alias.asname)
                    self.modules[alias.asname] = alias.name
                else:  # `import a.b` binds `a`
                    root = alias.name.split(".")[0]
                    self.modules[root] = root
            return
        module = node.module or ""
        if node.level or module not in ALLOWED_IMPORTS:
            self.fail(node, f"import from {'.' * node.level + module!r} is not allowed")
            return
        for alias in node.names:
            if alias.name == "*":
                self.fail(node, f"'from {module} import *' is not allowed")
                continue
            dotted = f"{module}.{alias.name}"
            if dotted in ALLOWED_IMPORTS:
                self.modules[alias.asname or alias.name] = dotted
            elif alias.name not in ALLOWED_MODULE_ATTRIBUTES[module]:
                self.fail(node, f"'from {module} import {alias.name}' is not allowed")
            self.check_identifier(node, alias.asname or alias.name)

    def check_attribute(self, node: ast.Attribute) -> None:
        attr = node.attr
        if _is_dunder(attr):
            if attr not in _ALLOWED_DUNDER_ATTRIBUTES:
                self.fail(node, f"access to the attribute {attr!r} is not allowed")
        elif attr.startswith("_"):
            self.fail(node, f"access to the private attribute {attr!r} is not allowed")
        elif attr in _FORBIDDEN_ATTRIBUTES or attr.startswith(_FORBIDDEN_ATTRIBUTE_PREFIXES):
            self.fail(node, f"access to the attribute {attr!r} is not allowed")
        # `json.JSONEncoder`, `jmespath.exceptions.JMESPathError`: the innermost
        # Attribute over a module name decides; nested module chains are followed.
        value = node.value
        if isinstance(value, ast.Name) and value.id in self.modules:
            self.module_roots.add(value)
            module = self.modules[value.id]
            self.check_module_attribute(node, module, attr)
        elif isinstance(value, ast.Attribute):
            dotted = self.module_chain(value)
            if dotted is not None:
                self.check_module_attribute(node, dotted, attr)

    def module_chain(self, node: ast.Attribute) -> str | None:
        """The dotted module an attribute chain names (`jmespath.exceptions`), or None."""
        if isinstance(node.value, ast.Name) and node.value.id in self.modules:
            dotted = f"{self.modules[node.value.id]}.{node.attr}"
        elif isinstance(node.value, ast.Attribute):
            inner = self.module_chain(node.value)
            dotted = None if inner is None else f"{inner}.{node.attr}"
        else:
            return None
        return dotted if dotted in ALLOWED_IMPORTS else None

    def check_module_attribute(self, node: ast.Attribute, module: str, attr: str) -> None:
        if attr not in ALLOWED_MODULE_ATTRIBUTES.get(module, frozenset()):
            self.fail(node, f"'{module}.{attr}' is not allowed")

    # everything else --------------------------------------------------------

    def check_node(self, node: ast.AST) -> None:
        kind = node.__class__
        fields = ALLOWED_NODES.get(kind)
        if fields is None:
            what = _REFUSED_SYNTAX.get(kind, f"{kind.__name__} syntax")
            self.fail(node, f"{what} is not allowed in generated code")
            return
        if kind is ast.Name:  # by far the most common node
            self.check_identifier(node, node.id)
            if node.id in self.modules and node not in self.module_roots:
                self.fail(node, f"the module {node.id!r} may only be used as {node.id}.attribute")
        elif kind is ast.keyword:
            if node.arg is not None and _is_dunder(node.arg):
                self.fail(node, f"the keyword argument {node.arg!r} is not allowed")
        elif kind is ast.ClassDef and node.keywords:
            self.fail(node, "class keywords (metaclass=...) are not allowed")
        elif kind not in _NAMES_CHECKED_ELSEWHERE:
            for field in fields:
                value = getattr(node, field)
                if value is not None:
                    self.check_identifier(node, value)

    def check_identifier(self, node: ast.AST, name: str) -> None:
        if _is_dunder(name):
            self.fail(node, f"the name {name!r} is not allowed")
        if name in _BUILTIN_NAMES and name not in ALLOWED_BUILTINS:
            self.fail(node, f"the builtin {name!r} is not allowed")
