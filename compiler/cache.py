"""A cache of generated modules, so that `run` skips checking and compiling a
mapping it has compiled before (about 0.35 s of its start-up).

An entry is keyed by the sha256 of everything the generated source depends
on: the bytes of the mapping that were compiled (read once: the same bytes
are hashed and compiled, so an editor's save in between cannot pair one
text's key with another's module) and its file name, the compiler's own
source files and schemas (so a changed compiler never serves a stale
module), the versions of the libraries that read the mapping, and the
Python version. It holds the audited source, the mapping's name and the
warnings to print again.

The cache is trusted only as far as it must be: its folder and every entry
must belong to the user and be writable by nobody else, entries are created
with O_EXCL under a random name and renamed into place, read without
following links, and audited again when read, so a file changed inside the
cache still cannot run anything. When the folder cannot be trusted, `run`
says so once on stderr and compiles. Caching is best effort: an unusable
cache only costs time.

Location: $ACCOIL_MAP_CACHE_DIR, else $XDG_CACHE_HOME/accoil-map, else
~/.cache/accoil-map. `run --no-cache` bypasses it.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import stat
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from importlib import metadata
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

from . import __version__
from .audit import audit_source

#: The libraries whose reading of a mapping decides the generated source.
_READERS = ("jinja2", "jmespath", "PyYAML", "jsonschema")
_UNSAFE_MODE = stat.S_IWGRP | stat.S_IWOTH


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


def trusted_dir() -> Path | None:
    """The cache folder, created if needed, when only this user can write it; else None
    (said once on stderr)."""
    folder = cache_dir()
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = os.lstat(folder)
    except OSError:
        return None  # unusable: compiling only costs time
    problem = _untrusted(info, "folder")
    if problem is not None:
        _warn_once(f"not using the cache {folder}: {problem}")
        return None
    return folder


def entry_key(mapping_bytes: bytes, file_name: str) -> str:
    """The key of the entry for these mapping bytes under this file name."""
    digest = hashlib.sha256(_compiler_digest().encode())
    digest.update(os.fsencode(Path(file_name).name) + b"\0" + mapping_bytes)
    return digest.hexdigest()


def lookup(folder: Path, key: str) -> Entry | None:
    """The entry stored under `key`, if there is one, it is trusted and passes the audit."""
    try:
        fd = os.open(folder / f"{key}.json", os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None  # absent (or a link): compile again
    with os.fdopen(fd, "rb") as stream:
        info = os.fstat(stream.fileno())
        problem = _untrusted(info, "entry")
        if problem is not None:
            _warn_once(f"not using the cache entry {folder / key}.json: {problem}")
            return None
        try:
            data = json.loads(stream.read())
            found = Entry(data["source"], data["name"], tuple(data["warnings"]))
            audit_source(found.source)
        except (OSError, ValueError, KeyError, TypeError):  # damaged or refused by the
            return None  # audit (UnsafeModuleError is a ValueError): compile again
    return found


def store(folder: Path, key: str, entry: Entry) -> None:
    """Keep an entry: written under a fresh name (O_EXCL, mode 0600), then renamed."""
    try:
        fd, temporary = tempfile.mkstemp(dir=folder, prefix=f".{key[:16]}.", suffix=".tmp")
    except OSError:
        return
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            stream.write(json.dumps(asdict(entry), ensure_ascii=False))
        os.replace(temporary, folder / f"{key}.json")
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(temporary)


def _untrusted(info: os.stat_result, what: str) -> str | None:
    """Why a cache folder or entry cannot be trusted, or None."""
    kind = stat.S_ISDIR if what == "folder" else stat.S_ISREG
    if not kind(info.st_mode):
        return f"the {what} is not a plain {'directory' if what == 'folder' else 'file'}"
    if info.st_uid != os.getuid():
        return f"the {what} belongs to another user (uid {info.st_uid})"
    if info.st_mode & _UNSAFE_MODE:
        return f"the {what} is writable by others (mode {stat.S_IMODE(info.st_mode):o})"
    return None


@functools.cache
def _warn_once(message: str) -> None:
    print(f"accoil-map: warning: {message}; compiling instead", file=sys.stderr)


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
    readers = " ".join(f"{name}={_version(name)}" for name in _READERS)
    digest = hashlib.sha256(f"{__version__} {sys.version} {readers}".encode())
    found = [
        *_package_files(files("accoil_map")),
        *_package_files(files("accoil_map.schemas"), "schemas/"),
    ]
    for name, item in sorted(found, key=lambda pair: pair[0]):
        digest.update(name.encode() + b"\0" + item.read_bytes() + b"\0")
    return digest.hexdigest()


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "?"
