"""Code generation: the IR becomes one self-contained Python module.

The module exposes `transform(event, reasons=None) -> list[dict]`. Each
rule is one `if` block that builds its call body in a dict literal. When
every rule excludes every other (see `exclusive`), a rule returns its call
at once; otherwise the calls are collected in order, values that several
rules use are computed once per event, and rules that exclude each other
form if/elif chains. Every
value from the mapping enters the source through `repr()` of a plain
constant; every name in the source is generated here from a counter or a
validated identifier. Helpers come from `runtime.py`, copied in as source.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from contextlib import contextmanager

from . import __version__, ir, runtime
from .exclusive import excludes, one_rule_per_event, rule_test

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,40}")
_INDENT = "    "

_CONVERTERS = {
    "string": "to_text",
    "number": "to_number",
    "integer": "to_integer",
    "boolean": "to_boolean",
    "timestamp": "to_timestamp",
}
_FILTER_HELPERS = {
    "lower": "f_lower",
    "upper": "f_upper",
    "trim": "f_trim",
    "title": "f_title",
    "capitalize": "f_capitalize",
    "string": "to_text",
    "int": "to_integer",
    "float": "to_number",
    "length": "f_length",
    "first": "f_first",
    "last": "f_last",
}
_ORDERINGS = {"lt": "jp_lt", "le": "jp_le", "gt": "jp_gt", "ge": "jp_ge"}
_TEXT_FILTERS = {"lower", "upper", "trim", "title", "capitalize", "replace", "string", "join"}


def _is_string_valued(expr: ir.Expr) -> bool:
    """True when the expression is always a str or None."""
    match expr:
        case ir.Const(value):
            return value is None or isinstance(value, str)
        case ir.Template() | ir.Convert(to="string" | "timestamp"):
            return True
        case ir.Filter(name):
            return name in _TEXT_FILTERS
    return False


def never_missing(expr: ir.Expr, defines: dict | None = None) -> bool:
    """True when the expression can never evaluate to None."""
    match expr:
        case ir.DefineRef(name) if defines:
            return never_missing(defines[name].value, defines)
        case ir.Const(value):
            return value is not None
        case ir.Event() | ir.Merge() | ir.ListLit() | ir.Not() | ir.Call():
            return True
        case ir.ObjectLit(items):
            return not items or any(never_missing(value, defines) for _, value in items)
        case ir.Compare(op):
            return op in ("eq", "ne")
        case ir.Coalesce(items):
            return any(never_missing(item, defines) for item in items)
        case ir.Default(_, fallback) | ir.Filter("default", _, (fallback, *_)):
            return never_missing(fallback, defines)
    return False


def _is_boolean(expr: ir.Expr) -> bool:
    match expr:
        case ir.Compare() | ir.Not() | ir.Call():
            return True
        case ir.And(left, right) | ir.Or(left, right):
            return _is_boolean(left) and _is_boolean(right)
    return False


class ModuleWriter:
    """Writes the source of one generated module for one mapping."""

    def __init__(self, mapping: ir.Mapping):
        self.mapping = mapping
        self.defines = {define.name: define for define in mapping.defines}
        self.lines: list[str] = []
        self.depth = 1
        self.scopes: list[dict[ir.Expr, str]] = [{}]
        self.helpers: set[str] = {"RejectEvent", "_jp_type"}
        self.constants: dict[str, str] = {}  # source text -> module-level name
        self.temps = itertools.count(1)
        self.uses_jmespath = False
        self.lazy: dict[ir.Expr, str] = {}  # shared values computed on first use
        # Each rule returns its call at once when no other rule can fire as well.
        self.one_rule_per_event = one_rule_per_event(mapping)

    # lines and scopes -----------------------------------------------------

    def emit(self, text: str) -> None:
        self.lines.append(_INDENT * self.depth + text if text else "")

    def never_missing(self, expr: ir.Expr) -> bool:
        """True when the expression can never evaluate to None."""
        return never_missing(expr, self.defines)

    @contextmanager
    def block(self, header: str):
        """An indented block with its own scope of computed values."""
        self.emit(header)
        self.depth += 1
        self.scopes.append({})
        start = len(self.lines)
        try:
            yield
        finally:
            if len(self.lines) == start:
                self.emit("pass")
            self.scopes.pop()
            self.depth -= 1

    @contextmanager
    def captured(self):
        """Generate into a nested scope one level deeper; yields the list the lines go to."""
        saved, self.lines = self.lines, []
        self.depth += 1
        self.scopes.append({})
        try:
            yield self.lines
        finally:
            self.scopes.pop()
            self.depth -= 1
            self.lines = saved

    def lookup(self, expr: ir.Expr) -> str | None:
        for scope in reversed(self.scopes):
            if expr in scope:
                return scope[expr]
        return None

    def temp(self, hint: str | None = None) -> str:
        number = next(self.temps)
        if hint is not None and _IDENTIFIER.fullmatch(hint):
            return f"{hint}_{number}"
        return f"t{number}"

    def helper(self, name: str) -> str:
        self.helpers.add(name)
        return name

    def constant(self, source: str, prefix: str = "_C") -> str:
        if source not in self.constants:
            self.constants[source] = f"{prefix}{len(self.constants) + 1}"
        return self.constants[source]

    # expressions ----------------------------------------------------------

    def atom(self, expr: ir.Expr, name: str | None = None) -> str:
        """A local name (or a literal) holding the expression's value, computed once per scope."""
        cached = self.lookup(expr)
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
            name = f"e_{expr.key}" if _IDENTIFIER.fullmatch(expr.key) else None
        text = self.value(expr)
        if _IDENTIFIER.fullmatch(text) and text not in ("None", "True", "False"):
            self.scopes[-1][expr] = text
            return text
        variable = name if name is not None and _IDENTIFIER.fullmatch(name) else self.temp()
        self.emit(f"{variable} = {text}")
        self.scopes[-1][expr] = variable
        return variable

    def value(self, expr: ir.Expr) -> str:
        """Python source evaluating the expression (statements it needs are emitted first)."""
        cached = self.lookup(expr)
        if cached is not None:
            return cached
        if expr in self.lazy:
            return self.first_use(expr)
        method = getattr(self, "value_" + type(expr).__name__)
        return method(expr)

    def first_use(self, expr: ir.Expr) -> str:
        """`if name is ...: name = <value>`: a shared value, computed where first needed."""
        name = self.lazy[expr]
        with self.captured() as lines:
            method = getattr(self, "value_" + type(expr).__name__)
            text = method(expr)
        self.emit(f"if {name} is ...:")
        self.lines.extend(lines)
        self.emit(f"{_INDENT}{name} = {text}")
        self.scopes[-1][expr] = name
        return name

    def operand(self, expr: ir.Expr) -> str:
        """One operand of several: one that may reject the event becomes a statement, so
        operands are evaluated (and fail) in order, as in the interpreter."""
        return self.atom(expr) if self.may_raise(expr) else self.value(expr)

    def value_Const(self, expr: ir.Const) -> str:
        return repr(expr.value)

    def value_Event(self, expr: ir.Event) -> str:
        return "event"

    def value_DefineRef(self, expr: ir.DefineRef) -> str:
        return self.value(self.defines[expr.name].value)

    def value_GetKey(self, expr: ir.GetKey) -> str:
        if expr.target == ir.Event():
            return f"event.get({expr.key!r})"
        target = self.atom(expr.target)
        return f"({target}.get({expr.key!r}) if {target}.__class__ is dict else None)"

    def value_GetIndex(self, expr: ir.GetIndex) -> str:
        return f"{self.helper('jp_index')}({self.value(expr.target)}, {expr.index!r})"

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

    def text_atom(self, expr: ir.Expr) -> str:
        """A name holding the expression written as text (None when missing)."""
        value = self.atom(expr)
        if _is_string_valued(expr):
            return value
        text = self.temp()
        self.emit(f"{text} = {value} if {value}.__class__ is str else {self.helper('to_text')}({value})")
        return text

    def value_Filter(self, expr: ir.Filter) -> str:
        if expr.name == "default":
            replace_empty = len(expr.args) == 2 and expr.args[1].value is True
            return self.lazy_fallback(expr.target, expr.args[0], replace_empty)
        target = self.value(expr.target)
        if expr.name in ("replace", "join"):
            # join's separator defaults to "" (as in Jinja and the interpreter).
            given = expr.args or ((ir.Const(""),) if expr.name == "join" else ())
            args = "".join(f", {self.value(arg)}" for arg in given)
            return f"{self.helper('f_' + expr.name)}({target}{args})"
        return f"{self.helper(_FILTER_HELPERS[expr.name])}({target})"

    def value_Default(self, expr: ir.Default) -> str:
        return self.lazy_fallback(expr.target, expr.fallback, False)

    def value_Coalesce(self, expr: ir.Coalesce) -> str:
        first, *rest = expr.items
        if not rest:
            return self.value(first)
        return self.lazy_fallback(first, ir.Coalesce(tuple(rest)), False)

    def lazy_fallback(self, primary: ir.Expr, fallback: ir.Expr, replace_empty: bool) -> str:
        """`primary` unless it is missing (or empty), else `fallback`, evaluated only then."""
        if isinstance(primary, ir.Const):  # decided now
            present = primary.value is not None and not (replace_empty and primary.value == "")
            return self.value(primary if present else fallback)
        value = self.atom(primary)

        def is_missing(name: str) -> str:
            return f"{name} is None or {name} == ''" if replace_empty else f"{name} is None"

        with self.captured() as lines:
            alternative = self.value(fallback)
        if not lines:
            return f"({alternative} if {is_missing(value)} else {value})"
        result = self.temp()
        self.emit(f"{result} = {value}")
        self.emit(f"if {is_missing(result)}:")
        self.lines.extend(lines)
        self.emit(f"{_INDENT}{result} = {alternative}")
        return result

    def value_Merge(self, expr: ir.Merge, needles: tuple[str, ...] = ()) -> str:
        """The merged object; with `needles`, without the keys `omit_keys` would drop."""
        result = self.temp()
        first, *rest = expr.items
        if isinstance(first, ir.ObjectLit):
            self.build_object(result, [kv for kv in first.items if not _omitted(kv[0], needles)])
        else:
            self.emit(f"{result} = {{}}")
            rest.insert(0, first)
        spread = None  # the object laid over the result just before, if any
        for item in rest:
            if isinstance(item, ir.ObjectLit):
                # `k: X.k` right after X itself sets what X has just set: skipped.
                self.assign_keys(result, [
                    (key, value) for key, value in item.items
                    if not _omitted(key, needles)
                    and (spread is None or value != ir.GetKey(spread, key))
                ])
            elif needles:
                self.emit(f"{self.helper('omit_into')}({result}, {self.atom(item)}, {needles!r}, True)")
            else:
                self.emit(f"{self.helper('merge_into')}({result}, {self.atom(item)})")
            spread = None if isinstance(item, ir.ObjectLit) else item
        return result

    def value_ObjectLit(self, expr: ir.ObjectLit) -> str:
        result = self.temp()
        self.build_object(result, expr.items)
        if not self.never_missing(expr):
            # An object none of whose values is present is itself missing.
            self.emit(f"if not {result}:")
            self.emit(f"{_INDENT}{result} = None")
        return result

    def build_object(self, result: str, items: tuple) -> None:
        """`result = {...}` with the leading keys that are always present, then the others."""
        leading = list(itertools.takewhile(lambda kv: self.never_missing(kv[1]), items))
        values = [self.operand(value) for _, value in leading]
        literal = ", ".join(f"{key!r}: {value}" for (key, _), value in zip(leading, values))
        self.emit(f"{result} = {{{literal}}}")
        self.assign_keys(result, items[len(leading):])

    def assign_keys(self, result: str, items) -> None:
        for key, value in items:
            if self.never_missing(value):
                self.emit(f"{result}[{key!r}] = {self.value(value)}")
            else:
                name = self.atom(value)
                self.emit(f"if {name} is not None:")
                self.emit(f"{_INDENT}{result}[{key!r}] = {name}")

    def value_ListLit(self, expr: ir.ListLit) -> str:
        values = [self.operand(item) for item in expr.items]
        if all(self.never_missing(item) for item in expr.items):
            return f"[{', '.join(values)}]"
        return f"[item for item in ({''.join(v + ', ' for v in values)}) if item is not None]"

    def value_Groups(self, expr: ir.Groups) -> str:
        ids, traits = self.operand(expr.ids), self.operand(expr.traits)
        if expr.take == 1 and not (expr.by_type or expr.descending or expr.numeric):
            return f"{self.helper('first_group')}({ids}, {traits}, {expr.type_trait!r})"
        options = (expr.by_type, expr.descending, expr.numeric, expr.take, expr.type_trait)
        arguments = ", ".join(repr(option) for option in options)
        return f"{self.helper('select_groups')}({ids}, {traits}, {arguments})"

    def value_Convert(self, expr: ir.Convert) -> str:
        return f"{self.helper(_CONVERTERS[expr.to])}({self.value(expr.target)})"

    def value_OmitKeys(self, expr: ir.OmitKeys) -> str:
        if self.omits_in_passing(expr):  # one pass, not a merge and then a filtered copy
            return self.value_Merge(expr.target, expr.needles)
        return f"{self.helper('omit_keys')}({self.value(expr.target)}, {expr.needles!r})"

    def omits_in_passing(self, expr: ir.OmitKeys) -> bool:
        """True when the merge under `omit_keys` can leave keys out as it builds the
        object: no literal value it leaves out (and so never evaluates) could reject
        the event."""
        if not isinstance(expr.target, ir.Merge):
            return False
        return not any(
            self.may_raise(value)
            for item in expr.target.items if isinstance(item, ir.ObjectLit)
            for key, value in item.items if _omitted(key, expr.needles)
        )

    def value_Compare(self, expr: ir.Compare) -> str:
        if isinstance(expr.left, ir.Const) and isinstance(expr.right, ir.Const):  # decided now
            compare = ir.COMPARISONS[expr.op]
            return repr(compare(expr.left.value, expr.right.value))
        if expr.op in _ORDERINGS:
            left, right = self.operand(expr.left), self.operand(expr.right)
            return f"{self.helper(_ORDERINGS[expr.op])}({left}, {right})"
        equal = self.equality(expr.left, expr.right) or self.equality(expr.right, expr.left)
        if equal is None:
            left, right = self.operand(expr.left), self.operand(expr.right)
            equal = f"{self.helper('jp_eq')}({left}, {right})"
        return equal if expr.op == "eq" else f"(not {equal})"

    def equality(self, subject: ir.Expr, constant: ir.Expr) -> str | None:
        """Plain Python equality when comparing with a constant makes it exact."""
        if not isinstance(constant, ir.Const):
            return None
        value = constant.value
        if value is None or isinstance(value, bool):
            return f"({self.value(subject)} is {value!r})"
        if isinstance(value, str) or (isinstance(value, (int, float)) and value not in (0, 1)):
            return f"({self.value(subject)} == {value!r})"
        return None

    def value_And(self, expr: ir.And) -> str:
        return self.short_circuit(expr.left, expr.right, take_right_when_true=True)

    def value_Or(self, expr: ir.Or) -> str:
        return self.short_circuit(expr.left, expr.right, take_right_when_true=False)

    def short_circuit(self, left: ir.Expr, right: ir.Expr, take_right_when_true: bool) -> str:
        both_boolean = _is_boolean(left) and _is_boolean(right)
        value = self.value(left) if both_boolean else self.atom(left)
        with self.captured() as lines:
            alternative = self.value(right)
        if not lines:
            if both_boolean:  # Python's and/or mean the same on bools
                return f"({value} {'and' if take_right_when_true else 'or'} {alternative})"
            return f"({alternative} if {self.take_right(left, value, take_right_when_true)} else {value})"
        result = self.temp()
        self.emit(f"{result} = {value}")
        self.emit(f"if {self.take_right(left, result, take_right_when_true)}:")
        self.lines.extend(lines)
        self.emit(f"{_INDENT}{result} = {alternative}")
        return result

    def take_right(self, left: ir.Expr, name: str, when_true: bool) -> str:
        """The test that selects the right operand of && (when_true) or ||."""
        test = name if _is_boolean(left) else f"{self.helper('truthy')}({name})"
        return test if when_true else f"not {test}"

    def value_Not(self, expr: ir.Not) -> str:
        return f"(not {self.condition(expr.target)})"

    def condition(self, expr: ir.Expr) -> str:
        """Python source that is true exactly when the expression is JMESPath-true."""
        text = self.value(expr)
        if _is_boolean(expr) or (isinstance(expr, ir.Compare)):
            return text
        return f"{self.helper('truthy')}({text})"

    def value_Call(self, expr: ir.Call) -> str:
        first, second = expr.args
        if expr.name == "contains" and _is_string_list(first):
            return f"({self.value(second)} in {self.constant(repr(tuple(first.value)))})"
        helper = self.helper("jp_" + expr.name)
        if expr.name != "contains" and isinstance(second, ir.Const) and isinstance(second.value, str):
            subject = self.atom(first)
            method = "startswith" if expr.name == "starts_with" else "endswith"
            return (
                f"({subject}.{method}({second.value!r}) if {subject}.__class__ is str "
                f"else {helper}({subject}, {second.value!r}))"
            )
        return f"{helper}({self.operand(first)}, {self.operand(second)})"

    def value_Jmes(self, expr: ir.Jmes) -> str:
        self.uses_jmespath = True
        name = self.constant(f"jmespath.compile({expr.text!r})", prefix="_JMESPATH_")
        return f"{self.helper('jp_search')}({name}, event)"

    # rules ----------------------------------------------------------------

    def shared_values(self) -> None:
        """Compute, once per event, every value that an event may need twice."""
        order: dict[ir.Expr, int] = {}

        def nodes_under(roots) -> set[ir.Expr]:
            found = set()
            for root in roots:
                for node in self.postorder(root):
                    found.add(node)
                    order.setdefault(node, len(order))
            return found

        uses: Counter = Counter()
        if self.one_rule_per_event:
            # The conditions up to the matching rule run, then that rule's body only.
            in_bodies: set[ir.Expr] = set()
            for rule in self.mapping.rules:
                uses.update(nodes_under([] if rule.condition is None else [rule.condition]))
                in_bodies |= nodes_under(field.value for field in rule.fields)
            uses.update(node for node in in_bodies if node in uses)
        else:
            for rule in self.mapping.rules:
                uses.update(nodes_under(self.rule_roots(rule)))
        shared = [
            node for node, count in uses.items()
            if count > 1 and not isinstance(node, (ir.Const, ir.Event)) and not self.may_raise(node)
        ]
        # A shared define stands for its value: one pending name, not two.
        shared_defines = {self.defines[n.name].value for n in shared if isinstance(n, ir.DefineRef)}
        shared = [node for node in shared if node not in shared_defines]
        if shared:
            self.emit("# Values used by several rules: reads now, the rest on first use (...).")
        # Children before parents, so each parent reuses its children's names.
        for node in sorted(shared, key=order.__getitem__):
            if ir.is_plain_read(node, self.defines):  # cheap enough to do up front
                self.atom(node)
            else:
                name = f"v_{node.name}" if isinstance(node, ir.DefineRef) else self.temp()
                self.lazy[node] = name
                self.emit(f"{name} = ...")

    def rule_roots(self, rule: ir.Rule) -> list[ir.Expr]:
        roots = [field.value for field in rule.fields]
        return roots if rule.condition is None else [rule.condition, *roots]

    def postorder(self, expr: ir.Expr):
        """Every node under `expr`, children first, looking through define references."""
        below = (self.defines[expr.name].value,) if isinstance(expr, ir.DefineRef) else ir.children(expr)
        for child in below:
            yield from self.postorder(child)
        yield expr

    def may_raise(self, expr: ir.Expr) -> bool:
        """True when evaluating the expression can reject the event (JMESPath type errors)."""
        return any(isinstance(node, (ir.Call, ir.Jmes)) for node in self.postorder(expr))

    def rule(self, rule: ir.Rule, as_elif: bool = False) -> bool:
        """Emit one rule, as an `elif` of the one before if asked and possible.
        True when the rule has a condition (a later rule may chain to it)."""
        self.emit("")
        self.emit(f"# rule {rule.name!r}: {rule.call_type} call")
        if rule.description:
            self.emit(f"# {rule.description!r}")
        if rule.condition is None:
            self.rule_body(rule)
            return False
        self.emit(f"# when: {rule.condition_text!r}")
        start = len(self.lines)
        condition = self.condition(rule.condition)
        # An elif must follow its if directly: only when the test needed no statements.
        chained = as_elif and all(not line.strip() or line.lstrip().startswith("#")
                                    for line in self.lines[start:])
        with self.block(f"{'elif' if chained else 'if'} {condition}:"):
            self.rule_body(rule)
        return True

    def rules(self) -> None:
        """All rules in order. A rule that excludes every rule of the if/elif chain
        above it joins the chain, so an event stops at the rule it matches."""
        chain: list = []
        for rule in self.mapping.rules:
            test = rule_test(rule.condition, self.defines)
            if not all(excludes(test, other) for other in chain):
                chain = []
            # With one rule per event, each rule returns: plain ifs read better.
            in_chain = bool(chain) and not self.one_rule_per_event
            has_condition = self.rule(rule, in_chain)
            chain = [*chain, test] if has_condition and test is not None else []

    def rule_body(self, rule: ir.Rule) -> None:
        required = [f for f in rule.fields if f.key in rule.required]
        names = {f.key: self.atom(f.value, name=f"x_{f.key}") for f in required}
        checks = [
            f"{names[f.key]} is None"
            if self.text_or_missing(f.value) and ir.KEY_TYPES.get(f.key) is str
            else _rejects(f.key, names[f.key], required=True)
            for f in required
            if not self.always_accepted(f.key, f.value, required=True)
        ]
        if not checks:
            self.emit_payload(rule, names)
            return
        pairs = ", ".join(f"({key!r}, {name})" for key, name in names.items())
        with self.block(f"if {' or '.join(checks)}:"):
            self.emit("if reasons is not None:")
            self.emit(
                f"{_INDENT}reasons.append(({rule.name!r}, tuple(key for key, value in ({pairs},) "
                f"if not {self.helper('accepts')}(key, value))))"
            )
            if self.one_rule_per_event:
                self.emit("return []")
        if self.one_rule_per_event:
            self.emit_payload(rule, names)
            return
        with self.block("else:"):
            self.emit_payload(rule, names)

    def text_or_missing(self, expr: ir.Expr) -> bool:
        """True when the value is a non-empty string or None (a timestamp, 'Page Viewed ...')."""
        expr = ir.resolved(expr, self.defines)
        if isinstance(expr, ir.Convert):
            return expr.to == "timestamp"
        return isinstance(expr, ir.Template) and any(isinstance(p, str) and p for p in expr.parts)

    def always_accepted(self, key: str, expr: ir.Expr, required: bool) -> bool:
        """True when a call body always accepts the value under this key."""
        if isinstance(expr, ir.Const):
            return ir.accepts(key, expr.value, required)
        expected = ir.KEY_TYPES.get(key)
        if expected is None:
            return not required and self.never_missing(expr)
        if expected is dict:
            if isinstance(expr, ir.OmitKeys):  # an object stays one when keys are dropped
                expr = expr.target
            return isinstance(expr, ir.Merge) or (
                isinstance(expr, ir.ObjectLit) and self.never_missing(expr)
            )
        return expected is list and isinstance(expr, ir.ListLit)

    def emit_payload(self, rule: ir.Rule, names: dict[str, str]) -> None:
        """Build the call body: checked required keys and always-valid values first, in order."""
        items = [(f.key, f.value) for f in rule.fields if f.value != ir.Const(None)]
        leading = list(itertools.takewhile(
            lambda kv: kv[0] in names or self.always_accepted(kv[0], kv[1], False), items
        ))
        values = [self.operand(value) for _, value in leading]
        literal = "".join(f", {key!r}: {value}" for (key, _), value in zip(leading, values))
        self.emit(f"body = {{'type': {rule.call_type!r}{literal}}}")
        for key, value in items[len(leading):]:
            if key in names or self.always_accepted(key, value, False):
                self.emit(f"body[{key!r}] = {self.value(value)}")
                continue
            literal = self.fresh_object(key, value)
            if literal is not None:
                # An object literal is missing exactly when it comes out empty.
                name = f"v_{value.name}" if isinstance(value, ir.DefineRef) else self.temp()
                self.build_object(name, literal.items)
                self.emit(f"if {name}:")
            else:
                name = self.atom(value)
                self.emit(f"if {_accepts(key, name)}:")
            self.emit(f"{_INDENT}body[{key!r}] = {name}")
        self.emit("return [body]" if self.one_rule_per_event else "out.append(body)")

    def fresh_object(self, key: str, value: ir.Expr) -> ir.ObjectLit | None:
        """The object literal `value` stands for, when it is built here (not computed
        before, not shared) under a key that takes any object."""
        if ir.KEY_TYPES.get(key, dict) is not dict or self.lookup(value) or value in self.lazy:
            return None
        value = ir.resolved(value, self.defines)
        return value if isinstance(value, ir.ObjectLit) else None

    def transform(self) -> list[str]:
        self.emit("if event.__class__ is not dict:")
        self.emit(f"{_INDENT}raise RejectEvent('the event is not a JSON object (got ' + _jp_type(event) + ')')")
        if not self.one_rule_per_event:
            self.emit("out = []")
        self.shared_values()
        self.rules()
        if not self.one_rule_per_event:
            self.emit("return out")
        elif self.mapping.rules[-1].condition is not None:  # else its body has returned
            self.emit("return []")
        return self.lines

    # module ---------------------------------------------------------------

    def module(self) -> str:
        """The complete module source."""
        body = self.transform()
        mapping = self.mapping
        parts = [
            f"# Generated by accoil-map {__version__} from {mapping.source_file!r}. Do not edit:",
            "# change the mapping and compile it again.",
            f"# mapping: {mapping.name!r} (source: {mapping.source!r})",
            f"# sha256 of the mapping file: {mapping.sha256}",
            '"""Accoil call bodies from source events, as compiled from one accoil-map mapping."""',
            "",
        ]
        if self.uses_jmespath:
            parts.append("import jmespath")
        helpers = runtime.emit_source(sorted(self.helpers))
        parts += [helpers.strip(), "", ""]
        parts += [
            f"MAPPING_NAME = {mapping.name!r}",
            f"MAPPING_SOURCE = {mapping.source!r}",
            f"MAPPING_FILE = {mapping.source_file!r}",
            f"MAPPING_SHA256 = {mapping.sha256!r}",
            f"COMPILER_VERSION = {__version__!r}",
            f"RULE_NAMES = {tuple(rule.name for rule in mapping.rules)!r}",
        ]
        parts += [f"{name} = {source}" for source, name in self.constants.items()]
        parts += [
            "",
            "",
            "def transform(event, reasons=None):",
            '    """Return the Accoil call bodies for one event, in rule order.',
            "",
            "    When `reasons` is a list, append (rule name, missing keys) for each rule whose",
            "    condition held but whose call lacked a required key. Raises RejectEvent on",
            "    event data that cannot be read (not an object, a JMESPath type error).",
            '    """',
            *body,
        ]
        return "\n".join(parts) + "\n"


