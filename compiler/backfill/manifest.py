"""The manifest: one JSON line per input done, in input order, in `OUTDIR/manifest.jsonl`.

A record says which input (URL, format, size, sha256 of its bytes as
stored), what became of its lines (the counts of `run`'s summary, and the
reasons), and its output files in order with their size and sha256. The
`fingerprint` is the sha256 of everything else that shapes the outputs (the
generated module, output format, compression, adapter, split size): a
record made with other settings is not reused.

Reading the calls files of the records in manifest order, one after the
other, gives exactly what `run` gives for the inputs in the same order.

The whole file is rewritten atomically (temp + rename) every few seconds
and at the end, so it is never torn; an input whose record was not yet
written when a run stopped is simply done again (its files are rewritten,
byte for byte the same).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

import orjson

from ..runner import RunStats
from .outputs import Destination, OutputFile

MANIFEST = "manifest.jsonl"
COUNTS = ("lines", "emitted", "calls", "skipped", "rejected", "blank", "dropped_calls")


class ManifestError(ValueError):
    """The manifest cannot be read; the message names its line."""


@dataclass(frozen=True)
class Record:
    """One input done."""

    input: str
    format: str
    size: int
    sha256: str
    fingerprint: str
    stats: RunStats
    not_imported: int
    outputs: tuple[OutputFile, ...]

    def to_line(self) -> bytes:
        """The record as one JSON line."""
        counts = {name: getattr(self.stats, name) for name in COUNTS}
        data = {
            "input": self.input,
            "format": self.format,
            "size": self.size,
            "sha256": self.sha256,
            **counts,
            "not_imported": self.not_imported,
            "reasons": dict(sorted(self.stats.reasons.items())),
            "outputs": [output.to_json() for output in self.outputs],
            "fingerprint": self.fingerprint,
        }
        return orjson.dumps(data) + b"\n"

    @classmethod
    def from_json(cls, data: dict) -> Record:
        """A record from its JSON form (KeyError or TypeError when it is not one)."""
        stats = RunStats(**{name: int(data[name]) for name in COUNTS})
        stats.reasons = Counter(data["reasons"])
        return cls(
            input=data["input"],
            format=data["format"],
            size=int(data["size"]),
            sha256=data["sha256"],
            fingerprint=data["fingerprint"],
            stats=stats,
            not_imported=int(data["not_imported"]),
            outputs=tuple(OutputFile(**output) for output in data["outputs"]),
        )


def fingerprint(*settings: object) -> str:
    """The sha256 of the settings that shape the outputs."""
    return hashlib.sha256(orjson.dumps([str(value) for value in settings])).hexdigest()


def load(destination: Destination) -> dict[str, Record]:
    """The records of the manifest in the output folder, by input; empty without one."""
    data = destination.read_bytes(MANIFEST)
    records: dict[str, Record] = {}
    for number, line in enumerate((data or b"").splitlines(), 1):
        try:
            record = Record.from_json(orjson.loads(line))
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise ManifestError(
                f"{destination.path(MANIFEST)}:{number}: not a manifest record ({exc}); "
                "move the file away to start over"
            ) from exc
        records[record.input] = record
    return records


def write(destination: Destination, records: Iterable[Record]) -> None:
    """Replace the manifest with these records, atomically."""
    destination.write_bytes(MANIFEST, b"".join(record.to_line() for record in records))
