"""Lowering: a schema-valid document becomes the typed IR.

Templates are parsed with Jinja's parser (never rendered) and JMESPath with
the jmespath parser; both ASTs are translated into IR nodes. Constructs
outside the compiled subset are errors in templates and a precompiled
fallback (`ir.Jmes`) in JMESPath. Every error names the YAML node and, where
the parser tells, the column inside the expression.
"""

from __future__ import annotations

import difflib
import json
import os
from typing import Any

import jinja2
import jmespath
import jmespath.exceptions
from jinja2 import nodes

from . import ir, runtime
from .errors import Diagnostic
from .loader import Document
from .schema import source_fields

OPERATORS = ("path", "coalesce", "merge", "groups", "value", "literal", "object")
_COMPARATOR_NAMES = {"eq": "eq", "ne": "ne", "lt": "lt", "lte": "le", "gt": "gt", "gte": "ge"}
_ORIGIN_WIDTH = 100

# Parsing only: templates are never rendered, so no sandbox is involved.
_JINJA = jinja2.Environment(autoescape=False, keep_trailing_newline=True)


class _NotCompiled(Exception):
    """A JMESPath construct outside the compiled subset."""


class _ConstantError(Exception):
    """A constant that no JSON payload can carry."""


_INT64 = range(-(2**63), 2**64)


