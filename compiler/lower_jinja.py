"""Templates: Jinja's parser reads them (nothing is ever rendered), and the
expressions of the supported subset become IR nodes.

Supported inside `{{ }}`: names (defines and event fields), `a.b`, `a['b']`,
`a[0]`, literals, and the filters of `language.FILTERS`. Filters that mean
a modifier (`default`, `string`, `int`, `float`) become that modifier's node.
"""

from __future__ import annotations

from typing import Any

import jinja2
from jinja2 import nodes

from . import ir, language
from .names import ExpressionError, Names, nested_too_deep
from .runtime.conversions import to_text

# Parsing only: templates are never rendered, so no sandbox is involved.
_JINJA = jinja2.Environment(autoescape=False, keep_trailing_newline=True)

_SUBSET_HINT = "supported: names, a.b, a['b'], a[0], literals and filters " + ", ".join(
    sorted(language.FILTERS)
)


#: The Jinja expressions outside the subset, as a person wrote them, and what to do instead.
_UNSUPPORTED = {
    "Concat": ("'~' concatenation", "write the parts side by side: {{ a }}{{ b }}"),
    "Call": ("a call", None),
    "CondExpr": ("an if/else expression", "use coalesce:, default: or the default filter"),
    "Add": ("arithmetic", None),
    "Sub": ("arithmetic", None),
    "Mul": ("arithmetic", None),
    "Div": ("arithmetic", None),
    "FloorDiv": ("arithmetic", None),
    "Mod": ("arithmetic", None),
    "Pow": ("arithmetic", None),
    "And": ("'and'", "conditions belong in when:"),
    "Or": ("'or'", "use coalesce: for the first present value"),
    "Not": ("'not'", "conditions belong in when:"),
    "Compare": ("a comparison", "conditions belong in when:"),
    "Test": ("an 'is' test", "conditions belong in when:"),
    "List": ("a list literal", "write a YAML list"),
    "Dict": ("a dict literal", "write a YAML mapping"),
    "Tuple": ("a tuple", "write a YAML list"),
    "Slice": ("a slice", "use a path: with a JMESPath slice"),
}


class TemplateSyntaxError(ExpressionError):
    """Jinja could not parse the template; `lineno` is the line inside it."""

    def __init__(self, message: str, lineno: int | None):
        super().__init__(message, code="AM201")
        self.lineno = lineno


def lower_template(text: str, names: Names, line: int = 0) -> ir.Expr:
    """A template string as IR: plain text is a constant; `{{ x }}` alone keeps x's type."""
    if "{{" not in text and "{%" not in text and "{#" not in text:
        return ir.Const(text, line=line)
    parts = _TemplateLowering(text, names, line).parts()
    if len(parts) == 1 and isinstance(parts[0], ir.Expr):
        return parts[0]
    return _text_template(parts, line)


