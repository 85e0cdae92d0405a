"""The `accoil-map` command line: validate, compile, run, backfill, send, explain,
test, golden, init, schema.

Exit codes: 0 ok, 1 invalid mapping, failed golden case, failed backfill input,
failed or refused `run`, or undelivered calls, 2 usage error, 130 interrupted,
141 the reader of stdout went away (`| head`); `run`'s in `run_command`.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import orjson

from . import __version__
from .delivery.options import add_arguments as add_delivery_arguments
from .errors import MappingError, plural

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2
EXIT_INTERRUPTED, EXIT_PIPE_CLOSED = 130, 141


class UsageError(Exception):
    """A problem with how the command was called (exit code 2)."""


def _existing(path: str) -> str:
    if path != "-" and not os.path.exists(path):
        raise UsageError(f"no such file: {path}")
    return path


def _print_diagnostics(diagnostics) -> None:
    for diagnostic in diagnostics:
        print(diagnostic.format(), file=sys.stderr)


def _checked(path: str):
    """Check a mapping, printing its warnings; MappingError propagates."""
    from .pipeline import check  # imported here: a cached `run` never needs it

    checked = check(_existing(path))
    _print_diagnostics(checked.warnings)
    return checked


def _validate_one(path: str) -> tuple[list, str | None]:
    """A mapping's diagnostics and its `ok (N rules)` line, None when it is invalid."""
    from .pipeline import check

    try:
        checked = check(_existing(path))
    except MappingError as exc:
        return exc.diagnostics, None
    return list(checked.warnings), f"ok ({plural(len(checked.mapping.rules), 'rule')})"


def cmd_validate(args) -> int:
    from .errors import github_command

    status = EXIT_OK
    for path in args.mappings:
        diagnostics, verdict = _validate_one(path)
        if args.format == "text":
            _print_diagnostics(diagnostics)
        for diagnostic in diagnostics if args.format != "text" else ():
            if args.format == "json":
                print(orjson.dumps(diagnostic.as_json()).decode())
            else:
                print(github_command(diagnostic))
        if verdict is None:
            count = sum(d.severity == "error" for d in diagnostics)
            print(f"{path}: invalid ({plural(count, 'problem')})", file=sys.stderr)
            status = EXIT_INVALID
        else:
            # stdout carries only the diagnostics in the machine formats.
            print(f"{path}: {verdict}", file=sys.stdout if args.format == "text" else sys.stderr)
    return status


def _module_file(path: str) -> str:
    """`amplitude.py` for `amplitude.yaml`, and for `amplitude.accoil.yaml` too (the name
    the SchemaStore catalog entry attaches the schema to): a module name has no dot."""
    stem = Path(path).stem
    return stem.removesuffix(".accoil") + ".py"