def _rejects(key: str, name: str, required: bool) -> str:
    """Python test: the value in `name` cannot go under `key` (see ir.accepts)."""
    expected = ir.KEY_TYPES.get(key)
    if expected is None:
        return f"{name} is None or {name} == ''" if required else f"{name} is None"
    empty = f" or {name} == ''" if expected is str else ""
    return f"{name}.__class__ is not {expected.__name__}{empty}"


def _accepts(key: str, name: str) -> str:
    """Python test: an optional value in `name` can go under `key`."""
    expected = ir.KEY_TYPES.get(key)
    if expected is None:
        return f"{name} is not None"
    empty = f" and {name} != ''" if expected is str else ""
    return f"{name}.__class__ is {expected.__name__}{empty}"


def _omitted(key: str, needles: tuple[str, ...]) -> bool:
    """True when `omit_keys` with these needles drops the key."""
    return bool(needles) and not runtime.omit_keys({key: True}, needles)


def _is_string_list(expr: ir.Expr) -> bool:
    return (
        isinstance(expr, ir.Const)
        and isinstance(expr.value, list)
        and all(isinstance(item, str) for item in expr.value)
    )


def generate(mapping: ir.Mapping) -> str:
    """The Python source of the module for a mapping."""
    return ModuleWriter(mapping).module()