class _TemplateLowering:
    """Translates the expressions of one template."""

    def __init__(self, text: str, names: Names, line: int):
        self.text, self.names, self.line = text, names, line
        # Jinja's lexer turns \r and \r\n into \n; a private-use stand-in keeps them.
        self.carriage_return = next(
            (c for c in map(chr, range(0xE000, 0xF900)) if c not in text), None
        )

    def parts(self) -> tuple[str | ir.Expr, ...]:
        """The literal texts and expressions of the template, in order."""
        source = self.text
        if "\r" in source:
            if self.carriage_return is None:
                raise ExpressionError(
                    "a template with a carriage return uses every private-use character",
                    code="AM209",
                )
            source = source.replace("\r", self.carriage_return)
        try:
            body = _JINJA.parse(source).body
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateSyntaxError(f"template syntax error: {exc.message}", exc.lineno) from None
        except RecursionError:
            raise nested_too_deep() from None
        except ValueError as exc:  # a number with more digits than Python converts
            raise ExpressionError(f"template syntax error: {exc}", code="AM201") from None
        _check_depth(body)
        blocks = iter(_expression_blocks(source))
        parts: list[str | ir.Expr] = []
        for statement in body:
            if not isinstance(statement, nodes.Output):
                raise ExpressionError(
                    "only {{ expressions }} are supported in templates, not {% statements %}",
                    "{%",
                    "compute values with define:, coalesce: or when:",
                    code="AM208",
                )
            for node in statement.nodes:
                if isinstance(node, nodes.TemplateData):
                    if node.data:
                        parts.append(self.restore(node.data))
                else:
                    parts.append(self.located(node, next(blocks, [])))
        return tuple(parts)

    def located(self, node: nodes.Node, tokens: list[tuple[int, str]]) -> ir.Expr:
        """Translate the expression of one `{{ }}` block; a problem gets the position of
        the token it names in the block, else of the block's expression."""
        try:
            return self.expression(node)
        except ExpressionError as exc:
            if exc.offset is None and tokens:
                found = [offset for offset, text in tokens if text == exc.needle]
                exc.offset = found[0] if found else tokens[0][0]
            raise

    def restore(self, text: str) -> str:
        """Undo the carriage-return stand-in."""
        return text if self.carriage_return is None else text.replace(self.carriage_return, "\r")

    def expression(self, node: nodes.Node) -> ir.Expr:
        """Translate one Jinja expression node of the supported subset."""
        line = self.line
        match node:
            case nodes.Name(name=name):
                return self.names.resolve(name, line)
            case nodes.Const(value=str() as value):
                return ir.Const(self.restore(value), line=line)
            case nodes.Const(value=value) if value is None or isinstance(value, (int, float)):
                return ir.constant(value, line)
            case nodes.Neg(node=nodes.Const(value=value)) if _is_number(value):
                return ir.constant(-value, line)
            case nodes.Getattr(node=target, attr=attr):
                return ir.get_key(self.expression(target), attr, line)
            case nodes.Getitem(node=target, arg=arg):
                return self.subscript(self.expression(target), arg)
            case nodes.Filter(node=target, name=name) if target is not None:
                return self.filter(node, self.expression(target), name)
        what, advice = _UNSUPPORTED.get(type(node).__name__, (type(node).__name__, None))
        raise ExpressionError(
            f"{what} is not supported in templates", hint=advice or _SUBSET_HINT, code="AM209"
        )

    def subscript(self, target: ir.Expr, arg: nodes.Node) -> ir.Expr:
        match arg:
            case nodes.Const(value=str() as key):
                return ir.get_key(target, self.restore(key), self.line)
            case nodes.Const(value=int() as index) if not isinstance(index, bool):
                return ir.get_index(target, index, self.line)
            case nodes.Neg(node=nodes.Const(value=int() as index)) if not isinstance(index, bool):
                return ir.get_index(target, -index, self.line)
        raise ExpressionError(
            "subscripts must be a quoted key or an integer index",
            hint="write a['key'] or a[0]; a key computed from the event needs a path:",
            code="AM209",
        )

    def filter(self, node: nodes.Filter, target: ir.Expr, name: str) -> ir.Expr:
        spec = language.FILTERS.get(language.FILTER_ALIASES.get(name, name))
        if spec is None:
            raise ExpressionError(
                f"unknown filter '{name}'",
                name,
                Names.hint(name, language.FILTERS)
                or "filters: " + ", ".join(sorted(language.FILTERS)),
                code="AM210",
            )
        args = self.arguments(node, spec)
        if spec.is_default:
            replace_empty = len(args) == 2 and args[1].value is True
            return ir.Default(target, args[0], replace_empty, line=self.line)
        if spec.conversion is not None:
            return ir.Convert(target, spec.conversion, line=self.line)
        return ir.Filter(spec.name, target, tuple(args), line=self.line)

    def arguments(self, node: nodes.Filter, spec: language.Filter) -> list[ir.Expr]:
        """The filter's arguments, checked against its arity and kinds."""
        name = spec.name
        if node.dyn_args or node.dyn_kwargs:
            raise ExpressionError(
                f"filter '{name}' does not take * or ** arguments", name, code="AM211"
            )
        args = [self.expression(arg) for arg in node.args]
        for keyword in node.kwargs:
            if not spec.is_default or keyword.key != "boolean":
                raise ExpressionError(
                    f"filter '{name}' has no argument '{keyword.key}'", name, code="AM211"
                )
            if len(args) != 1:
                raise ExpressionError(
                    "filter 'default' takes its fallback value first",
                    name,
                    "write default(fallback, boolean=true)",
                    code="AM211",
                )
            args.append(self.expression(keyword.value))
        if not spec.min_args <= len(args) <= spec.max_args:
            raise ExpressionError(f"filter '{name}' takes {spec.arity()}", name, code="AM211")
        if spec.text_arguments and not all(_is_text_constant(arg) for arg in args):
            raise ExpressionError(
                f"the arguments of '{name}' must be quoted strings", name, code="AM211"
            )
        if (
            spec.is_default
            and len(args) == 2
            and not (isinstance(args[1], ir.Const) and isinstance(args[1].value, bool))
        ):
            raise ExpressionError(
                "the second argument of 'default' must be true or false", name, code="AM211"
            )
        return args


def _check_depth(body: list[nodes.Node]) -> None:
    """Refuse expressions nested deeper than the limit (without recursion)."""
    stack = [(node, 1) for node in body]
    while stack:
        node, depth = stack.pop()
        if depth > language.MAX_NESTING + 1:  # + the Output statement around expressions
            raise nested_too_deep()
        stack.extend((child, depth + 1) for child in node.iter_child_nodes())


def _expression_blocks(source: str) -> list[list[tuple[int, str]]]:
    """For each `{{ }}` block of a template, the (offset, text) of its tokens."""
    blocks: list[list[tuple[int, str]]] = []
    offset = 0
    for _, kind, value in _JINJA.lexer.tokeniter(source, None):
        if kind == "variable_begin":
            blocks.append([])
        elif kind not in ("whitespace", "variable_end") and blocks:
            blocks[-1].append((offset, value))
        offset += len(value)
    return blocks


def _text_template(parts: tuple, line: int) -> ir.Expr:
    """A text template with its constant parts written out now."""
    folded: list = []
    for part in parts:
        if isinstance(part, ir.Const):
            part = to_text(part.value)
            if part is None:  # a missing constant makes the whole text missing
                return ir.Const(None, line=line)
        if isinstance(part, str) and folded and isinstance(folded[-1], str):
            folded[-1] += part
        elif part != "":
            folded.append(part)
    if all(isinstance(part, str) for part in folded):
        return ir.Const("".join(folded), line=line)
    return ir.Template(tuple(folded), line=line)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_text_constant(expr: ir.Expr) -> bool:
    return isinstance(expr, ir.Const) and isinstance(expr.value, str)
