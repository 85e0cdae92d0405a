"""accoil_map.codegen.layout lays statements out exactly as the pinned ruff formats them.

Each check prints many statements, writes them into one file (each statement nested in
enough `if True:` blocks to stand at its indentation, after a `# case N` comment that ruff
keeps), runs `ruff format` once over that file and compares every case's lines with ruff's.
"""

from __future__ import annotations

import ast
import keyword
import re
import subprocess
import textwrap
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accoil_map.codegen.layout import format_statement, literal
from tests.conftest import ROOT, venv_tool

RUFF = venv_tool("ruff")
GOLDEN_MODULES = sorted(ROOT.glob("golden/*/generated/module.py"))
# The lines a clause header needs before and after it to be valid code.
CLAUSE_CONTEXT = {
    "if": ([], ["    pass"]),
    "elif": (["if x:", "    pass"], ["    pass"]),
    "else": (["if x:", "    pass"], ["    pass"]),
    "try": ([], ["    pass", "except E:", "    pass"]),
    "except": (["try:", "    pass"], ["    pass"]),
}


@dataclass(frozen=True)
class Case:
    """A statement (or clause header) to print at an indentation."""

    source: str
    indent: int


def ruff_format(text: str, width: int) -> str:
    assert RUFF is not None, "ruff is part of the test environment (requirements/test.txt)"
    result = subprocess.run(
        [RUFF, "format", "--isolated", "--target-version", "py311", f"--line-length={width}", "-"],
        input=text,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def clause_context(source: str) -> tuple[list[str], list[str]]:
    keyword = re.match(r"\w*", source).group()
    if source.endswith(":") and keyword in CLAUSE_CONTEXT:
        return CLAUSE_CONTEXT[keyword]
    return [], []


def surroundings(case: Case) -> tuple[list[str], list[str]]:
    """The lines before and after a case that make it valid code at its indentation."""
    pad = "    " * case.indent
    before, after = clause_context(case.source)
    blocks = ["    " * level + "if True:" for level in range(case.indent)]
    return blocks + [pad + line for line in before], [pad + line for line in after]


def ruff_layouts(cases: list[Case], lines: list[list[str]], width: int) -> list[list[str]]:
    """What `ruff format` makes of each case's lines, formatting them all in one file."""
    blocks = []
    for number, (case, case_lines) in enumerate(zip(cases, lines, strict=True)):
        before, after = surroundings(case)
        blocks.append("\n".join([f"# case {number}", *before, *case_lines, *after]))
    # The first statement keeps a string case from being read as the module docstring.
    formatted = ruff_format("x = 0\n\n" + "\n\n".join(blocks) + "\n", width)
    parts = re.split(r"^# case (\d+)\n", formatted, flags=re.MULTILINE)
    assert parts[1::2] == [str(number) for number in range(len(cases))]
    layouts = []
    for case, block in zip(cases, parts[2::2], strict=True):
        before, after = surroundings(case)
        block_lines = block.rstrip("\n").split("\n")
        layouts.append(block_lines[len(before) : len(block_lines) - len(after)])
    return layouts


def differences(cases: list[Case], printed: list[list[str]], ruff: list[list[str]]) -> str:
    """The cases printed otherwise than ruff lays them out, shortest first."""
    shown = [
        f"{case}\n--- printed\n" + "\n".join(ours) + "\n--- ruff\n" + "\n".join(theirs)
        for case, ours, theirs in zip(cases, printed, ruff, strict=True)
        if ours != theirs
    ]
    return f"{len(shown)} of {len(cases)} differ:\n\n" + "\n\n".join(sorted(shown, key=len)[:5])


def check_fixed_points(cases: list[Case], width: int = 100) -> None:
    """Ruff leaves every printed case as it is."""
    printed = [format_statement(case.source, case.indent, width) for case in cases]
    ruff = ruff_layouts(cases, printed, width)
    assert printed == ruff, differences(cases, printed, ruff)


def same_code(source: str, lines: list[str]) -> bool:
    """Whether the printed lines parse to the statement's AST."""
    before, after = clause_context(source)
    statement = textwrap.dedent("\n".join(lines))
    return ast.dump(ast.parse("\n".join([*before, source, *after]))) == ast.dump(
        ast.parse("\n".join([*before, statement, *after]))
    )


# --- Constants ---------------------------------------------------------------------------

CHARACTERS = st.one_of(
    st.sampled_from(list("ab '\"\\\n\t\r\x00\x7f\x85\xa0é中\u0301\u2028\ud800😀{}")),
    st.characters(),
)
STRINGS = st.text(CHARACTERS, max_size=12) | st.text(st.sampled_from("ab'\""), max_size=8)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False, allow_infinity=False),
    STRINGS,
)
CONSTANTS = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(inner, max_size=4).map(tuple),
        st.dictionaries(SCALARS, inner, max_size=4),
    ),
    max_leaves=12,
)


