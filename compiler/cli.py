"""The `accoil-map` command line: validate, compile, run, backfill, send, explain,
golden, schema.

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


def cmd_validate(args) -> int:
    status = EXIT_OK
    for path in args.mappings:
        try:
            checked = _checked(path)
        except MappingError as exc:
            _print_diagnostics(exc.diagnostics)
            count = sum(d.severity == "error" for d in exc.diagnostics)
            print(f"{path}: invalid ({plural(count, 'problem')})", file=sys.stderr)
            status = EXIT_INVALID
        else:
            print(f"{path}: ok ({plural(len(checked.mapping.rules), 'rule')})")
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
    from .explanation import explain_event

    checked = _checked(args.mapping)
    text = Path(_existing(args.event)).read_bytes()
    try:
        event = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise UsageError(f"{args.event}: invalid JSON: {exc}") from exc
    print(explain_event(checked.mapping, event))
    return EXIT_OK


def cmd_send(args) -> int:
    from .delivery.command import send_calls

    return send_calls(args)


def cmd_golden(args) -> int:
    from .golden import run_golden

    return EXIT_OK if run_golden(args.mapping, update=args.update) else EXIT_INVALID


def cmd_schema(args) -> int:
    from .editor import schema_text, write_text_atomically

    if args.output == "-":
        sys.stdout.write(schema_text())
    else:
        write_text_atomically(Path(args.output), schema_text())
        print(f"schema -> {args.output}", file=sys.stderr)
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
    explain.add_argument("event", metavar="EVENT.json")
    explain.set_defaults(handler=cmd_explain)

    send = commands.add_parser(
        "send", help="deliver call bodies to Accoil: retries, journal, dead letters"
    )
    send.add_argument(
        "calls", nargs="?", default="-", metavar="CALLS", help="NDJSON, plain or gzip (- = stdin)"
    )
    send.add_argument("-q", "--quiet", action="store_true", help="no progress and no summary")
    add_delivery_arguments(send)
    send.set_defaults(handler=cmd_send)

    golden = commands.add_parser("golden", help="run a mapping's golden cases")
    golden.add_argument("mapping", metavar="MAPPING")
    golden.add_argument("--update", action="store_true", help="rewrite the expected files")
    golden.set_defaults(handler=cmd_golden)

    schema = commands.add_parser(
        "schema", help="print the mapping schema (JSON Schema) that editors use"
    )
    schema.add_argument("-o", "--output", default="-", metavar="PATH", help="file, or - for stdout")
    schema.set_defaults(handler=cmd_schema)
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