def cmd_compile(args) -> int:
    from .audit import audit_file_bytes
    from .pipeline import compile_source

    status = EXIT_OK
    for path in args.mappings:
        try:
            source = compile_source(_checked(path))
        except MappingError as exc:
            _print_diagnostics(exc.diagnostics)
            status = EXIT_INVALID
            continue
        if args.output == "-":
            sys.stdout.write(source)
            continue
        target = Path(args.output) / _module_file(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        data = source.encode("utf-8")
        audit_file_bytes(data)  # the file as Python will read it, declarations and all
        target.write_bytes(data)
        print(f"{path} -> {target}", file=sys.stderr)
    return status


def _compiled_for_run(path: str, use_cache: bool):
    """The generated module's source and name, from the cache when it has them.

    The mapping's bytes are read once: the key is their hash and they are what
    is compiled, so a save in between cannot pair one text's key with another's
    module."""
    from . import cache

    raw = _mapping_bytes(path)
    folder = cache.trusted_dir() if use_cache else None
    key = cache.entry_key(raw, path)
    entry = cache.lookup(folder, key) if folder is not None else None
    if entry is not None:
        for warning in entry.warnings:
            print(warning, file=sys.stderr)
        return entry.source, entry.name
    from .pipeline import check, compile_source

    checked = check(raw, filename=path)
    _print_diagnostics(checked.warnings)
    warnings = tuple(diagnostic.format() for diagnostic in checked.warnings)
    entry = cache.Entry(compile_source(checked), checked.mapping.name, warnings)
    if folder is not None:
        cache.store(folder, key, entry)
    return entry.source, entry.name


def _mapping_bytes(path: str) -> bytes:
    from .loader import read_mapping_bytes

    return read_mapping_bytes(_existing(path))


def cmd_run(args) -> int:
    from .run_command import run_command

    return run_command(args, lambda: _compiled_for_run(args.mapping, not args.no_cache))


def cmd_backfill(args) -> int:
    from .backfill.command import run_command

    return run_command(args, lambda: _compiled_for_run(args.mapping, not args.no_cache))


def cmd_explain(args) -> int:
    checked = _checked(args.mapping)
    from .event_input import EventInputError, read_event
    from .explanation import explain_event

    try:
        event = read_event(args.event).event
    except EventInputError as exc:
        raise UsageError(str(exc)) from exc
    print(explain_event(checked.mapping, event))
    return EXIT_OK


def _module_of(raw: bytes, name: str):
    """Check, compile and import a mapping given as bytes; `name` is its name in messages."""
    from .modules import import_source
    from .pipeline import check, compile_source

    checked = check(raw, filename=name)
    _print_diagnostics(checked.warnings)
    return import_source(compile_source(checked), checked.mapping.name)


def cmd_diff(args) -> int:
    from .diff import RENDERERS, RevisionError, diff_modules, mapping_at_revision
    from .runner import open_input

    if (args.base is None) == (args.new is None):
        raise UsageError("diff needs OLD NEW, or MAPPING --base GIT_REF")
    new_path = args.new or args.old
    if args.base is not None:
        try:
            old_raw = mapping_at_revision(_existing(args.old), args.base)
        except RevisionError as exc:
            raise UsageError(str(exc)) from exc
        # `path@REF`: messages say which text, and a relative events_schema still resolves.
        old_name = f"{args.old}@{args.base}"
    else:
        old_raw, old_name = _mapping_bytes(args.old), args.old
    old = _module_of(old_raw, old_name)
    new = _module_of(_mapping_bytes(new_path), new_path)
    with open_input(_existing(args.input)) as infile:
        report = diff_modules(old, new, enumerate(infile, 1), old_name, new_path)
    print(RENDERERS[args.format](report))
    return EXIT_INVALID if args.exit_code and report.changed else EXIT_OK


def cmd_send(args) -> int:
    from .delivery.command import send_calls

    return send_calls(args)


def cmd_schema(args) -> int:
    from .editor import schema_text, write_text_atomically

    if args.output == "-":
        sys.stdout.write(schema_text())
    else:
        write_text_atomically(Path(args.output), schema_text())
        print(f"schema -> {args.output}", file=sys.stderr)
    return EXIT_OK


def cmd_infer_schema(args) -> int:
    from .editor import write_text_atomically
    from .infer_schema import SampleError, infer_schema, schema_text
    from .runner import open_input

    name = Path(args.events).name.split(".")[0] if args.events != "-" else "stdin"
    with open_input(_existing(args.events)) as infile:
        try:
            text = schema_text(infer_schema(enumerate(infile, 1), name))
        except SampleError as exc:
            print(f"accoil-map: {args.events}: {exc}", file=sys.stderr)
            return EXIT_INVALID
    if args.output == "-":
        sys.stdout.write(text)
    else:
        write_text_atomically(Path(args.output), text)
        print(f"events schema -> {args.output}", file=sys.stderr)
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="accoil-map",
        description="Compile YAML mappings of analytics events into Accoil API calls.",
    )
    parser.add_argument("--version", action="version", version=f"accoil-map {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    validate = commands.add_parser("validate", help="check mappings (schema and semantics)")
    validate.add_argument("mappings", nargs="+", metavar="MAPPING")
    validate.add_argument(
        "--format",
        choices=("text", "json", "github"),
        default="text",
        help="text (default); json: one object per diagnostic a line; "
        "github: GitHub Actions annotations",
    )
    validate.set_defaults(handler=cmd_validate)

    compile_ = commands.add_parser("compile", help="write one Python module per mapping")
    compile_.add_argument("mappings", nargs="+", metavar="MAPPING")
    compile_.add_argument(
        "-o", "--output", default=".", metavar="DIR", help="directory, or - for stdout"
    )
    compile_.set_defaults(handler=cmd_compile)

    run = commands.add_parser("run", help="transform NDJSON events into Accoil call bodies")
    from .run_command import add_arguments as add_run_arguments

    add_run_arguments(run)
    add_delivery_arguments(run)
    run.set_defaults(handler=cmd_run)

    backfill = commands.add_parser(
        "backfill", help="the same transform over many files on Dask, resumable"
    )
    from .backfill.command import add_arguments as add_backfill_arguments

    add_backfill_arguments(backfill)
    backfill.set_defaults(handler=cmd_backfill)

    explain = commands.add_parser("explain", help="show what each rule does with one event")
    explain.add_argument("mapping", metavar="MAPPING")
    explain.add_argument(
        "event", metavar="EVENT", help="a JSON file, - for stdin, or FILE.ndjson:LINE"
    )
    explain.set_defaults(handler=cmd_explain)

    diff = commands.add_parser("diff", help="what a mapping change does to real events")
    diff.add_argument("old", metavar="OLD", help="the mapping before (or MAPPING with --base)")
    diff.add_argument("new", nargs="?", metavar="NEW", help="the mapping after")
    diff.add_argument("--base", metavar="GIT_REF", help="compare MAPPING with itself at GIT_REF")
    diff.add_argument(
        "-i", "--input", default="-", metavar="EVENTS", help="NDJSON, plain or gzip (- = stdin)"
    )
    diff.add_argument("--format", choices=("text", "markdown", "json"), default="text")
    diff.add_argument("--exit-code", action="store_true", help="exit 1 when any event changed")
    diff.set_defaults(handler=cmd_diff)

    send = commands.add_parser(
        "send", help="deliver call bodies to Accoil: retries, journal, dead letters"
    )
    send.add_argument(
        "calls", nargs="?", default="-", metavar="CALLS", help="NDJSON, plain or gzip (- = stdin)"
    )
    send.add_argument("-q", "--quiet", action="store_true", help="no progress and no summary")
    add_delivery_arguments(send)
    send.set_defaults(handler=cmd_send)

    from .project_cli import add_commands as add_project_commands  # test, golden, init

    add_project_commands(commands)

    schema = commands.add_parser(
        "schema", help="print the mapping schema (JSON Schema) that editors use"
    )
    schema.add_argument("-o", "--output", default="-", metavar="PATH", help="file, or - for stdout")
    schema.set_defaults(handler=cmd_schema)

    infer = commands.add_parser(
        "infer-schema", help="write a JSON Schema of a source's events from sample NDJSON"
    )
    infer.add_argument("events", metavar="EVENTS", help="NDJSON, plain or gzip (- = stdin)")
    infer.add_argument("-o", "--output", default="-", metavar="FILE", help="file, or - for stdout")
    infer.set_defaults(handler=cmd_infer_schema)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of `accoil-map` and `python -m accoil_map`."""
    args = build_parser().parse_args(argv)
    if getattr(args, "workers", 1) < 1:
        print("accoil-map: error: --workers must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    try:
        return args.handler(args)
    except UsageError as exc:
        print(f"accoil-map: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except MappingError as exc:
        _print_diagnostics(exc.diagnostics)
        return EXIT_INVALID
    except BrokenPipeError:
        # Only stdout gets here (`compile -o - | head`): `run` turns its own into
        # exit codes. Quiet, and 141 as for a tool that SIGPIPE ended.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_PIPE_CLOSED
    except KeyboardInterrupt:
        print("accoil-map: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