def same_typed(a: object, b: object) -> bool:
    """Equal with the same types all the way down: True is not 1, nor 1.0 nor -0.0 0.0."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same_typed(a[key], b[key]) for key in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(map(same_typed, a, b))
    return repr(a) == repr(b)


def test_literal_reads_back_and_is_written_as_ruff_writes_it():
    cases, reprs = [], []

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(CONSTANTS, st.integers(0, 3))
    def collect(value, indent):
        assert same_typed(ast.literal_eval(literal(value)), value)
        cases.append(Case(f"x = {literal(value)}", indent))
        reprs.append(["    " * indent + f"x = {value!r}"])

    collect()
    printed = [format_statement(case.source, case.indent) for case in cases]
    ruff = ruff_layouts(cases, reprs, width=100)
    assert printed == ruff, differences(cases, printed, ruff)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_literal_refuses_a_float_without_literal(value):
    with pytest.raises(ValueError):
        literal(value)


@pytest.mark.parametrize("value", [{1, 2}, b"bytes", 1j, object(), [1, {2}]])
def test_literal_refuses_what_is_not_a_plain_constant(value):
    with pytest.raises(TypeError):
        literal(value)


# --- Statements --------------------------------------------------------------------------

IDENTIFIERS = st.text("abcdefghijklmnopqrstuvwxyz_0123456789", min_size=1, max_size=30).filter(
    lambda name: name.isidentifier() and not keyword.iskeyword(name)
)
NAMES = st.one_of(
    st.sampled_from(["x", "ab", "event", "value", "e_event_properties", "t10", "_C1"]),
    IDENTIFIERS,
    IDENTIFIERS.map(lambda name: name * 3),
    st.integers(60, 95).map(lambda length: "n" * length),  # too long for some lines
)
BINARY_OPERATORS = [ast.Add, ast.Sub, ast.Mult, ast.Mod, ast.Pow, ast.Pow, ast.BitOr, ast.LShift]
COMPARISONS = [ast.Eq, ast.NotEq, ast.Lt, ast.GtE, ast.Is, ast.IsNot, ast.In, ast.NotIn]


def load(identifier: str) -> ast.Name:
    return ast.Name(identifier, ast.Load())


def store(identifier: str) -> ast.Name:
    return ast.Name(identifier, ast.Store())


def constant(value: object) -> ast.expr:
    return ast.parse(literal(value), mode="eval").body


LEAVES = st.one_of(
    NAMES.map(load),
    NAMES.map(load),  # twice: names are the commonest operands of generated code
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(-1e20, 1e20)).map(constant),
    STRINGS.map(constant),
    STRINGS.map(lambda text: ast.Constant(text * 8)),  # long strings
)


def call_chain(value: ast.expr, links: list[tuple[str, list[ast.expr]]]) -> ast.expr:
    """`value.a(...).b(...)`: calls on attributes, the shape of ruff's fluent layout."""
    for attribute, arguments in links:
        value = ast.Call(ast.Attribute(value, attribute, ast.Load()), arguments, [])
    return value


def comprehension(target: ast.expr, iterable: ast.expr, tests: list[ast.expr]) -> ast.AST:
    return ast.comprehension(target, iterable, tests, is_async=0)


TARGETS = NAMES.map(store) | st.lists(NAMES.map(store), min_size=1, max_size=3).map(
    lambda names: ast.Tuple(names, ast.Store())
)


