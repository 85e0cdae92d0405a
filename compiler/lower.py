"""Lowering: a schema-valid document becomes the typed IR.

This module walks the document (rules, values, operators, modifiers);
templates and JMESPath expressions are translated by `lower_jinja` and
`lower_jmespath`. Every problem becomes a diagnostic at its YAML node and,
where the parser tells, at the column inside the expression; lowering goes
on after one, so a file's problems are reported together.
"""

from __future__ import annotations

import json
import os
from typing import Any

from . import ir, language
from .errors import Diagnostic
from .loader import Document
from .lower_jinja import TemplateSyntaxError, lower_template
from .lower_jmespath import JmespathSyntaxError, lower_jmespath, name_offset
from .names import ExpressionError, Names
from .schema import mapping_source

_ORIGIN_WIDTH = 100


def lower(doc: Document) -> tuple[ir.Mapping, list[Diagnostic]]:
    """Lower a schema-valid document; returns the IR and the diagnostics found."""
    lowerer = _Lowerer(doc)
    return lowerer.mapping(), lowerer.diagnostics


def origin_text(node: Any) -> str:
    """A short, single-line rendering of a YAML value, for `explain`."""
    text = node if isinstance(node, str) else json.dumps(node, ensure_ascii=False)
    return text if len(text) <= _ORIGIN_WIDTH else text[: _ORIGIN_WIDTH - 3] + "..."


