"""Code generation: the IR becomes one self-contained Python module.

The module exposes `transform(event, reasons=None) -> list[dict]`. The work
is split by job: `plan` decides which values are shared and how rules are
tested, `expressions` and `rules` write the body of `transform` through the
`emitter`, `facts` answers questions about expressions, and `module`
assembles the file. Every value from the mapping enters the source through
`repr()` of a plain constant; every name is made by the emitter.
"""

from __future__ import annotations

from .. import ir
from .emitter import Emitter
from .expressions import ExpressionWriter
from .module import assemble
from .plan import make_plan
from .rules import RuleWriter


def generate(mapping: ir.Mapping) -> str:
    """The Python source of the module for a mapping."""
    defines = {define.name: define for define in mapping.defines}
    out = Emitter(depth=1)
    expressions = ExpressionWriter(out, defines)
    RuleWriter(out, expressions, make_plan(mapping), defines).transform_body(mapping)
    return assemble(mapping, out, expressions.uses_jmespath)