def compound(inner):
    """Expressions of the subset built from smaller ones."""
    items = st.lists(inner, max_size=4)
    generators = st.builds(comprehension, TARGETS, inner, st.lists(inner, max_size=1)).map(
        lambda part: [part]
    )
    generator = st.builds(ast.GeneratorExp, inner, generators)
    comparisons = st.lists(st.tuples(st.sampled_from(COMPARISONS), inner), min_size=1, max_size=3)
    return st.one_of(
        st.builds(ast.Attribute, inner, NAMES, st.just(ast.Load())),
        st.builds(
            ast.Call,
            NAMES.map(load) | inner,
            items,
            st.lists(st.builds(ast.keyword, NAMES, inner), max_size=2),
        ),
        st.builds(ast.Call, NAMES.map(load), generator.map(lambda g: [g]), st.just([])),
        st.builds(call_chain, inner, st.lists(st.tuples(NAMES, items), min_size=1, max_size=4)),
        st.builds(ast.Subscript, inner, LEAVES, st.just(ast.Load())),
        st.builds(ast.List, items, st.just(ast.Load())),
        st.builds(ast.Tuple, items, st.just(ast.Load())),
        st.lists(st.tuples(inner, inner), max_size=4).map(
            lambda pairs: ast.Dict([key for key, _ in pairs], [value for _, value in pairs])
        ),
        st.builds(ast.ListComp, inner, generators),
        generator,
        st.builds(ast.BoolOp, st.sampled_from([ast.And(), ast.Or()]), st.lists(inner, min_size=2)),
        st.builds(
            lambda left, pairs: ast.Compare(left, [op() for op, _ in pairs], [c for _, c in pairs]),
            inner,
            comparisons,
        ),
        st.builds(ast.UnaryOp, st.sampled_from([ast.Not(), ast.USub()]), inner),
        st.builds(ast.IfExp, inner, inner, inner),
        st.builds(ast.BinOp, inner, st.sampled_from(BINARY_OPERATORS).map(lambda op: op()), inner),
    )


EXPRESSIONS = st.recursive(LEAVES, compound, max_leaves=12)
ASSIGNMENT_TARGETS = st.one_of(
    NAMES.map(store),
    st.builds(ast.Subscript, NAMES.map(load), LEAVES, st.just(ast.Store())),
    st.builds(ast.Attribute, NAMES.map(load), NAMES, st.just(ast.Store())),
)
STATEMENTS = st.one_of(
    st.builds(lambda target, value: ast.Assign([target], value), ASSIGNMENT_TARGETS, EXPRESSIONS),
    st.builds(ast.Expr, EXPRESSIONS),
    st.builds(ast.Return, st.none() | EXPRESSIONS),
    st.builds(ast.Raise, EXPRESSIONS, st.none() | EXPRESSIONS),
    st.just(ast.Pass()),
)
CLAUSE_HEADERS = st.one_of(
    st.sampled_from(["else:", "try:", "except:"]),
    st.builds(
        "{} {}:".format, st.sampled_from(["if", "elif", "except"]), EXPRESSIONS.map(ast.unparse)
    ),
    st.builds("except {} as {}:".format, EXPRESSIONS.map(ast.unparse), NAMES),
)
SOURCES = CLAUSE_HEADERS | STATEMENTS.map(
    lambda statement: ast.unparse(ast.fix_missing_locations(statement))
)


# One statement per layout rule, each tried at every indentation from 0 to 16 so that it
# passes through all its layouts as the room left on the line shrinks.
EXAMPLES = [
    "value_for_the_assignment = a_long_variable_name_that_might_not_fit_on_the_line_at_all_a",
    'message = "a long string constant that stays on its line when it cannot fit any more"',
    "x = -a_long_variable_name_that_might_not_fit_on_the_line_at_all_and_then_some_more_",
    'body["groupTraits"] = first_group(event.get("groups"), event.get("group_props"), "gt")',
    'body["properties"] = v_additional_properties_for_this_particular_event_of_the_mapping',
    'body["properties"] = e_props.get("$screen_name") if e_props.__class__ is dict else None',
    'x_name = e_properties.get("$screen_name") if e_properties.__class__ is dict else None',
    "t5 = (e_props.get('$path') if e_props.__class__ is dict else None) if t5 is None else t5",
    "kind = 'string' if value.__class__ is str else 'number' if value.__class__ is int else None",
    "row = session.query(model).filter(model.identifier == identifier).order_by(created).first()",
    "row = (session_factory_name or default).query(model).filter(model.identifier == ident).one",
    "if x.__class__ is not str or x == '' or v_user.__class__ is not str or v_timestamp is None:",
    "elif e_event_type == '$identify' and (v_user is not None or v_anonymous_id is not None):",
    "total_amount + other_total_amount - yet_another_amount_to_subtract + final_adjustment_val",
    "return first_value_name + second_value_name * third_value_name - fourth_value_name ** 2",
    "x = -(first_value**2) + second_value**-third_value + fourth_value.attribute**(fifth + 1)",
    "raise RejectEvent('the event is not a JSON object (got ' + _jp_type(event) + ') at all')",
    "reasons.append(('ev', tuple(key for key, value in (('event', e), ('u', u)) if ok(key))))",
    "names = [item.name for item in collection_of_items if item.enabled and item.visible_now]",
    "body = {'type': 'track', 'event': e_event_type, 'userId': v_user, 'timestamp': v_ts}",
    "x = [a_single_element_that_is_rather_long_in_fact_very_long_indeed_and_even_longer_yes]",
    "pair = (a_single_element_that_is_rather_long_in_fact_very_long_indeed_and_even_longer,)",
    "except (ValueError, TypeError, KeyError, IndexError, AttributeError, LookupError) as error:",
    "flag = not (first_condition_value == second_condition_value) and (1).real > other_val",
    "value = function_name(argument_number_one, keyword_argument=another_value, third=[1, 2])",
    "x = module_name.attribute_one.attribute_two.attribute_three.attribute_four.attribute_five",
    "x = table_of_things[first_key_of_the_table][second_key_of_the_table][third_key_of_it]",
    "x = factory_function(first_argument_value)(second_argument_value)(third_argument_val)",
    "x = call_one(argument)[index_value].attribute_name + call_two(another_argument_name)",
    "text = ', '.join(name for name in sorted_names_of_the_things if name and name != 'x')",
    "t1 = to_number(t8.get('mrr') if t8.__class__ is dict else None, default_value_for_it)",
    "first_group(event.get('groups'), event.get('group_properties'), 'group_type', True)",
]