class _Lowerer:
    """Translates one document; collects every diagnostic instead of stopping at the first."""

    def __init__(self, doc: Document):
        self.doc = doc
        self.data = doc.data
        source, problems = mapping_source(doc)
        self.names = Names(
            source=source.name,
            defines=frozenset(self.data.get("define") or {}),
            fields=source.fields,
            events_schema=source.events_schema,
        )
        self.diagnostics: list[Diagnostic] = problems

    def error(
        self, path: tuple, message: str, hint: str | None, *, code: str, offset: int = 0
    ) -> None:
        self.diagnostics.append(self.doc.diagnostic(path, message, hint, offset=offset, code=code))

    def line(self, path: tuple) -> int:
        return self.doc.locate(path).line

    def mapping(self) -> ir.Mapping:
        """Lower the whole document."""
        defines = tuple(
            ir.Define(
                name,
                self.value(node, ("define", name)),
                origin_text(node),
                self.doc.key_line(("define", name)),
            )
            for name, node in (self.data.get("define") or {}).items()
        )
        rules = tuple(self.rule(node, ("rules", i)) for i, node in enumerate(self.data["rules"]))
        return ir.Mapping(
            name=self.data["name"],
            source=self.names.source,
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
            ir.EmitField(
                key,
                self.value(value, (*path, "emit", key)),
                origin_text(value),
                self.doc.key_line((*path, "emit", key)),
            )
            for key, value in emit.items()
            if key != "type"
        )
        required = (*language.REQUIRED_KEYS[call_type], *node.get("require", ()))
        when = node.get("when")
        return ir.Rule(
            name=node["name"],
            call_type=call_type,
            fields=fields,
            required=tuple(dict.fromkeys(required)),
            condition=None if when is None else self.jmespath(when, (*path, "when")),
            condition_text=when,
            description=node.get("description"),
            line=self.line(path),
        )

    # values ---------------------------------------------------------------

    def value(self, node: Any, path: tuple) -> ir.Expr:
        """Lower one value of the mapping language."""
        if isinstance(node, str):
            return self.template(node, path)
        if isinstance(node, list):
            items = tuple(self.value(item, (*path, i)) for i, item in enumerate(node))
            return ir.ListLit(items, line=self.line(path))
        if not isinstance(node, dict):
            return self.checked_constant(node, path)
        operator = next((key for key in language.OPERATORS if key in node), None)
        if operator is None:
            return self.object_literal(node, path)
        expr = self.operator(operator, node[operator], (*path, operator))
        return self.modifiers(expr, node, path)

    def operator(self, operator: str, arg: Any, path: tuple) -> ir.Expr:
        match operator:
            case "path":
                return self.jmespath(arg, path)
            case "literal":
                return self.checked_constant(arg, path)
            case "value":
                return self.value(arg, path)
            case "object":
                return self.object_literal(arg, path)
            case "groups":
                return self.groups(arg, path)
        items = tuple(self.value(item, (*path, i)) for i, item in enumerate(arg))
        kind = ir.Coalesce if operator == "coalesce" else ir.Merge
        return kind(items, line=self.line(path))

    def checked_constant(self, value: Any, path: tuple) -> ir.Expr:
        try:
            return ir.constant(value, self.line(path))
        except ir.ConstantError as exc:
            self.error(path, str(exc), None, code="AM207")
            return ir.Const(None)

    def modifiers(self, expr: ir.Expr, node: dict, path: tuple) -> ir.Expr:
        """Apply the modifiers of an operator mapping, in language.MODIFIERS order."""
        line = self.line(path)
        for modifier in language.MODIFIERS:
            if modifier not in node:
                continue
            if modifier == "omit_keys":
                expr = ir.OmitKeys(expr, _fewest_needles(node["omit_keys"]), line=line)
            elif modifier == "as":
                expr = ir.Convert(expr, node["as"], line=line)
            else:
                fallback = self.value(node["default"], (*path, "default"))
                expr = ir.Default(expr, fallback, line=line)
        return expr

    def object_literal(self, node: dict, path: tuple) -> ir.ObjectLit:
        items = tuple((key, self.value(value, (*path, key))) for key, value in node.items())
        return ir.ObjectLit(items, line=self.line(path))

    def groups(self, node: dict, path: tuple) -> ir.Groups:
        sort = node.get("sort") or {}
        return ir.Groups(
            ids=self.jmespath(node["ids"], (*path, "ids")),
            traits=self.jmespath(node["traits"], (*path, "traits")),
            by_type=sort.get("by", language.GROUP_SORT_KEYS[0]) == "groupType",
            descending=sort.get("order", language.GROUP_ORDERS[0]) == "descending",
            numeric=sort.get("compare", language.GROUP_COMPARES[0]) == "numeric",
            take=node.get("take"),
            type_trait=node.get("type_trait"),
            line=self.line(path),
        )

    # expressions ------------------------------------------------------------

    def template(self, text: str, path: tuple) -> ir.Expr:
        """Lower a template string; a problem becomes a diagnostic inside it."""
        try:
            return lower_template(text, self.names, self.line(path))
        except TemplateSyntaxError as exc:
            self.error(
                path, exc.message, None, code=exc.code, offset=_line_offset(text, exc.lineno)
            )
        except ExpressionError as exc:
            self.error(path, exc.message, exc.hint, code=exc.code, offset=exc.position(text))
        except ir.ConstantError as exc:
            self.error(path, str(exc), None, code="AM207")
        return ir.Const(None)

    def jmespath(self, text: str, path: tuple) -> ir.Expr:
        """Lower a JMESPath expression; each unknown field is a diagnostic of its own."""
        try:
            expr = lower_jmespath(text, self.line(path))
        except JmespathSyntaxError as exc:
            self.error(path, exc.message, None, code=exc.code, offset=exc.position)
            return ir.Const(None)
        except ExpressionError as exc:
            self.error(path, exc.message, exc.hint, code=exc.code, offset=exc.position(text))
            return ir.Const(None)
        except ir.ConstantError as exc:
            self.error(path, str(exc), None, code="AM207")
            return ir.Const(None)
        for field, hint in self.names.unknown_fields(expr):
            if field in self.names.defines:
                hint = "defines are names in templates; JMESPath reads the event only"
            message = f"'{field}' is not a field of {self.names.source} events"
            self.error(path, message, hint, code="AM203", offset=name_offset(text, field))
        return expr


def _fewest_needles(needles: list[str]) -> tuple[str, ...]:
    """Lower-cased needles without those that contain another ('geoip' goes when 'ip' is there)."""
    lowered = list(dict.fromkeys(needle.lower() for needle in needles))
    return tuple(
        needle
        for needle in lowered
        if not any(other != needle and other in needle for other in lowered)
    )


def _line_offset(text: str, lineno: int | None) -> int:
    """Character offset of a 1-based line inside a multi-line template."""
    offset = 0
    for _ in range((lineno or 1) - 1):
        offset = text.find("\n", offset) + 1
    return offset
