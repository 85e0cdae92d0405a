"""What a Dask worker runs: an input file, or one part of it, through the generated module.

`process_source` opens a file, tells its format from its first bytes and
either transforms it whole (the usual case: one compressed file, one task)
or, for a zip or a plain file larger than the split size, hashes it and
returns its parts; `process_part` then transforms each part in a task of its
own. Lines go through `accoil_map.runner.process_lines`, as in `run`.

The generated module reaches the workers as source text, installed by a
worker plugin (`ProgramPlugin`) on every worker, also on one that joins or is
restarted later, and imported once per worker process.
"""

from __future__ import annotations

import io
import resource
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import orjson

from ..modules import import_source
from ..runner import RunStats, process_lines
from .accoil_import import ImportWriter
from .adapters import NONE, adapted_transform, chosen
from .formats import (
    AS_EXPORTED,
    HEAD_BYTES,
    PARQUET,
    PLAIN,
    ZIP,
    Format,
    container_of,
    first_line,
    is_data_member,
    layout_of,
    member_order,
    shape_of_fields,
    shape_of_line,
)
from .inputs import Source
from .outputs import SUFFIXES, Destination, OutputFile, base_name, safe_name
from .reading import (
    Chunk,
    HashingReader,
    RangeReader,
    decoded,
    hash_stream,
    member_stream,
    open_raw,
    parquet_columns,
    parquet_lines,
    scan_plain,
    zip_members,
)

NDJSON, ACCOIL_IMPORT = "ndjson", "accoil-import"
OUTPUT_FORMATS = (NDJSON, ACCOIL_IMPORT)
#: The order of a part's files in the manifest, and their name endings.
FILE_KINDS = {
    "calls": ".calls.ndjson",
    "events": ".events.csv",
    "groups": ".groups.csv",
    "identifies": ".identifies.csv",
    "rejects": ".rejects.ndjson",
}


@dataclass(frozen=True)
class Program:
    """A generated module as source text, named by its sha256."""

    name: str
    source: str
    sha256: str


@dataclass(frozen=True)
class Settings:
    """What every task of one backfill shares."""

    outdir: str
    program: str  # the Program's sha256
    output_format: str = NDJSON
    compress: str = "none"
    split_bytes: int = 128 << 20
    adapter: str = "auto"


@dataclass(frozen=True)
class Part:
    """A piece of an input read by one task: the whole file, a chunk of lines or a zip member."""

    source: Source
    index: int
    name: str
    container: str
    shape: str = AS_EXPORTED
    chunk: Chunk | None = None
    member: str | None = None
    size: int = 0


@dataclass(frozen=True)
class PartResult:
    """The counts and files of one part, and the worker's peak memory so far."""

    index: int
    stats: RunStats
    outputs: tuple[OutputFile, ...]
    input_bytes: int
    not_imported: int = 0
    peak_rss_kib: int = 0


@dataclass(frozen=True)
class Whole:
    """A file transformed in one task."""

    source: Source
    format: Format
    sha256: str
    size: int
    result: PartResult


@dataclass(frozen=True)
class Split:
    """A file to transform in parts, each its own task; hashed already."""

    source: Source
    format: Format
    sha256: str
    size: int
    parts: tuple[Part, ...] = field(default=())


# The worker side of the module's journey --------------------------------------

_PROGRAMS: dict[str, Program] = {}
_MODULES: dict[str, object] = {}


def install(program: Program) -> None:
    """Make a program available to the tasks of this process."""
    _PROGRAMS[program.sha256] = program


def _module(sha256: str):
    module = _MODULES.get(sha256)
    if module is None:
        program = _PROGRAMS[sha256]
        module = _MODULES[sha256] = import_source(program.source, program.name)
    return module


def program_plugin(program: Program):
    """A Dask worker plugin that installs `program` on every worker, present and future."""
    from distributed.diagnostics.plugin import WorkerPlugin

    class ProgramPlugin(WorkerPlugin):
        name = f"accoil-map-program-{program.sha256[:16]}"

        def setup(self, worker) -> None:
            install(program)

    return ProgramPlugin()


# Tasks ------------------------------------------------------------------------


def process_source(source: Source, settings: Settings) -> Whole | Split:
    """Transform one input file whole, or hash it and return its parts."""
    with open_raw(source.url) as raw:
        head = raw.read(HEAD_BYTES)
        raw.seek(0)
        container = container_of(head, source.url)
        layout = layout_of(source.url, container)
        base = base_name(source.url)
        if container == ZIP:
            return _zip_parts(raw, source, base)
        if container == PLAIN and source.size > settings.split_bytes:
            shape = shape_of_line(first_line(head, container))
            sha256, size, chunks = scan_plain(raw, settings.split_bytes)
            if len(chunks) > 1:
                parts = tuple(
                    Part(source, i, f"{base}.part{i:05d}", PLAIN, shape, chunk=c, size=c.length)
                    for i, c in enumerate(chunks)
                )
                return Split(source, Format(PLAIN, shape, layout), sha256, size, parts)
            raw.seek(0)
        if container == PARQUET:
            shape = shape_of_fields(parquet_columns(raw))
            raw.seek(0)
        else:
            shape = shape_of_line(first_line(head, container))
        part = Part(source, 0, base, container, shape, size=source.size)
        result, (sha256, size) = _whole(raw, part, settings)
        return Whole(source, Format(container, shape, layout), sha256, size, result)