def test_each_layout_rule_matches_ruff():
    check_fixed_points([Case(source, indent) for source in EXAMPLES for indent in range(17)])


def test_random_statements_are_ruff_fixed_points():
    cases = []

    @settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
    @given(SOURCES)
    def collect(source):
        for indent in range(0, 9, 2):
            lines = format_statement(source, indent)
            assert same_code(source, lines), (source, lines)
            assert all(line.startswith("    " * indent) for line in lines)
            cases.append(Case(source, indent))

    collect()
    check_fixed_points(cases)


def golden_cases() -> list[Case]:
    """The statements and clause headers of `transform` in the golden generated modules."""
    cases = []
    for path in GOLDEN_MODULES:
        source = path.read_text(encoding="utf-8")
        module = ast.parse(source)
        (transform,) = [node for node in module.body if getattr(node, "name", "") == "transform"]
        body = transform.body[1:]  # after the docstring
        cases += statement_cases(body, source.splitlines(), indent=1)
    return cases


def statement_cases(body: list[ast.stmt], lines: list[str], indent: int) -> list[Case]:
    cases = []
    for statement in body:
        if isinstance(statement, ast.If):
            cases += if_cases(statement, lines, indent, keyword="if")
        else:
            cases.append(Case(ast.unparse(statement), indent))
    return cases


def if_cases(statement: ast.If, lines: list[str], indent: int, keyword: str) -> list[Case]:
    cases = [Case(f"{keyword} {ast.unparse(statement.test)}:", indent)]
    cases += statement_cases(statement.body, lines, indent + 1)
    orelse = statement.orelse
    if len(orelse) == 1 and isinstance(orelse[0], ast.If) and is_elif(orelse[0], lines):
        cases += if_cases(orelse[0], lines, indent, keyword="elif")
    elif orelse:
        cases += [Case("else:", indent), *statement_cases(orelse, lines, indent + 1)]
    return cases


def is_elif(statement: ast.If, lines: list[str]) -> bool:
    return lines[statement.lineno - 1].lstrip().startswith("elif")


def test_golden_transform_statements_are_ruff_fixed_points():
    cases = golden_cases()
    assert len(GOLDEN_MODULES) == 4 and len(cases) > 100
    for case in cases:
        assert same_code(case.source, format_statement(case.source, case.indent)), case
    check_fixed_points(cases)


@pytest.mark.parametrize(
    "source",
    [
        "for x in y:\n    pass",
        "if x:\n    pass",
        "x = 1; y = 2",
        "x = y = 1",
        "a, b = c",
        "x = lambda: 1",
        "x = f(*args)",
        "x = {**other}",
        "x = y[1:2]",
        "x = f'{y}'",
        "x = 1e400",
        "x = ",
        "else x:",
        "elif x:\n    pass\nelse:",
        "except E:\n    pass\nexcept F:",
        "x = " + " + ".join(["a"] * 2000),  # deeper than the layout recurses
    ],
)
def test_what_is_outside_the_subset_is_refused(source):
    with pytest.raises(ValueError):
        format_statement(source)
