"""The INPUT arguments of `backfill` -> the files to read, in a fixed order.

An argument is a file, a folder (every file under it, recursively, without
dot or underscore files such as `.DS_Store` or `_SUCCESS`), a glob, or any
of these as an fsspec URL (`s3://bucket/segment-logs/*/*/*.gz`). Files keep
the order of the arguments; within one argument they are sorted by path, so
the same arguments always give the same list. A file named twice is read
once. Files under the output folder are never inputs.
"""

from __future__ import annotations

from dataclasses import dataclass

GLOB_CHARACTERS = frozenset("*?[")


class InputError(ValueError):
    """An argument names nothing readable; the message names it."""


@dataclass(frozen=True)
class Source:
    """One input file: its URL as shown and recorded, and its size in bytes."""

    url: str
    size: int


def filesystem(url: str):
    """(fsspec filesystem, its own path) for a URL or a local path."""
    import fsspec

    try:
        return fsspec.core.url_to_fs(url)
    except (ImportError, ValueError) as exc:  # e.g. s3:// without s3fs installed
        raise InputError(f"{url}: {exc}") from exc


def display_url(fs, path: str) -> str:
    """A local file as its absolute path; anything else as protocol://path."""
    return path if _is_local(fs) else fs.unstrip_protocol(path)


def discover(arguments: list[str], exclude: str | None = None) -> list[Source]:
    """The files named by `arguments`, in order, each once; none under `exclude`."""
    excluded = _folder_prefix(exclude) if exclude else None
    found: dict[str, Source] = {}
    for argument in arguments:
        sources = _expand(argument)
        if not sources:
            raise InputError(f"{argument}: no input file matches")
        for source in sources:
            if excluded is None or not source.url.startswith(excluded):
                found.setdefault(source.url, source)
    if not found:
        raise InputError("every input file is inside the output folder")
    return list(found.values())


def _expand(argument: str) -> list[Source]:
    fs, path = filesystem(argument)
    try:
        if GLOB_CHARACTERS & set(path):
            entries = fs.glob(path, detail=True)
        elif fs.isdir(path):
            entries = {
                name: info
                for name, info in fs.find(path, detail=True).items()
                if not _hidden(name[len(path.rstrip("/")) :])
            }
        else:
            entries = {path: fs.info(path)}
    except FileNotFoundError:
        raise InputError(f"{argument}: no such file or folder") from None
    except OSError as exc:
        raise InputError(f"{argument}: {exc}") from exc
    return [
        Source(display_url(fs, name), int(info.get("size") or 0))
        for name, info in sorted(entries.items())
        if info.get("type") == "file"
    ]


def _hidden(relative: str) -> bool:
    return any(part.startswith((".", "_")) for part in relative.split("/") if part)


def _folder_prefix(url: str) -> str:
    fs, path = filesystem(url)
    return display_url(fs, path).rstrip("/") + "/"


def _is_local(fs) -> bool:
    protocol = fs.protocol
    return "file" in (protocol if isinstance(protocol, tuple) else (protocol,))
