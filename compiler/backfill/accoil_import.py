"""Accoil's bulk historical import: call bodies -> one CSV file per call type.

Columns, from Accoil's "Import Data into Accoil" article
(https://docs.accoil.com/en/articles/11872700-import-data-into-accoil): each
file holds one type of data, CSV or zstd-compressed CSV ("ZST"):

- events: `type,name,timestamp,user_id`
- groups: `group_id,user_id,timestamp,traits` (traits a JSON string)
- identifies: `user_id,timestamp,traits` (traits a JSON string)

How calls become rows (decisions where the article is silent, also in the README):

- track -> events row `track,<event>`; page and screen -> events rows named
  `Page Viewed <name>` / `Screen Viewed <name>` with type `track`: the names
  Accoil gives page and screen calls it receives through its API, so
  imported history and the live stream count the same events;
- identify -> identifies row (no traits: `{}`); group -> groups row;
- a track call's `groupTraits` (the Amplitude integration's primary group)
  -> a groups row too, once per (group, user, traits) in each output file:
  the import has no other way to tie a user to an account;
- a call that lacks a column the import requires (`user_id` of a group or
  page call, the name of a page) is not imported; it goes to the rejects file
  as `not imported` with the reason and the call, and is counted.
"""

from __future__ import annotations

import csv
from collections.abc import Callable

import orjson

EVENTS, GROUPS, IDENTIFIES = "events", "groups", "identifies"
COLUMNS = {
    EVENTS: ("type", "name", "timestamp", "user_id"),
    GROUPS: ("group_id", "user_id", "timestamp", "traits"),
    IDENTIFIES: ("user_id", "timestamp", "traits"),
}
_VIEWED = {"page": "Page Viewed", "screen": "Screen Viewed"}


class NotImportable(ValueError):
    """A call that Accoil's import cannot take; the message says which column is missing."""


def _cell(value) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else orjson.dumps(value).decode()


def _traits(value) -> str:
    return orjson.dumps(value if value is not None else {}).decode()


def _required(body: dict, key: str, column: str, kind: str) -> str:
    value = body.get(key)
    if value is None or value == "":
        raise NotImportable(
            f"a {body.get('type')} call without {key}: {kind} import needs {column}"
        )
    return _cell(value)


def rows_of(body: dict) -> list[tuple[str, tuple[str, ...], bool]]:
    """(file kind, row, derived) for every row of a call body; NotImportable when it gives none.

    `derived` marks a groups row taken from a track call's groupTraits.
    """
    kind = body.get("type")
    timestamp = _required(body, "timestamp", "timestamp", kind or "an")
    if kind == "track":
        user = _required(body, "userId", "user_id", EVENTS)
        rows = [
            (EVENTS, ("track", _required(body, "event", "name", EVENTS), timestamp, user), False)
        ]
        for group in body.get("groupTraits") or ():
            if isinstance(group, dict) and group.get("groupId") not in (None, ""):
                traits = _traits(group.get("traits"))
                rows.append((GROUPS, (_cell(group["groupId"]), user, timestamp, traits), True))
        return rows
    if kind in _VIEWED:
        user = _required(body, "userId", "user_id", EVENTS)
        name = f"{_VIEWED[kind]} {_required(body, 'name', 'name', EVENTS)}"
        return [(EVENTS, ("track", name, timestamp, user), False)]
    if kind == "identify":
        user = _required(body, "userId", "user_id", IDENTIFIES)
        return [(IDENTIFIES, (user, timestamp, _traits(body.get("traits"))), False)]
    if kind == "group":
        group = _required(body, "groupId", "group_id", GROUPS)
        user = _required(body, "userId", "user_id", GROUPS)
        return [(GROUPS, (group, user, timestamp, _traits(body.get("traits"))), False)]
    raise NotImportable(f"a call of type {kind!r} has no import file")


class _Text:
    """What `csv.writer` needs of a file: write(str), here into a binary output."""

    def __init__(self, write: Callable[[bytes], object]):
        self._write = write

    def write(self, text: str) -> None:
        self._write(text.encode("utf-8"))


class ImportWriter:
    """Takes call bodies as `run` writes them (NDJSON) and writes the import's CSV rows.

    `open_file(kind)` gives a binary writer for a kind's file (opened on its
    first row); `not_imported(reason, body)` records a call that gives no row.
    """

    def __init__(
        self,
        open_file: Callable[[str], Callable[[bytes], object]],
        not_imported: Callable[[str, dict], None],
    ):
        self._open_file = open_file
        self._not_imported = not_imported
        self._writers: dict[str, object] = {}
        self._groups_seen: set[tuple[str, ...]] = set()

    def write(self, data: bytes) -> None:
        """Route the calls of one event (one or more NDJSON lines)."""
        for line in data.splitlines():
            body = orjson.loads(line)
            try:
                rows = rows_of(body)
            except NotImportable as exc:
                self._not_imported(str(exc), body)
                continue
            for kind, row, derived in rows:
                self._row(kind, row, derived)

    def _row(self, kind: str, row: tuple[str, ...], derived: bool) -> None:
        if derived:  # (group, user, traits): the time of the first call that showed it
            key = row[:2] + row[3:]
            if key in self._groups_seen:
                return
            self._groups_seen.add(key)
        writer = self._writers.get(kind)
        if writer is None:
            writer = csv.writer(_Text(self._open_file(kind)), lineterminator="\n")
            writer.writerow(COLUMNS[kind])
            self._writers[kind] = writer
        writer.writerow(row)
