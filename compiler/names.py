"""What a bare name in a mapping refers to: a `define`, or a top-level field of
the source's events; unknown names get a did-you-mean hint."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from . import ir
from .language import MAX_NESTING


class ExpressionError(Exception):
    """A problem inside one expression; `needle` is the text it is about, if any."""

    def __init__(
        self,
        message: str,
        needle: str = "",
        hint: str | None = None,
        offset: int | None = None,
        *,
        code: str,
    ):
        super().__init__(message)
        self.message, self.needle, self.hint, self.code = message, needle, hint, code
        self.offset = offset  # where in the expression's text, when the translator knows

    def position(self, text: str) -> int:
        """The offset of the problem in `text`: known, else where the needle first appears."""
        if self.offset is not None:
            return self.offset
        return max(text.find(self.needle), 0) if self.needle else 0


def nested_too_deep() -> ExpressionError:
    """The problem of an expression nested deeper than the language allows."""
    return ExpressionError(
        f"the expression nests deeper than {MAX_NESTING} levels",
        hint="split it into defines, or use contains([...], x) for a long || chain",
        code="AM206",
    )


@dataclass(frozen=True)
class Names:
    """The names a mapping's expressions may use."""

    source: str
    defines: frozenset[str]
    fields: frozenset[str] | None  # None: any field (a source without a schema)
    events_schema: str | None = None  # the file the fields come from, for a source of one's own

    def resolve(self, name: str, line: int = 0) -> ir.Expr:
        """A define reference or a read of the event's field; ExpressionError if neither."""
        if name in self.defines:
            return ir.DefineRef(name, line=line)
        if self.fields is not None and name not in self.fields:
            raise ExpressionError(
                f"unknown name '{name}': not a define and not a field of {self.source} events",
                name,
                self.hint(name, self.defines | self.fields)
                or f"names are define: names or top-level fields of {self.source} events",
                code="AM202",
            )
        return ir.GetKey(ir.Event(), name, line=line)

    def unknown_fields(self, expr: ir.Expr) -> list[tuple[str, str]]:
        """(field, hint) for each top-level event field `expr` reads that the source lacks."""
        if self.fields is None:
            return []
        return [
            (node.key, self.hint(node.key, self.fields) or self.other_shapes)
            for node in ir.walk(expr)
            if isinstance(node, ir.GetKey)
            and node.target == ir.Event()
            and node.key not in self.fields
        ]

    @property
    def other_shapes(self) -> str:
        """The hint for a field that nothing known is close to."""
        if self.events_schema is not None:
            return f"the events schema '{self.events_schema}' lists no such field"
        return "use source: custom for other shapes"

    @staticmethod
    def hint(name: str, known) -> str | None:
        """'did you mean ...?' for the closest known name, if one is close."""
        close = difflib.get_close_matches(name, sorted(known), n=1)
        return f"did you mean '{close[0]}'?" if close else None
