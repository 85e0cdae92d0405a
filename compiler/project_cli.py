"""The commands for mappings kept in a repository: `test`, `golden add` and `init`.

`accoil-map golden MAPPING [--update]`, the older command, still runs like
`accoil-map test MAPPING [--update]`.
"""

from __future__ import annotations

import argparse
import re
import sys

from .config import ConfigError, MappingEntry, Project, load_project, project_of_mapping
from .errors import plural

EXIT_OK, EXIT_FAILED = 0, 1

_CASE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")

GOLDEN_USAGE = """accoil-map golden add MAPPING EVENT [--name NAME] [--description TEXT]
       accoil-map golden MAPPING [--update]   (older spelling of: accoil-map test MAPPING)"""


def add_commands(commands) -> None:
    """Add `test`, `golden` and `init` to the command line's subparsers."""
    test = commands.add_parser("test", help="run the golden cases of the repository's mappings")
    test.add_argument(
        "mappings",
        nargs="*",
        metavar="MAPPING",
        help="mapping names or files (default: every mapping of the configuration)",
    )
    test.add_argument(
        "--update", action="store_true", help="rewrite what failed, after showing the diff"
    )
    test.set_defaults(handler=cmd_test)

    golden = commands.add_parser(
        "golden", help="add a golden case from a real event", usage=GOLDEN_USAGE
    )
    golden.add_argument("words", nargs="+", metavar="ARG", help="add MAPPING EVENT, or MAPPING")
    golden.add_argument("--name", help="the case's name (default: from the event's name)")
    golden.add_argument(
        "--description", metavar="TEXT", help="what the case tests (default: where it is from)"
    )
    golden.add_argument("--update", action="store_true", help=argparse.SUPPRESS)
    golden.set_defaults(handler=cmd_golden)

    init = commands.add_parser(
        "init", help="scaffold a mapping, its configuration and first golden cases"
    )
    init.add_argument("source", metavar="SOURCE", help="amplitude, segment, posthog, ..., custom")
    init.add_argument("--sample", metavar="EVENTS", help="NDJSON events to take cases from")
    init.add_argument("--name", help="the mapping's name (default: SOURCE)")
    init.set_defaults(handler=cmd_init)


def _usage(message: str) -> Exception:
    from .cli import UsageError

    return UsageError(message)


def _run(targets: list[tuple[Project, MappingEntry]], update: bool) -> int:
    from .golden import run_mapping

    results = [run_mapping(project, entry, update, sys.stdout) for project, entry in targets]
    if len(targets) > 1:
        failed = results.count(False)
        verdict = f"{failed} failed" if failed else "ok"
        print(f"{plural(len(targets), 'mapping')}: {verdict}")
    return EXIT_OK if all(results) else EXIT_FAILED


def _targets(specs: list[str]) -> list[tuple[Project, MappingEntry]]:
    try:
        if specs:
            return [project_of_mapping(spec) for spec in specs]
        project = load_project()
    except ConfigError as exc:
        raise _usage(str(exc)) from None
    if not project.mappings:
        where = project.config_file or f"{project.root} (no configuration)"
        raise _usage(
            f"no mappings found: {where} names none (default: mappings/*.yaml); "
            "name them in [tool.accoil-map] mappings, or start with accoil-map init SOURCE"
        )
    return [(project, entry) for entry in project.mappings]


def cmd_test(args) -> int:
    """`accoil-map test`: every configured mapping's golden cases (or those named)."""
    return _run(_targets(args.mappings), args.update)


def cmd_golden(args) -> int:
    """`accoil-map golden add MAPPING EVENT`, or the older `golden MAPPING [--update]`."""
    words = args.words
    if words[0] == "add":
        if len(words) != 3 or args.update:
            raise _usage(f"usage: {GOLDEN_USAGE.splitlines()[0]}")
        return _golden_add(words[1], words[2], args.name, args.description)
    if len(words) != 1 or args.name or args.description:
        raise _usage(f"usage: {GOLDEN_USAGE}")
    return _run(_targets(words), args.update)


def _golden_add(mapping: str, spec: str, name: str | None, description: str | None) -> int:
    from .event_input import EventInputError, read_event
    from .golden import GoldenFolder, add_case, case_name, summary

    try:
        project, entry = project_of_mapping(mapping)
        given = read_event(spec)
    except (ConfigError, EventInputError) as exc:
        raise _usage(str(exc)) from None
    taken = {case.name for case in GoldenFolder(entry.golden).cases}
    name = name or case_name(given.event, taken)
    if not _CASE_NAME.fullmatch(name):
        raise _usage(f"--name {name!r}: use letters, digits, '_', '-' and '.'")
    description = description or f"Recorded from {given.origin} with accoil-map golden add."
    try:
        case, result = add_case(entry, given.event, name, description)
    except FileExistsError as exc:
        raise _usage(str(exc)) from None
    print(f"{project.relative(case.path)}: {summary(result)}")
    print(f"{project.relative(case.expected)}: its expected result")
    return EXIT_OK


def cmd_init(args) -> int:
    """`accoil-map init SOURCE`: scaffold a mapping and its tests in the current folder."""
    from pathlib import Path

    from .scaffold import ScaffoldError, scaffold

    try:
        result = scaffold(Path.cwd(), args.source, args.name, args.sample)
    except (ScaffoldError, ConfigError) as exc:
        raise _usage(str(exc)) from None
    for line in result.report():
        print(line)
    return EXIT_OK