def process_part(part: Part, settings: Settings) -> PartResult:
    """Transform one chunk of a plain file or one zip member."""
    with open_raw(part.source.url) as raw:
        if part.chunk is not None:
            chunk = part.chunk
            stream = io.BufferedReader(RangeReader(raw, chunk.offset, chunk.length), 1 << 20)
            return _transform(enumerate(stream, chunk.first_line), part, settings)
        with member_stream(raw, part.member) as stream:
            return _transform(enumerate(stream, 1), part, settings)


def hash_source(source: Source) -> tuple[str, int]:
    """(sha256, size) of an input file as stored: whether a done input is still the same."""
    with open_raw(source.url) as raw:
        return hash_stream(raw)


def _zip_parts(raw, source: Source, base: str) -> Split:
    sha256, size = hash_stream(raw)
    raw.seek(0)
    members = sorted(
        (member for member in zip_members(raw) if is_data_member(member[0])),
        key=lambda member: member_order(member[0]),
    )
    parts = tuple(
        Part(
            source,
            i,
            f"{base}/{i:05d}-{safe_name(name.rsplit('/', 1)[-1])}",
            ZIP,
            member=name,
            size=compressed,
        )
        for i, (name, compressed) in enumerate(members)
    )
    return Split(source, Format(ZIP, AS_EXPORTED, "amplitude-export"), sha256, size, parts)


def _whole(raw, part: Part, settings: Settings) -> tuple[PartResult, tuple[str, int]]:
    if part.container == PARQUET:
        digest = hash_stream(raw)
        raw.seek(0)
        return _transform(parquet_lines(raw), part, settings), digest
    hashing = HashingReader(raw)
    with decoded(hashing, part.container) as stream:
        result = _transform(enumerate(stream, 1), part, settings)
    return result, hashing.finish()


class _Cursor:
    """Numbered lines, remembering the number of the line being transformed."""

    def __init__(self, lines: Iterable[tuple[int, bytes]]):
        self._lines = lines
        self.line = 0

    def __iter__(self) -> Iterator[tuple[int, bytes]]:
        for number, raw in self._lines:
            self.line = number
            yield number, raw


class _Files:
    """The output files of one part, opened on first use, committed or aborted together."""

    def __init__(self, settings: Settings, name: str):
        self._destination = Destination(settings.outdir)
        self._compress = settings.compress
        self._name = name
        self._open: dict = {}

    def writer(self, kind: str) -> Callable[[bytes], object]:
        output = self._open.get(kind)
        if output is None:
            relative = self._name + FILE_KINDS[kind] + SUFFIXES[self._compress]
            output = self._open[kind] = self._destination.create(relative, kind, self._compress)
        return output.write

    def reject(self, data: bytes) -> None:
        self.writer("rejects")(data)

    def commit(self) -> tuple[OutputFile, ...]:
        return tuple(self._open[kind].commit() for kind in FILE_KINDS if kind in self._open)

    def abort(self) -> None:
        for output in self._open.values():
            output.abort()


def _transform(lines: Iterable[tuple[int, bytes]], part: Part, settings: Settings) -> PartResult:
    module = _module(settings.program)
    adapter = chosen(settings.adapter, part.shape)
    transform = adapted_transform(module.transform, adapter)
    # As `run` reads a line (only the fields the mapping reads), unless an adapter
    # reshapes the whole event first.
    decode = module.decode_line if adapter == NONE else None
    files = _Files(settings, part.name)
    not_imported = Counter()
    try:
        if settings.output_format == NDJSON:
            write = files.writer("calls")
        else:
            lines = cursor = _Cursor(lines)

            def refuse(reason: str, body: dict) -> None:
                not_imported[reason] += 1
                record = {
                    "line": cursor.line,
                    "status": "not imported",
                    "reason": reason,
                    "call": body,
                }
                files.reject(orjson.dumps(record) + b"\n")

            write = ImportWriter(files.writer, refuse).write
        stats = process_lines(transform, module.RejectEvent, lines, write, files.reject, decode)
        outputs = files.commit()
    except BaseException:
        files.abort()
        raise
    for reason, count in not_imported.items():
        stats.reasons[f"not imported: {reason}"] += count
    return PartResult(
        part.index,
        stats,
        outputs,
        part.size,
        sum(not_imported.values()),
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    )
