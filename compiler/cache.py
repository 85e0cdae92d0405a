"""A cache of generated modules, so that `run` skips checking and compiling a
mapping it has compiled before (about 0.35 s of its start-up).

An entry is keyed by the sha256 of everything the generated source depends
on: the mapping file's bytes and name, the compiler's own source files and
schemas (so a changed compiler never serves a stale module), and the Python
version. It holds the audited source, the mapping's name and the warnings to
print again. Entries are audited again when read, so a file changed inside
the cache still cannot run anything; one that fails is ignored and
replaced. Caching is best effort: an unwritable cache only costs time.

Location: $ACCOIL_MAP_CACHE_DIR, else $XDG_CACHE_HOME/accoil-map, else
~/.cache/accoil-map. `run --no-cache` bypasses it.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import sys
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

from . import __version__
from .audit import audit_source


@dataclass(frozen=True)
class Entry:
    """What `run` needs of a compiled mapping."""

    source: str
    name: str
    warnings: tuple[str, ...]


def cache_dir() -> Path:
    """Where entries live (see the module docstring)."""
    configured = os.environ.get("ACCOIL_MAP_CACHE_DIR")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "accoil-map"


def _package_files(folder: Traversable, prefix: str = "") -> Iterator[tuple[str, Traversable]]:
    """(relative name, file) of every source and schema file under `folder`."""
    for item in folder.iterdir():
        name = prefix + item.name
        if item.is_dir():
            if item.name != "__pycache__":
                yield from _package_files(item, name + "/")
        elif item.name.endswith((".py", ".json")):
            yield name, item


@functools.cache
def _compiler_digest() -> str:
    digest = hashlib.sha256(f"{__version__} {sys.version}".encode())
    found = [
        *_package_files(files("accoil_map")),
        *_package_files(files("accoil_map.schemas"), "schemas/"),
    ]
    for name, item in sorted(found, key=lambda pair: pair[0]):
        digest.update(name.encode() + b"\0" + item.read_bytes() + b"\0")
    return digest.hexdigest()


def entry_path(mapping: str) -> Path | None:
    """Where a mapping file's entry lives; None when the file cannot be read."""
    try:
        path = Path(mapping)
        digest = hashlib.sha256(_compiler_digest().encode())
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    except OSError:
        return None
    return cache_dir() / f"{digest.hexdigest()}.json"


def lookup(entry_file: Path) -> Entry | None:
    """The entry stored in `entry_file`, if there is one and it passes the audit."""
    try:
        data = json.loads(entry_file.read_text(encoding="utf-8"))
        found = Entry(data["source"], data["name"], tuple(data["warnings"]))
        audit_source(found.source)
    except (OSError, ValueError, KeyError, TypeError):  # absent, damaged or refused by
        return None  # the audit (UnsafeModuleError is a ValueError): compile again
    return found


def store(entry_file: Path, entry: Entry) -> None:
    """Keep an entry, atomically; errors are ignored."""
    try:
        entry_file.parent.mkdir(parents=True, exist_ok=True)
        temporary = entry_file.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(json.dumps(asdict(entry), ensure_ascii=False), encoding="utf-8")
        os.replace(temporary, entry_file)
    except OSError:
        pass
