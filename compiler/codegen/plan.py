"""The plan of a generated `transform`: which values are computed once per event
and when, and how the rules are tested.

- When every rule excludes every other (see `exclusive`), an event matches
  one rule at most: each rule returns its call at once.
- Otherwise the calls are collected in order; a rule that excludes every
  rule of the if/elif chain above it joins the chain.
- A value that an event may need twice is shared: a plain read of the event
  is done up front (it is cheap and cannot fail); anything else is computed
  where it is first needed, behind a `...` placeholder.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from .. import ir
from ..exclusive import Chain, one_rule_per_event, rule_test
from .facts import Defines, evaluated, may_raise


@dataclass(frozen=True)
class Shared:
    """A value computed once per event: up front (`eager`) or on first use."""

    expr: ir.Expr
    eager: bool


@dataclass(frozen=True)
class Plan:
    """How `transform` is laid out for one mapping."""

    one_rule_per_event: bool
    shared: tuple[Shared, ...]  # children before parents
    joins_chain: tuple[bool, ...]  # per rule: an `elif` of the rules above, if it can be


def make_plan(mapping: ir.Mapping) -> Plan:
    """Decide the layout of a mapping's `transform`."""
    defines = {define.name: define for define in mapping.defines}
    single = one_rule_per_event(mapping)
    return Plan(single, _shared(mapping, defines, single), _chains(mapping, defines, single))


def _shared(mapping: ir.Mapping, defines: Defines, single: bool) -> tuple[Shared, ...]:
    order: dict[ir.Expr, int] = {}

    def nodes_under(roots) -> set[ir.Expr]:
        found = set()
        for root in roots:
            for node in evaluated(root, defines):
                found.add(node)
                order.setdefault(node, len(order))
        return found

    uses: Counter = Counter()
    if single:
        # The conditions up to the matching rule run, then that rule's body only.
        in_bodies: set[ir.Expr] = set()
        for rule in mapping.rules:
            uses.update(nodes_under([] if rule.condition is None else [rule.condition]))
            in_bodies |= nodes_under(field.value for field in rule.fields)
        uses.update(node for node in in_bodies if node in uses)
    else:
        for rule in mapping.rules:
            condition = [] if rule.condition is None else [rule.condition]
            uses.update(nodes_under([*condition, *(field.value for field in rule.fields)]))
    shared = [
        node
        for node, count in uses.items()
        if count > 1 and not isinstance(node, (ir.Const, ir.Event)) and not may_raise(node, defines)
    ]
    # A shared define stands for its value: one pending name, not two.
    define_values = {defines[n.name].value for n in shared if isinstance(n, ir.DefineRef)}
    return tuple(
        Shared(node, ir.is_plain_read(node, defines))
        for node in sorted(shared, key=order.__getitem__)
        if node not in define_values
    )


def _chains(mapping: ir.Mapping, defines: Defines, single: bool) -> tuple[bool, ...]:
    joins: list[bool] = []
    chain = Chain()  # the tests of the if/elif chain above
    for rule in mapping.rules:
        test = rule_test(rule.condition, defines)
        if not chain.excluded_by(test):
            chain = Chain()
        # With one rule per event each rule returns: plain ifs read better.
        joins.append(not chain.empty and not single)
        if rule.condition is not None and test is not None:
            chain.add(test)
        else:
            chain = Chain()
    return tuple(joins)
