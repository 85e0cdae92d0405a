"""Editors: the mapping schema as a file, and the settings attaching it to mapping files.

Editors check YAML through Red Hat's yaml-language-server, which finds a
file's schema in its `# yaml-language-server: $schema=...` line or in the
`yaml.schemas` setting, a map of schema to file patterns. The setting needs
no path relative to each file, so mappings can move between folders freely.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from .schema import SCHEMAS

#: Where `write_editor_settings` puts things, relative to the repository.
SETTINGS_FILE = ".vscode/settings.json"
SCHEMA_COPY = ".accoil-map/mapping.schema.json"


class EditorSettingsError(Exception):
    """An existing settings file that cannot be updated without losing something."""


def schema_text() -> str:
    """The mapping schema shipped with this version of accoil-map, as JSON text."""
    return SCHEMAS.joinpath("mapping.schema.json").read_text(encoding="utf-8")


def schema_url() -> str:
    """The schema's stable `$id` URL (what the SchemaStore catalog entry points to)."""
    return json.loads(schema_text())["$id"]


def editor_settings(schema: str, folder: str = "mappings") -> dict:
    """Editor settings attaching `schema` (a URL, or a path from the repository root) to every
    YAML file in `folder` and below it."""
    return {"yaml.schemas": {schema: [f"{folder}/**/*.yaml", f"{folder}/**/*.yml"]}}


def write_editor_settings(root: str | os.PathLike, folder: str = "mappings") -> list[Path]:
    """Write the schema into `root` and point `.vscode/settings.json` at it; the files written.

    The copy keeps editors offline and in step with the installed compiler
    (run it again after an upgrade). Other settings in an existing file are
    kept; a file that is not plain JSON (VS Code allows comments) is left
    alone and EditorSettingsError says what to add.
    """
    root = Path(root)
    schema_file, settings_file = root / SCHEMA_COPY, root / SETTINGS_FILE
    wanted = editor_settings(f"./{SCHEMA_COPY}", folder)
    settings = _read_settings(settings_file, wanted)
    schemas = settings.setdefault("yaml.schemas", {})
    if not isinstance(schemas, dict):
        raise EditorSettingsError(
            f"{settings_file}: 'yaml.schemas' is not an object; {_advice(wanted)}"
        )
    schemas.update(wanted["yaml.schemas"])
    write_text_atomically(schema_file, schema_text())
    write_text_atomically(settings_file, json.dumps(settings, indent=2, ensure_ascii=False) + "\n")
    return [schema_file, settings_file]


def write_text_atomically(path: Path, text: str) -> None:
    """Write `text` to `path` through a temporary file, so no reader sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def _read_settings(settings_file: Path, wanted: dict) -> dict:
    try:
        text = settings_file.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    try:
        settings = json.loads(text) if text.strip() else {}
    except ValueError as error:
        raise EditorSettingsError(
            f"{settings_file}: not plain JSON ({error}); {_advice(wanted)}"
        ) from None
    if not isinstance(settings, dict):
        raise EditorSettingsError(f"{settings_file}: not a JSON object; {_advice(wanted)}")
    return settings


def _advice(wanted: dict) -> str:
    return f"add this by hand: {json.dumps(wanted)}"
