"""Facts about IR expressions that the code generator decides on: pure
functions of an expression (and the mapping's defines), no code written."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from .. import ir, language
from ..runtime.contract import accepts, value_problem
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


def evaluated(expr: ir.Expr, defines: Defines) -> Iterator[ir.Expr]:
    """The nodes under `expr` whose values generated code computes, children first:
    an object literal laid into a merge is built in place (its values are computed,
    not the literal), and keys a merge leaves out are never evaluated."""
    if isinstance(expr, ir.DefineRef):
        below: tuple[ir.Expr, ...] | list[ir.Expr] = (defines[expr.name].value,)
    elif isinstance(expr, ir.Merge):
        below = merge_operands(expr, ())
    elif isinstance(expr, ir.OmitKeys) and omits_in_passing(expr, defines):
        below = merge_operands(expr.target, expr.needles)
    elif isinstance(expr, (ir.Default, ir.Coalesce)):
        below = fallback_operands(expr)
    elif isinstance(expr, ir.Compare) and constant_operands(expr):
        below = ()
    else:
        below = ir.children(expr)
    for child in below:
        yield from evaluated(child, defines)
    yield expr


def repeated_reads(exprs: list[ir.Expr], defines: Defines) -> frozenset[ir.Expr]:
    """The reads of the event (`a.b`, `a[0]`) that computing these expressions makes
    more than once."""
    counts = Counter(
        node
        for expr in exprs
        for node in evaluated(expr, defines)
        if isinstance(node, (ir.GetKey, ir.GetIndex)) and ir.is_plain_read(node, defines)
    )
    return frozenset(node for node, count in counts.items() if count > 1)


def objects_read(exprs: list[ir.Expr], defines: Defines) -> frozenset[ir.Expr]:
    """The objects read from the event (`a`, `a.b`) whose keys computing these
    expressions reads two or more of."""
    reads = {
        node
        for expr in exprs
        for node in evaluated(expr, defines)
        if isinstance(node, ir.GetKey)
        and node.target != ir.Event()
        and ir.is_plain_read(node.target, defines)
    }
    counts = Counter(node.target for node in reads)
    return frozenset(target for target, count in counts.items() if count > 1)


def primary_decided(primary: ir.Expr, replace_empty: bool) -> bool | None:
    """Whether a constant primary value of a fallback is used (decided at compile
    time: the fallback is then never evaluated); None when it is not a constant."""
    if not isinstance(primary, ir.Const):
        return None
    return primary.value is not None and not (replace_empty and primary.value == "")


def fallback_operands(expr: ir.Default | ir.Coalesce) -> list[ir.Expr]:
    """The operands of a default or coalesce that may be evaluated: constants that
    decide the outcome cut the rest off."""
    if isinstance(expr, ir.Default):
        options, replace_empty = [expr.target, expr.fallback], expr.replace_empty
    else:
        options, replace_empty = list(expr.items), False
    operands = []
    for option in options[:-1]:
        used = primary_decided(option, replace_empty)
        if used is None:
            operands.append(option)
        elif used:
            return [*operands, option]
        replace_empty = False  # only a default's own target is tested for ""
    return [*operands, options[-1]]


def constant_operands(expr: ir.Compare) -> bool:
    """True when both sides of a comparison are constants (decided at compile time)."""
    return isinstance(expr.left, ir.Const) and isinstance(expr.right, ir.Const)


def merge_steps(merge: ir.Merge, needles: tuple[str, ...]) -> Iterator[list | ir.Expr]:
    """How a merge is built: a list of (key, value) for each object literal laid over
    the result (without the keys `needles` omit, and without `k: X.k` right after X,
    which sets what X has just set), or the expression of an object spread into it."""
    spread = None  # the object laid over the result just before, if any
    for item in merge.items:
        if isinstance(item, ir.ObjectLit):
            yield [
                (key, value)
                for key, value in item.items
                if not omitted(key, needles) and (spread is None or value != ir.GetKey(spread, key))
            ]
            spread = None
        else:
            yield item
            spread = item


def merge_operands(merge: ir.Merge, needles: tuple[str, ...]) -> list[ir.Expr]:
    """The expressions a merge evaluates, in order."""
    operands: list[ir.Expr] = []
    for step in merge_steps(merge, needles):
        operands += [value for _, value in step] if isinstance(step, list) else [step]
    return operands


def omits_in_passing(expr: ir.OmitKeys, defines: Defines) -> bool:
    """True when the merge under `omit_keys` can leave keys out as it builds the
    object: no literal value it leaves out (and so never evaluates) could reject
    the event."""
    if not isinstance(expr.target, ir.Merge):
        return False
    return not any(
        may_raise(value, defines)
        for item in expr.target.items
        if isinstance(item, ir.ObjectLit)
        for key, value in item.items
        if omitted(key, expr.needles)
    )


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


def always_missing(expr: ir.Expr, defines: Defines) -> bool:
    """True for a value that is null whatever the event (a null constant, maybe via defines)."""
    expr = ir.resolved(expr, defines)
    return isinstance(expr, ir.Const) and expr.value is None


def call_result(expr: ir.Call) -> str:
    """The JMESPath type of every value a compiled function call gives."""
    return language.COMPILED_FUNCTIONS[expr.name].result


def truth_as_python(expr: ir.Expr) -> bool:
    """True when Python's truthiness of the value is JMESPath's: the value is never a
    number (0 is true in JMESPath); null, false, "", [] and {} are false in both."""
    match expr:
        case ir.Const(value):
            return isinstance(value, bool) or not isinstance(value, (int, float))
        case ir.Compare() | ir.Not() | ir.Call() | ir.Template():
            return True  # booleans or null, type names, objects, text
        case ir.Merge() | ir.ObjectLit() | ir.ListLit():
            return True
        case ir.And(left, right) | ir.Or(left, right):
            return truth_as_python(left) and truth_as_python(right)
    return is_text_valued(expr)


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
        case ir.Call():
            return call_result(expr) == "string"
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
    return (
        expected is list
        and isinstance(expr, ir.ListLit)
        and any(never_missing(item, defines) for item in expr.items)
    )


def proven_clean(key: str, expr: ir.Expr, defines: Defines) -> bool:
    """True when a call body can carry the expression's value under `key` without a
    run-time check of what is inside it: no null however deep, and, under the group
    list key, entries proven right (only a constant can be)."""
    expr = ir.resolved(expr, defines)
    if isinstance(expr, ir.Const):
        return expr.value is None or value_problem(key, expr.value) is None
    if key == language.GROUP_LIST_KEY:
        return False
    return null_free(expr, defines)


def left_to_caller(key: str, expr: ir.Expr, defines: Defines) -> bool:
    """True when all a run-time check could find in the value under `key` is what
    `transform(..., nulls=False)` leaves to its caller: nulls inside. Under the group
    list key, only a `groups:` value's entries are right by construction."""
    return key != language.GROUP_LIST_KEY or isinstance(ir.resolved(expr, defines), ir.Groups)


def null_free(expr: ir.Expr, defines: Defines) -> bool:
    """True when no value inside the expression's value can be null (the value itself
    may be missing: a body leaves it out)."""
    match expr:
        case ir.DefineRef(name):
            return null_free(defines[name].value, defines)
        case ir.Const(value):
            return value is None or value_problem("", value) is None
        case ir.Template() | ir.Convert() | ir.Compare() | ir.Not():
            return True  # text, numbers, booleans
        case ir.Call():  # a boolean or a type name; a merged object holds what it was given
            return call_result(expr) != "object" or all(
                null_free(arg, defines) for arg in expr.args
            )
        case ir.Filter(name):
            return name != "first" and name != "last"  # the others give text or a length
        case ir.ObjectLit(items):  # missing values are left out
            return all(null_free(value, defines) for _, value in items)
        case ir.ListLit(items) | ir.Merge(items) | ir.Coalesce(items):
            return all(null_free(item, defines) for item in items)
        case ir.OmitKeys(target):
            return null_free(target, defines)
        case ir.Default(target, fallback) | ir.And(target, fallback) | ir.Or(target, fallback):
            return null_free(target, defines) and null_free(fallback, defines)
    return False  # event data, JMESPath results, groups: checked at run time


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
