"""Object-literal keys one edit away from an operator or modifier: likely typos, so warnings.

`{pth: user_id}` is valid: with no operator key, a mapping is an object
literal, here `{"pth": "user_id"}`. Nothing fails, the payload is just wrong,
so `validate` warns about every object-literal key one edit (a letter left
out, added, changed, or two neighbours swapped) away from an operator or
modifier. The same patterns are in the schema (`$defs/objectLiteral`,
`patternProperties`), where editors show them as warnings too.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from .errors import Diagnostic
from .language import MODIFIERS, OPERATORS
from .loader import Document

#: The words a key is compared with. `as` is left out: the keys one edit away
#: from it are the one- to three-letter words (`a`, `at`, `is`, `has`) that
#: object literals really use, and a misspelt `as` beside an operator is
#: already an error.
CHECKED: tuple[str, ...] = tuple(word for word in (*OPERATORS, *MODIFIERS) if len(word) > 2)

# The operators whose argument holds values, and the key it sits under.
_VALUE_ARGUMENTS = ("coalesce", "merge", "value")


def near_miss_pattern(word: str) -> str:
    """A regular expression matching the strings one edit away from `word` (and `word` itself).

    The same text is valid in Python and in JavaScript, so the schema can carry it.
    """
    variants = []
    for i in range(len(word) + 1):
        head, tail = re.escape(word[:i]), re.escape(word[i:])
        variants.append(f"{head}.{tail}")  # one letter added
        if i < len(word):
            rest = re.escape(word[i + 1 :])
            variants.append(f"{head}{rest}")  # one letter left out
            variants.append(f"{head}.{rest}")  # one letter changed
        if i < len(word) - 1:
            swapped = re.escape(word[i + 1] + word[i] + word[i + 2 :])
            variants.append(f"{head}{swapped}")  # two neighbours swapped
    return f"^(?:{'|'.join(dict.fromkeys(variants))})$"


#: word -> compiled pattern; the schema's patternProperties hold the same texts.
PATTERNS: dict[str, re.Pattern[str]] = {
    word: re.compile(near_miss_pattern(word)) for word in CHECKED
}


def near_miss(key: str) -> str | None:
    """The operator or modifier `key` is one edit away from, or None."""
    return next(
        (word for word, pattern in PATTERNS.items() if key != word and pattern.fullmatch(key)),
        None,
    )


def near_operator_keys(doc: Document) -> list[Diagnostic]:
    """A warning for each object-literal key one edit away from an operator or modifier."""
    found = []
    for literal, path in _object_literals_of(doc.data):
        for key in literal:
            word = near_miss(key)
            if word is None:
                continue
            kind = "modifier" if word in MODIFIERS else "operator"
            found.append(
                doc.diagnostic(
                    (*path, key),
                    f"'{key}' makes this mapping an object literal; "
                    f"did you mean the {kind} '{word}'?",
                    f"write '{word}', or {{object: {{{key}: ...}}}} to keep the key",
                    at_key=True,
                    severity="warning",
                    code="AM190",
                )
            )
    return found


def _object_literals_of(data: dict) -> Iterator[tuple[dict, tuple]]:
    """Every object literal in a schema-valid mapping, with its path."""
    for name, value in (data.get("define") or {}).items():
        yield from _object_literals(value, ("define", name))
    for index, rule in enumerate(data["rules"]):
        for key, value in rule["emit"].items():
            if key != "type":
                yield from _object_literals(value, ("rules", index, "emit", key))


def _object_literals(node: Any, path: tuple) -> Iterator[tuple[dict, tuple]]:
    if isinstance(node, list):
        for index, item in enumerate(node):
            yield from _object_literals(item, (*path, index))
        return
    if not isinstance(node, dict):
        return
    # The first operator present decides, as in lowering.
    operator = next((key for key in OPERATORS if key in node), None)
    if operator is None:
        yield node, path
    for steps, child in _children(node, operator):
        yield from _object_literals(child, (*path, *steps))


def _children(node: dict, operator: str | None) -> list[tuple[tuple, Any]]:
    """The values inside a mapping value, each with the path steps to it."""
    if operator is None:
        return [((key,), value) for key, value in node.items()]
    children = [(("default",), node["default"])] if "default" in node else []
    if operator in _VALUE_ARGUMENTS:
        children.append(((operator,), node[operator]))
    elif operator == "object":  # its keys are free by design; its values are values
        children += [(("object", key), value) for key, value in node["object"].items()]
    return children  # path, groups and literal hold no values
