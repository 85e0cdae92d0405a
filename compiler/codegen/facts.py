"""Facts about IR expressions that the code generator decides on: pure
functions of an expression (and the mapping's defines), no code written."""

from __future__ import annotations

from collections.abc import Iterator

from .. import ir, language
from ..runtime.contract import accepts
from ..runtime.objects import omit_keys

Defines = dict[str, ir.Define]


def postorder(expr: ir.Expr, defines: Defines) -> Iterator[ir.Expr]:
    """Every node under `expr`, children first, looking through define references."""
    if isinstance(expr, ir.DefineRef):
        below: tuple[ir.Expr, ...] = (defines[expr.name].value,)
    else:
        below = ir.children(expr)
    for child in below:
        yield from postorder(child, defines)
    yield expr


def may_raise(expr: ir.Expr, defines: Defines) -> bool:
    """True when evaluating the expression can reject the event (JMESPath type errors)."""
    return any(isinstance(node, (ir.Call, ir.Jmes)) for node in postorder(expr, defines))


def never_missing(expr: ir.Expr, defines: Defines) -> bool:
    """True when the expression can never evaluate to None."""
    match expr:
        case ir.DefineRef(name):
            return never_missing(defines[name].value, defines)
        case ir.Const(value):
            return value is not None
        case ir.Event() | ir.Merge() | ir.ListLit() | ir.Not() | ir.Call():
            return True
        case ir.ObjectLit(items):
            return not items or any(never_missing(value, defines) for _, value in items)
        case ir.Compare(op):
            return not language.COMPARISONS[op].ordering
        case ir.Coalesce(items):
            return any(never_missing(item, defines) for item in items)
        case ir.Default(_, fallback):
            return never_missing(fallback, defines)
    return False


def is_truth_value(expr: ir.Expr) -> bool:
    """True when the expression is always True, False or None (an ordering of values
    of other types): Python's truthiness of it is JMESPath's."""
    match expr:
        case ir.Compare() | ir.Not() | ir.Call():
            return True
        case ir.And(left, right) | ir.Or(left, right):
            return is_truth_value(left) and is_truth_value(right)
    return False


def is_text_valued(expr: ir.Expr) -> bool:
    """True when the expression is always a str or None."""
    match expr:
        case ir.Const(value):
            return value is None or isinstance(value, str)
        case ir.Template():
            return True
        case ir.Convert(to=to):
            return to in language.TEXT_CONVERSIONS
        case ir.Filter(name):
            return language.FILTERS[name].text_result
    return False


def text_or_missing(expr: ir.Expr, defines: Defines) -> bool:
    """True when the value is a non-empty string or None (a timestamp, 'Page Viewed ...')."""
    expr = ir.resolved(expr, defines)
    if isinstance(expr, ir.Convert):
        return expr.to == "timestamp"
    return isinstance(expr, ir.Template) and any(isinstance(p, str) and p for p in expr.parts)


def always_accepted(key: str, expr: ir.Expr, required: bool, defines: Defines) -> bool:
    """True when a call body always accepts the value under this key."""
    if isinstance(expr, ir.Const):
        return accepts(key, expr.value, required)
    expected = language.KEY_TYPES.get(key)
    if expected is None:
        return not required and never_missing(expr, defines)
    if expected is dict:
        if isinstance(expr, ir.OmitKeys):  # an object stays one when keys are dropped
            expr = expr.target
        return isinstance(expr, ir.Merge) or (
            isinstance(expr, ir.ObjectLit) and never_missing(expr, defines)
        )
    return expected is list and isinstance(expr, ir.ListLit)


def omitted(key: str, needles: tuple[str, ...]) -> bool:
    """True when `omit_keys` with these needles drops the key."""
    return bool(needles) and not omit_keys({key: True}, needles)


def is_string_list(expr: ir.Expr) -> bool:
    """True for a constant list of strings (`contains(['a', 'b'], x)`)."""
    return (
        isinstance(expr, ir.Const)
        and isinstance(expr.value, list)
        and all(isinstance(item, str) for item in expr.value)
    )