def constant(value: Any) -> ir.Const:
    """A mapping constant; NaN, infinities and integers beyond 64 bits are refused."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, float) and item - item != 0.0:
            raise _ConstantError(f"{item!r} is not a number JSON can carry")
        if isinstance(item, int) and not isinstance(item, bool) and item not in _INT64:
            raise _ConstantError("integers beyond 64 bits cannot be written as JSON here")
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return ir.Const(value)


def get_key(target: ir.Expr, key: str) -> ir.Expr:
    """`target[key]`, computed now when the target is a constant."""
    if isinstance(target, ir.Const):
        value = target.value
        return ir.Const(value.get(key) if isinstance(value, dict) else None)
    return ir.GetKey(target, key)


def get_index(target: ir.Expr, index: int) -> ir.Expr:
    """`target[index]`, computed now when the target is a constant."""
    if isinstance(target, ir.Const):
        value = target.value
        inside = isinstance(value, list) and -len(value) <= index < len(value)
        return ir.Const(value[index] if inside else None)
    return ir.GetIndex(target, index)


class _TemplateError(Exception):
    def __init__(self, message: str, needle: str = "", hint: str | None = None):
        super().__init__(message)
        self.message, self.needle, self.hint = message, needle, hint


def origin_text(node: Any) -> str:
    """A short, single-line rendering of a YAML value, for `explain`."""
    text = node if isinstance(node, str) else json.dumps(node, ensure_ascii=False)
    return text if len(text) <= _ORIGIN_WIDTH else text[: _ORIGIN_WIDTH - 3] + "..."


class Lowerer:
    """Translates one document; collects every diagnostic instead of stopping at the first."""

    def __init__(self, doc: Document):
        self.doc = doc
        self.data = doc.data
        self.fields = source_fields(self.data["source"])
        self.define_names = frozenset(self.data.get("define") or {})
        self.diagnostics: list[Diagnostic] = []

    def error(self, path: tuple, message: str, hint: str | None = None, offset: int = 0) -> None:
        self.diagnostics.append(self.doc.diagnostic(path, message, hint, offset=offset))

    def mapping(self) -> ir.Mapping:
        """Lower the whole document."""
        defines = tuple(
            ir.Define(name, self.value(node, ("define", name)), origin_text(node))
            for name, node in (self.data.get("define") or {}).items()
        )
        rules = tuple(self.rule(node, ("rules", i)) for i, node in enumerate(self.data["rules"]))
        return ir.Mapping(
            name=self.data["name"],
            source=self.data["source"],
            source_file=os.path.basename(self.doc.path),
            sha256=self.doc.sha256,
            defines=defines,
            rules=rules,
            description=self.data.get("description"),
        )

    def rule(self, node: dict, path: tuple) -> ir.Rule:
        emit = node["emit"]
        call_type = emit["type"]
        fields = tuple(
            ir.EmitField(key, self.value(value, (*path, "emit", key)), origin_text(value))
            for key, value in emit.items()
            if key != "type"
        )
        required = tuple(dict.fromkeys((*ir.REQUIRED_KEYS[call_type], *node.get("require", ()))))
        when = node.get("when")
        return ir.Rule(
            name=node["name"],
            call_type=call_type,
            fields=fields,
            required=required,
            condition=None if when is None else self.jmespath(when, (*path, "when")),
            condition_text=when,
            description=node.get("description"),
        )

    # values ---------------------------------------------------------------

    def value(self, node: Any, path: tuple) -> ir.Expr:
        """Lower one value of the mapping language."""
        if isinstance(node, str):
            return self.template(node, path)
        if isinstance(node, list):
            return ir.ListLit(tuple(self.value(item, (*path, i)) for i, item in enumerate(node)))
        if not isinstance(node, dict):
            return self.checked_constant(node, path)
        operator = next((key for key in OPERATORS if key in node), None)
        if operator is None:
            return self.object_literal(node, path)
        expr = self.operator(operator, node[operator], (*path, operator))
        return self.modifiers(expr, node, path)

    def operator(self, operator: str, arg: Any, path: tuple) -> ir.Expr:
        if operator == "path":
            return self.jmespath(arg, path)
        if operator == "literal":
            return self.checked_constant(arg, path)
        if operator == "value":
            return self.value(arg, path)
        if operator == "object":
            return self.object_literal(arg, path)
        if operator == "groups":
            return self.groups(arg, path)
        items = tuple(self.value(item, (*path, i)) for i, item in enumerate(arg))
        return ir.Coalesce(items) if operator == "coalesce" else ir.Merge(items)

    def checked_constant(self, value: Any, path: tuple) -> ir.Expr:
        try:
            return constant(value)
        except _ConstantError as exc:
            self.error(path, str(exc))
            return ir.Const(None)

    def modifiers(self, expr: ir.Expr, node: dict, path: tuple) -> ir.Expr:
        if "omit_keys" in node:
            expr = ir.OmitKeys(expr, _fewest_needles(node["omit_keys"]))
        if "as" in node:
            expr = ir.Convert(expr, node["as"])
        if "default" in node:
            expr = ir.Default(expr, self.value(node["default"], (*path, "default")))
        return expr

    def object_literal(self, node: dict, path: tuple) -> ir.ObjectLit:
        return ir.ObjectLit(
            tuple((key, self.value(value, (*path, key))) for key, value in node.items())
        )

    def groups(self, node: dict, path: tuple) -> ir.Groups:
        sort = node.get("sort") or {}
        return ir.Groups(
            ids=self.jmespath(node["ids"], (*path, "ids")),
            traits=self.jmespath(node["traits"], (*path, "traits")),
            by_type=sort.get("by", "groupId") == "groupType",
            descending=sort.get("order", "ascending") == "descending",
            numeric=sort.get("compare", "string") == "numeric",
            take=node.get("take"),
            type_trait=node.get("type_trait"),
        )

    # templates ------------------------------------------------------------

    def template(self, text: str, path: tuple) -> ir.Expr:
        """Lower a template string; plain text is a constant."""
        if "{{" not in text and "{%" not in text and "{#" not in text:
            return ir.Const(text)
        try:
            parts = self.template_parts(text)
        except _ConstantError as exc:
            self.error(path, str(exc))
            return ir.Const(None)
        except jinja2.TemplateSyntaxError as exc:
            self.error(path, f"template syntax error: {exc.message}", offset=_line_offset(text, exc.lineno))
            return ir.Const(None)
        except _TemplateError as exc:
            offset = max(text.find(exc.needle), 0) if exc.needle else 0
            self.error(path, exc.message, exc.hint, offset=offset)
            return ir.Const(None)
        if len(parts) == 1 and isinstance(parts[0], ir.Expr):
            return parts[0]
        return _text_template(parts)

    def template_parts(self, text: str) -> tuple[str | ir.Expr, ...]:
        # Jinja's lexer turns \r and \r\n into \n; a private-use stand-in keeps them.
        self.carriage_return = next(c for c in map(chr, range(0xE000, 0xF900)) if c not in text)
        parts: list[str | ir.Expr] = []
        for statement in _JINJA.parse(text.replace("\r", self.carriage_return)).body:
            if not isinstance(statement, nodes.Output):
                raise _TemplateError(
                    "only {{ expressions }} are supported in templates, not {% statements %}",
                    "{%",
                    "compute values with define:, coalesce: or when:",
                )
            for node in statement.nodes:
                if isinstance(node, nodes.TemplateData):
                    if node.data:
                        parts.append(self.restore(node.data))
                else:
                    parts.append(self.jinja(node))
        return tuple(parts)

    def jinja(self, node: nodes.Node) -> ir.Expr:
        """Translate one Jinja expression node of the supported subset."""
        match node:
            case nodes.Name(name=name):
                return self.name(name)
            case nodes.Const(value=str() as value):
                return ir.Const(self.restore(value))
            case nodes.Const(value=value) if value is None or isinstance(value, (int, float)):
                return constant(value)
            case nodes.Neg(node=nodes.Const(value=value)) if _is_number(value):
                return constant(-value)
            case nodes.Getattr(node=target, attr=attr):
                return get_key(self.jinja(target), attr)
            case nodes.Getitem(node=target, arg=arg):
                return self.subscript(self.jinja(target), arg)
            case nodes.Filter(node=target, name=name) if target is not None:
                return self.filter(node, self.jinja(target), name)
        kind = type(node).__name__
        raise _TemplateError(
            f"{kind} expressions are not supported in templates",
            hint="supported: names, a.b, a['b'], a[0], literals and filters "
            + ", ".join(sorted(ir.FILTERS)),
        )

    def restore(self, text: str) -> str:
        """Undo the carriage-return stand-in of `template_parts`."""
        return text.replace(self.carriage_return, "\r")

    def name(self, name: str) -> ir.Expr:
        if name in self.define_names:
            return ir.DefineRef(name)
        if self.fields is not None and name not in self.fields:
            known = sorted(self.define_names | self.fields)
            close = difflib.get_close_matches(name, known, n=1)
            hint = f"did you mean '{close[0]}'?" if close else (
                f"names are define: names or top-level fields of {self.data['source']} events"
            )
            raise _TemplateError(
                f"unknown name '{name}': not a define and not a field of "
                f"{self.data['source']} events",
                name,
                hint,
            )
        return ir.GetKey(ir.Event(), name)

    def subscript(self, target: ir.Expr, arg: nodes.Node) -> ir.Expr:
        match arg:
            case nodes.Const(value=str() as key):
                return get_key(target, self.restore(key))
            case nodes.Const(value=int() as index) if not isinstance(index, bool):
                return get_index(target, index)
            case nodes.Neg(node=nodes.Const(value=int() as index)) if not isinstance(index, bool):
                return get_index(target, -index)
        raise _TemplateError("subscripts must be a quoted key or an integer index")

    def filter(self, node: nodes.Filter, target: ir.Expr, name: str) -> ir.Expr:
        name = ir.FILTER_ALIASES.get(name, name)
        if name not in ir.FILTERS:
            close = difflib.get_close_matches(name, ir.FILTERS, n=1)
            raise _TemplateError(
                f"unknown filter '{name}'",
                name,
                f"did you mean '{close[0]}'?" if close else "filters: " + ", ".join(sorted(ir.FILTERS)),
            )
        if node.dyn_args or node.dyn_kwargs:
            raise _TemplateError(f"filter '{name}' does not take * or ** arguments", name)
        args = [self.jinja(arg) for arg in node.args]
        for keyword in node.kwargs:
            if name != "default" or keyword.key != "boolean" or len(args) != 1:
                raise _TemplateError(f"filter '{name}' has no argument '{keyword.key}'", name)
            args.append(self.jinja(keyword.value))
        low, high = ir.FILTERS[name]
        if not low <= len(args) <= high:
            raise _TemplateError(f"filter '{name}' takes {low} to {high} arguments", name)
        if name in ("replace", "join") and not all(_is_text_constant(arg) for arg in args):
            raise _TemplateError(f"the arguments of '{name}' must be quoted strings", name)
        if name == "default" and len(args) == 2 and not (
            isinstance(args[1], ir.Const) and isinstance(args[1].value, bool)
        ):
            raise _TemplateError("the second argument of 'default' must be true or false", name)
        return ir.Filter(name, target, tuple(args))

    # JMESPath -------------------------------------------------------------

    def jmespath(self, text: str, path: tuple) -> ir.Expr:
        """Lower a JMESPath expression; outside the subset, keep it for the library."""
        try:
            parsed = jmespath.compile(text).parsed
        except (jmespath.exceptions.ParseError, jmespath.exceptions.LexerError) as exc:
            self.error(path, f"invalid JMESPath: {_jmespath_problem(exc)}", offset=exc.lex_position or 0)
            return ir.Const(None)
        try:
            expr = self.jmes(parsed, ir.Event())
        except _NotCompiled:
            return ir.Jmes(text)
        except _ConstantError as exc:
            self.error(path, str(exc))
            return ir.Const(None)
        self.check_fields(expr, text, path)
        return expr

    def jmes(self, node: dict, current: ir.Expr) -> ir.Expr:
        kind, children = node["type"], node["children"]
        match kind:
            case "field":
                return get_key(current, node["value"])
            case "subexpression" | "index_expression":
                # The parser flattens chains: a.b.c is one node with three children.
                for child in children:
                    current = self.jmes(child, current)
                return current
            case "index":
                return get_index(current, node["value"])
            case "current":
                return current
            case "literal":
                return constant(node["value"])
            case "comparator":
                left, right = (self.jmes(child, current) for child in children)
                return ir.Compare(_COMPARATOR_NAMES[node["value"]], left, right)
            case "and_expression":
                return ir.And(*(self.jmes(child, current) for child in children))
            case "or_expression":
                return ir.Or(*(self.jmes(child, current) for child in children))
            case "not_expression":
                return ir.Not(self.jmes(children[0], current))
            case "multi_select_list" if current == ir.Event() and all(
                child["type"] == "literal" for child in children
            ):
                # A list of literals over the event (never null): a constant list.
                return constant([child["value"] for child in children])
            case "function_expression" if ir.JMESPATH_FUNCTIONS.get(node["value"]) == len(children):
                return ir.Call(node["value"], tuple(self.jmes(child, current) for child in children))
        raise _NotCompiled(kind)

    def check_fields(self, expr: ir.Expr, text: str, path: tuple) -> None:
        if self.fields is None:
            return
        for node in ir.walk(expr):
            if isinstance(node, ir.GetKey) and node.target == ir.Event() and node.key not in self.fields:
                close = difflib.get_close_matches(node.key, sorted(self.fields), n=1)
                self.error(
                    path,
                    f"'{node.key}' is not a field of {self.data['source']} events",
                    f"did you mean '{close[0]}'?" if close else "use source: custom for other shapes",
                    offset=max(text.find(node.key), 0),
                )


def _jmespath_problem(exc: jmespath.exceptions.JMESPathError) -> str:
    """The parser's complaint in a few words."""
    if isinstance(exc, jmespath.exceptions.IncompleteExpressionError):
        return "the expression ends too early"
    if isinstance(exc, jmespath.exceptions.LexerError):
        return getattr(exc, "message", None) or exc.msg
    return exc.msg


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _fewest_needles(needles: list[str]) -> tuple[str, ...]:
    """Lower-cased needles without those that contain another ('geoip' goes when 'ip' is there)."""
    lowered = list(dict.fromkeys(needle.lower() for needle in needles))
    return tuple(
        needle for needle in lowered
        if not any(other != needle and other in needle for other in lowered)
    )


def _text_template(parts: tuple) -> ir.Expr:
    """A text template with its constant parts written out now."""
    folded: list = []
    for part in parts:
        if isinstance(part, ir.Const):
            part = runtime.to_text(part.value)
            if part is None:  # a missing constant makes the whole text missing
                return ir.Const(None)
        if isinstance(part, str) and folded and isinstance(folded[-1], str):
            folded[-1] += part
        elif part != "":
            folded.append(part)
    if all(isinstance(part, str) for part in folded):
        return ir.Const("".join(folded))
    return ir.Template(tuple(folded))


def _is_text_constant(expr: ir.Expr) -> bool:
    return isinstance(expr, ir.Const) and isinstance(expr.value, str)


def _line_offset(text: str, lineno: int | None) -> int:
    """Character offset of a 1-based line inside a multi-line template."""
    offset = 0
    for _ in range((lineno or 1) - 1):
        offset = text.find("\n", offset) + 1
    return offset


def lower(doc: Document) -> tuple[ir.Mapping, list[Diagnostic]]:
    """Lower a schema-valid document; returns the IR and the diagnostics found."""
    lowerer = Lowerer(doc)
    mapping = lowerer.mapping()
    return mapping, lowerer.diagnostics
