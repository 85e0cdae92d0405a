"""Expressions: Python source that computes an IR expression's value.

`value(expr)` returns an expression's source, emitting first the statements
it needs; `atom(expr)` returns a name (or a literal) holding the value,
computed once per scope. Operands that may reject the event are computed in
statements of their own, in order, so they fail in the order the reference
interpreter evaluates them. Constants come from the mapping through `repr()`
only; names come from the emitter.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import ir, language
from ..interpreter import compare
from ..runtime.jmes import jp_type
from .emitter import Emitter, hint_text, identifier
from .facts import (
    Defines,
    always_missing,
    constant_operands,
    fallback_operands,
    is_string_list,
    is_text_valued,
    may_raise,
    merge_steps,
    never_missing,
    omits_in_passing,
    primary_decided,
    truth_as_python,
)


class ExpressionWriter:
    """Writes the expressions of one generated function."""

    def __init__(self, out: Emitter, defines: Defines):
        self.out = out
        self.defines = defines
        self.lazy: dict[ir.Expr, str] = {}  # shared values computed on first use
        self.reused: frozenset[ir.Expr] = frozenset()  # reads named when first made
        self.objects: frozenset[ir.Expr] = frozenset()  # objects read by several keys
        self.uses_jmespath = False

    def never_missing(self, expr: ir.Expr) -> bool:
        """True when the expression can never evaluate to None."""
        return never_missing(expr, self.defines)

    def may_raise(self, expr: ir.Expr) -> bool:
        """True when evaluating the expression can reject the event."""
        return may_raise(expr, self.defines)

    # names and values -----------------------------------------------------

    def atom(self, expr: ir.Expr, name: str | None = None) -> str:
        """A local name (or a literal) holding the expression's value, computed once per scope."""
        cached = self.out.lookup(expr)
        if cached is not None:
            return cached
        if isinstance(expr, ir.Event):
            return "event"
        if isinstance(expr, ir.Const) and not isinstance(expr.value, (dict, list)):
            # (1).__class__ is valid Python; 1.__class__ is not.
            number = isinstance(expr.value, (int, float)) and not isinstance(expr.value, bool)
            return f"({expr.value!r})" if number else repr(expr.value)
        if isinstance(expr, ir.DefineRef):
            name = f"v_{expr.name}"
        elif name is None and isinstance(expr, ir.GetKey) and expr.target == ir.Event():
            name = f"e_{expr.key}" if identifier(expr.key) else None
        resolved = ir.resolved(expr, self.defines)
        if expr not in self.lazy and isinstance(resolved, ir.Convert) and resolved.to == "string":
            return self.text_in_place(expr, resolved.target, name)
        text = self.first_use(expr) if expr in self.lazy else self.compute(expr)
        if identifier(text):
            self.out.bind(expr, text)
            return text
        variable = self.variable(expr, name)
        self.out.emit(f"{variable} = {text}")
        self.out.bind(expr, variable)
        return variable

    def variable(self, expr: ir.Expr, name: str | None) -> str:
        """The local to hold the expression: `name` when it is free for it, else a temporary."""
        usable = name is not None and identifier(name) and not self.out.holds_other(name, expr)
        return name if usable else self.out.temp(_hint(expr))

    def text_in_place(self, expr: ir.Expr, target: ir.Expr, name: str | None) -> str:
        """`as: string` into one local: the value, then its text when it is not text
        already (the common case costs no call and no second name)."""
        variable = self.variable(expr, name)
        self.out.emit(f"{variable} = {self.value(target)}")
        with self.out.block(f"if {variable}.__class__ is not str:"):
            to_text = self.out.helper(language.CONVERSIONS["string"])
            self.out.emit(f"{variable} = {to_text}({variable})")
        self.out.bind(expr, variable)
        return variable

    def value(self, expr: ir.Expr) -> str:
        """Python source evaluating the expression (statements it needs are emitted first)."""
        cached = self.out.lookup(expr)
        if cached is not None:
            return cached
        if expr in self.lazy:
            return self.first_use(expr)
        if expr in self.reused:
            return self.atom(expr)
        return self.compute(expr)

    def compute(self, expr: ir.Expr) -> str:
        return getattr(self, "value_" + type(expr).__name__)(expr)

    def first_use(self, expr: ir.Expr) -> str:
        """`if name is ...: name = <value>`: a shared value, computed where first needed."""
        name = self.lazy[expr]
        with self.out.block(f"if {name} is ...:"):
            self.out.emit(f"{name} = {self.compute(expr)}")
        self.out.bind(expr, name)
        return name

    def operand(self, expr: ir.Expr) -> str:
        """One operand of several: one that may reject the event becomes a statement, so
        operands are evaluated (and fail) in order, as in the interpreter."""
        return self.atom(expr) if self.may_raise(expr) else self.value(expr)

    def condition(self, expr: ir.Expr) -> str:
        """Python source that is true exactly when the expression is JMESPath-true."""
        text = self.value(expr)
        return text if truth_as_python(expr) else f"{self.out.helper('truthy')}({text})"

    def text_atom(self, expr: ir.Expr) -> str:
        """A name holding the expression written as text (None when missing)."""
        value = self.atom(expr)
        if is_text_valued(expr):
            return value
        text = self.out.temp(_hint(expr))
        to_text = self.out.helper(language.CONVERSIONS["string"])
        self.out.emit(f"{text} = {value} if {value}.__class__ is str else {to_text}({value})")
        return text

    # leaves -----------------------------------------------------------------

    def value_Const(self, expr: ir.Const) -> str:
        return repr(expr.value)

    def value_Event(self, expr: ir.Event) -> str:
        return "event"

    def value_DefineRef(self, expr: ir.DefineRef) -> str:
        return self.value(self.defines[expr.name].value)

    def value_GetKey(self, expr: ir.GetKey) -> str:
        if expr.target == ir.Event():
            return f"event.get({expr.key!r})"
        if expr.target in self.objects:
            return f"{self.keys_of(expr.target)}.get({expr.key!r})"
        target = self.atom(expr.target)
        return f"({target}.get({expr.key!r}) if {target}.__class__ is dict else None)"

    def keys_of(self, target: ir.Expr) -> str:
        """A name holding the target when it is an object, else an empty one: each key
        read from it is then a plain `get`, after one class test."""
        readable = _Readable(target)
        name = self.out.lookup(readable)
        if name is None:
            value = self.atom(target)
            hint = hint_text(_hint(target))  # `traits_keys` in every rule reading traits
            name = self.variable(readable, f"{hint}_keys" if hint else None)
            self.out.emit(f"{name} = {value} if {value}.__class__ is dict else {{}}")
            self.out.bind(readable, name)
        return name

    def value_GetIndex(self, expr: ir.GetIndex) -> str:
        return f"{self.out.helper('jp_index')}({self.value(expr.target)}, {expr.index!r})"

    def value_Jmes(self, expr: ir.Jmes) -> str:
        self.uses_jmespath = True
        name = self.out.constant(f"jmespath.compile({expr.text!r})", prefix="_JMESPATH_")
        return f"{self.out.helper('jp_search')}({name}, event)"

    # text -------------------------------------------------------------------

    def value_Template(self, expr: ir.Template) -> str:
        pieces, checks = [], []
        for part in expr.parts:
            if isinstance(part, str):
                pieces.append(repr(part))
                continue
            text = self.text_atom(part)
            pieces.append(text)
            checks.append(f"{text} is None")
        return f"(None if {' or '.join(checks)} else {' + '.join(pieces)})"

    def value_Filter(self, expr: ir.Filter) -> str:
        target = self.value(expr.target)
        args = expr.args
        if expr.name == "join" and not args:
            args = (ir.Const(language.JOIN_SEPARATOR),)
        arguments = "".join(f", {self.value(arg)}" for arg in args)
        return f"{self.out.helper(language.FILTERS[expr.name].helper)}({target}{arguments})"

    def value_Convert(self, expr: ir.Convert) -> str:
        helper = self.out.helper(language.CONVERSIONS[expr.to])
        if expr.to == "string":  # text is its own text: no call for the common case
            value = self.atom(expr.target)
            return f"({value} if {value}.__class__ is str else {helper}({value}))"
        return f"{helper}({self.value(expr.target)})"

    # fallbacks --------------------------------------------------------------

    def value_Default(self, expr: ir.Default) -> str:
        return self.fallback(expr.target, expr.fallback, expr.replace_empty)

    def value_Coalesce(self, expr: ir.Coalesce) -> str:
        first, *rest = fallback_operands(expr)
        if len(rest) <= 1:
            return self.fallback(first, rest[0], False) if rest else self.value(first)
        # A flat sequence, however many items: each tried only while all before are missing.
        result = self.out.temp(_hint(first))
        self.out.emit(f"{result} = {self.atom(first)}")
        for item in rest:
            with self.out.captured() as lines:
                alternative = self.value(item)
            self.otherwise(f"if {result} is None:", lines, f"{result} = {alternative}")
        return result

    def fallback(self, primary: ir.Expr, fallback: ir.Expr, replace_empty: bool) -> str:
        """`primary` unless it is missing (or empty), else `fallback`, evaluated only then."""
        used = primary_decided(primary, replace_empty)
        if used is not None:  # decided now
            return self.value(primary if used else fallback)
        value = self.atom(primary)

        def is_missing(name: str) -> str:
            return f"{name} is None or {name} == ''" if replace_empty else f"{name} is None"

        with self.out.captured() as lines:
            alternative = self.value(fallback)
        if not lines:
            if alternative == value or fallback == primary:  # `x | default(x)`: x either way
                return value
            return f"({alternative} if {is_missing(value)} else {value})"
        result = self.out.temp(_hint(primary))
        self.out.emit(f"{result} = {value}")
        self.otherwise(f"if {is_missing(result)}:", lines, f"{result} = {alternative}")
        return result

    def otherwise(self, header: str, lines: list, assignment: str) -> None:
        """A block of captured `lines` and a last assignment, under `header`."""
        self.out.emit(header)
        self.out.splice(lines)
        self.out.depth += 1
        self.out.emit(assignment)
        self.out.depth -= 1

    # objects ----------------------------------------------------------------

    def value_Merge(self, expr: ir.Merge, needles: tuple[str, ...] = ()) -> str:
        """The merged object; with `needles`, without the keys `omit_keys` would drop."""
        result = self.out.temp("merged")
        steps = list(merge_steps(expr, needles))
        if isinstance(steps[0], list):  # the first object literal starts the result
            self.build_object(result, steps.pop(0))
        elif not needles:  # so does a copy of the first object spread into it
            first = self.atom(steps.pop(0))
            self.out.emit(f"{result} = {self.out.helper('merge_from')}({first})")
        else:
            self.out.emit(f"{result} = {{}}")
        for step in steps:
            if isinstance(step, list):
                self.assign_keys(result, step)
            elif needles:
                part = self.atom(step)
                self.out.emit(
                    f"{self.out.helper('omit_into')}({result}, {part}, {needles!r}, True)"
                )
            else:
                self.out.emit(f"{self.out.helper('merge_into')}({result}, {self.atom(step)})")
        return result

    def value_ObjectLit(self, expr: ir.ObjectLit) -> str:
        result = self.out.temp("object")
        self.build_object(result, expr.items)
        if not self.never_missing(expr):
            # An object none of whose values is present is itself missing.
            with self.out.block(f"if not {result}:"):
                self.out.emit(f"{result} = None")
        return result

    def build_object(self, result: str, items) -> None:
        """`result = {...}` with the leading keys that are always present, then the others."""
        items = list(items)
        leading = 0
        while leading < len(items) and self.never_missing(items[leading][1]):
            leading += 1
        values = [self.operand(value) for _, value in items[:leading]]
        literal = ", ".join(f"{key!r}: {value}" for (key, _), value in zip(items, values))
        self.out.emit(f"{result} = {{{literal}}}")
        self.assign_keys(result, items[leading:])

    def assign_keys(self, result: str, items) -> None:
        """`result[key] = value` for each present value, in order."""
        for key, value in items:
            if always_missing(value, self.defines):
                continue
            if self.never_missing(value):
                self.out.emit(f"{result}[{key!r}] = {self.value(value)}")
                continue
            name = self.atom(value)
            with self.out.block(f"if {name} is not None:"):
                self.out.emit(f"{result}[{key!r}] = {name}")

    def value_ListLit(self, expr: ir.ListLit) -> str:
        values = [self.operand(item) for item in expr.items]
        if all(self.never_missing(item) for item in expr.items):
            return f"[{', '.join(values)}]"
        return f"[item for item in ({''.join(v + ', ' for v in values)}) if item is not None]"

    def value_OmitKeys(self, expr: ir.OmitKeys) -> str:
        if omits_in_passing(expr, self.defines):  # one pass, not a merge then a filtered copy
            return self.value_Merge(expr.target, expr.needles)
        return f"{self.out.helper('omit_keys')}({self.value(expr.target)}, {expr.needles!r})"

    def value_Groups(self, expr: ir.Groups) -> str:
        ids, traits = self.operand(expr.ids), self.operand(expr.traits)
        if expr.take == 1 and not (expr.by_type or expr.descending or expr.numeric):
            return f"{self.out.helper('first_group')}({ids}, {traits}, {expr.type_trait!r})"
        options = (expr.by_type, expr.descending, expr.numeric, expr.take, expr.type_trait)
        arguments = ", ".join(repr(option) for option in options)
        return f"{self.out.helper('select_groups')}({ids}, {traits}, {arguments})"

    # conditions -------------------------------------------------------------

    def value_Compare(self, expr: ir.Compare) -> str:
        comparison = language.COMPARISONS[expr.op]
        if constant_operands(expr):  # decided now
            return repr(compare(expr.op, expr.left.value, expr.right.value))
        if not comparison.ordering:
            equal = self.equality(expr.left, expr.right, comparison.negated)
            equal = equal or self.equality(expr.right, expr.left, comparison.negated)
            if equal is not None:
                return equal
        else:
            ordered = self.ordering(expr)
            if ordered is not None:
                return ordered
        left, right = self.operand(expr.left), self.operand(expr.right)
        call = f"{self.out.helper(comparison.helper)}({left}, {right})"
        return f"(not {call})" if comparison.negated else call

    def ordering(self, expr: ir.Compare) -> str | None:
        """An ordering against a number or text constant in plain Python: the comparison
        when the other value is of the constant's kind, else null (as the helpers decide)."""
        left, right = expr.left, expr.right
        constant = right if isinstance(right, ir.Const) else left
        if not isinstance(constant, ir.Const) or isinstance(constant.value, bool):
            return None
        if not isinstance(constant.value, (int, float, str)):
            return None
        kind = "string" if isinstance(constant.value, str) else "number"
        subject = self.atom(left if constant is right else right)
        operands = (
            (subject, repr(constant.value))
            if constant is right
            else (repr(constant.value), subject)
        )
        token = language.COMPARISONS[expr.op].token
        return f"({operands[0]} {token} {operands[1]} if {_class_test(subject, kind)} else None)"

    def equality(self, subject: ir.Expr, constant: ir.Expr, negated: bool) -> str | None:
        """Plain Python (in)equality when comparing with this constant makes it exact."""
        if not isinstance(constant, ir.Const):
            return None
        value = constant.value
        if isinstance(subject, ir.Call) and subject.name == "type" and value in _TYPE_NAMES:
            return self.type_test(subject.args[0], value, negated)
        if value is None or isinstance(value, bool):
            operator = "is not" if negated else "is"
        elif isinstance(value, str) or (isinstance(value, (int, float)) and value not in (0, 1)):
            operator = "!=" if negated else "=="
        else:
            return None
        return f"({self.value(subject)} {operator} {value!r})"

    def type_test(self, subject: ir.Expr, name: str, negated: bool) -> str:
        """`type(subject) == name` as a test of the value's class, as jp_type tells types."""
        if isinstance(subject, ir.Const):  # decided now (`'x' is None` is no Python)
            return repr((jp_type(subject.value) == name) is not negated)
        value = self.atom(subject)
        if name == "null":
            return f"({value} is {'not ' if negated else ''}None)"
        return f"({_class_test(value, name, negated)})"

    def value_And(self, expr: ir.And) -> str:
        return self.short_circuit(expr.left, expr.right, take_right_when_true=True)

    def value_Or(self, expr: ir.Or) -> str:
        return self.short_circuit(expr.left, expr.right, take_right_when_true=False)

    def short_circuit(self, left: ir.Expr, right: ir.Expr, take_right_when_true: bool) -> str:
        """JMESPath `&&` / `||`: the right operand is evaluated only when needed."""
        # Python's `and`/`or` test the left value only: they mean JMESPath's when its
        # truthiness does.
        truth_values = truth_as_python(left)
        value = self.value(left) if truth_values else self.atom(left)
        with self.out.captured() as lines:
            alternative = self.value(right)
        if not lines:
            if alternative == value or right == left:  # `a || a` is a, either way
                return value
            if truth_values:
                return f"({value} {'and' if take_right_when_true else 'or'} {alternative})"
            test = self.take_right(left, value, take_right_when_true)
            return f"({alternative} if {test} else {value})"
        result = self.out.temp("test")
        self.out.emit(f"{result} = {value}")
        test = self.take_right(left, result, take_right_when_true)
        self.otherwise(f"if {test}:", lines, f"{result} = {alternative}")
        return result

    def take_right(self, left: ir.Expr, name: str, when_true: bool) -> str:
        """The test that selects the right operand of && (when_true) or ||."""
        test = name if truth_as_python(left) else f"{self.out.helper('truthy')}({name})"
        return test if when_true else f"not {test}"

    def value_Not(self, expr: ir.Not) -> str:
        target = expr.target
        if isinstance(target, ir.Not):  # `!!x`: JMESPath's truthiness of x, as a boolean
            inner = target.target
            truth = self.condition(inner)
            return f"bool({truth})" if truth_as_python(inner) else truth
        if isinstance(target, ir.Compare) and not language.COMPARISONS[target.op].ordering:
            opposite = "ne" if target.op == "eq" else "eq"  # `!(a == b)` is `a != b`
            return self.value_Compare(ir.Compare(opposite, target.left, target.right))
        if (
            isinstance(target, ir.Call)
            and target.name == "contains"
            and is_string_list(target.args[0])
        ):
            return self.membership(target, negated=True)
        return f"(not {self.condition(target)})"

    def value_Call(self, expr: ir.Call) -> str:
        first, *rest = expr.args
        if expr.name == "contains" and is_string_list(first):
            return self.membership(expr, negated=False)
        helper = self.out.helper(language.COMPILED_FUNCTIONS[expr.name].helper)
        if expr.name in _AFFIX_METHODS and isinstance(rest[0], ir.Const):
            affix = rest[0].value
            if isinstance(affix, str):
                subject = self.atom(first)
                return (
                    f"({subject}.{_AFFIX_METHODS[expr.name]}({affix!r}) "
                    f"if {subject}.__class__ is str else {helper}({subject}, {affix!r}))"
                )
        return f"{helper}({', '.join(self.operand(arg) for arg in expr.args)})"

    def membership(self, expr: ir.Call, negated: bool) -> str:
        """`contains(['a', 'b'], x)` as `x in <constant tuple>` (or `not in`)."""
        options, subject = expr.args
        names = self.out.constant(repr(tuple(options.value)))
        return f"({self.value(subject)} {'not in' if negated else 'in'} {names})"


