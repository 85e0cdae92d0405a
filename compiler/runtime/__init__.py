"""Run-time helpers of generated modules and of the reference interpreter.

Each module holds the helpers of one job. Every top-level function, class
and constant in them is a helper: the code generator copies the source of
the helpers a mapping needs into the generated module (see
`accoil_map.helpers`), so a generated module depends on nothing but the
standard library; the reference interpreter imports them.

Rules for code in these modules:

- only the standard library, other helpers, and tables of
  `accoil_map.language` (a constant bound to one is written into generated
  modules as a literal);
- helpers never raise on bad event data, except `RejectEvent` where the
  mapping language says a JMESPath type error rejects the event;
- they run per event: the common case is tested first with `v.__class__ is
  str` style checks; regular expressions are linear (no nested quantifiers)
  and only ASCII digits count as digits (`[0-9]`, never `\\d`);
- a comment right above a helper travels with it into generated modules.

`None` means missing everywhere: absent and null are the same.
"""

from . import contract, conversions, filters, groups, jmes, objects
from .jmes import RejectEvent

#: The helper modules, in the order their helpers appear in generated modules.
MODULES = (jmes, conversions, filters, objects, groups, contract)

__all__ = ["MODULES", "RejectEvent"]