@dataclass(frozen=True)
class _Readable(ir.Expr):
    """What `keys_of` names: the target if it is an object, else an empty object."""

    target: ir.Expr


#: The classes of the values whose JMESPath type() is each name (as jp_type decides).
_TYPE_CLASSES = {
    "string": ("str",),
    "number": ("int", "float"),
    "boolean": ("bool",),
    "array": ("list",),
    "object": ("dict",),
}
_TYPE_NAMES = (*_TYPE_CLASSES, "null")


def _class_test(value: str, type_name: str, negated: bool = False) -> str:
    """Python test that `value` is (or is not) of a JMESPath type other than null."""
    if negated:
        return " and ".join(f"{value}.__class__ is not {c}" for c in _TYPE_CLASSES[type_name])
    return " or ".join(f"{value}.__class__ is {c}" for c in _TYPE_CLASSES[type_name])


#: The str method that computes `starts_with` / `ends_with` for a text subject.
_AFFIX_METHODS = {"starts_with": "startswith", "ends_with": "endswith"}


def _hint(expr: ir.Expr) -> str:
    """What a temporary holding the expression is named after."""
    match expr:
        case _Readable(target):
            return f"{_hint(target)} keys"
        case ir.GetKey(_, key):
            return key
        case ir.DefineRef(name):
            return name
        case ir.GetIndex(target) | ir.OmitKeys(target) | ir.Filter(_, target):
            return _hint(target)
        case ir.Convert(target, to):
            return _hint(target) or to
        case ir.Default(target) | ir.Coalesce((target, *_)):
            return _hint(target)
        case ir.Template():
            return "text"
        case ir.Merge() | ir.ObjectLit():
            return "object"
        case ir.ListLit():
            return "items"
        case ir.Groups():
            return "groups"
        case ir.Jmes():
            return "search"
    return "test"
