"""Attaching the schema: `accoil-map schema`, the shipped editor settings, the settings written
for a user's repository and the SchemaStore catalog entry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from accoil_map.cli import main
from accoil_map.editor import (
    SCHEMA_COPY,
    SETTINGS_FILE,
    EditorSettingsError,
    editor_settings,
    schema_text,
    schema_url,
    write_editor_settings,
)

ROOT = Path(__file__).resolve().parent.parent
SHIPPED_SCHEMA = (ROOT / "schemas" / "mapping.schema.json").read_text(encoding="utf-8")


def test_schema_prints_the_shipped_schema(capsys):
    assert main(["schema"]) == 0
    assert capsys.readouterr().out == SHIPPED_SCHEMA


def test_schema_writes_a_file_and_its_folder(tmp_path, capsys):
    target = tmp_path / "editor" / "mapping.schema.json"
    assert main(["schema", "-o", str(target)]) == 0
    assert target.read_text(encoding="utf-8") == SHIPPED_SCHEMA
    assert [p.name for p in target.parent.iterdir()] == ["mapping.schema.json"]  # no temporary left
    assert capsys.readouterr().out == ""


def test_compile_names_the_module_of_an_accoil_yaml_file_without_the_dot(tmp_path):
    mapping = tmp_path / "amplitude.accoil.yaml"
    mapping.write_text((ROOT / "mappings" / "amplitude.yaml").read_text(encoding="utf-8"))
    assert main(["compile", str(mapping), "-o", str(tmp_path / "out")]) == 0
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["amplitude.py"]


def test_the_shipped_vscode_settings_are_what_editor_settings_gives():
    shipped = json.loads((ROOT / ".vscode" / "settings.json").read_text(encoding="utf-8"))
    assert shipped == editor_settings("./schemas/mapping.schema.json")
    assert shipped == {
        "yaml.schemas": {
            "./schemas/mapping.schema.json": ["mappings/**/*.yaml", "mappings/**/*.yml"]
        }
    }


def test_the_catalog_entry_points_at_the_schemas_id():
    entry = json.loads(
        (ROOT / "docs" / "schemastore-catalog-entry.json").read_text(encoding="utf-8")
    )
    assert entry["url"] == schema_url() == json.loads(SHIPPED_SCHEMA)["$id"]
    assert entry["fileMatch"] == ["*.accoil.yaml", "*.accoil.yml"]
    assert set(entry) == {"name", "description", "fileMatch", "url"}


def test_write_editor_settings_in_a_new_repository(tmp_path):
    written = write_editor_settings(tmp_path)
    assert written == [tmp_path / SCHEMA_COPY, tmp_path / SETTINGS_FILE]
    assert (tmp_path / SCHEMA_COPY).read_text(encoding="utf-8") == schema_text() == SHIPPED_SCHEMA
    settings = json.loads((tmp_path / SETTINGS_FILE).read_text(encoding="utf-8"))
    assert settings == editor_settings("./.accoil-map/mapping.schema.json")


def test_write_editor_settings_keeps_other_settings_and_is_idempotent(tmp_path):
    settings_file = tmp_path / SETTINGS_FILE
    settings_file.parent.mkdir()
    other = {"editor.tabSize": 2, "yaml.schemas": {"./ci.schema.json": [".ci/*.yaml"]}}
    settings_file.write_text(json.dumps(other), encoding="utf-8")
    write_editor_settings(tmp_path, folder="analytics")
    first = settings_file.read_bytes()
    write_editor_settings(tmp_path, folder="analytics")
    assert settings_file.read_bytes() == first
    assert json.loads(first) == {
        "editor.tabSize": 2,
        "yaml.schemas": {
            "./ci.schema.json": [".ci/*.yaml"],
            "./.accoil-map/mapping.schema.json": ["analytics/**/*.yaml", "analytics/**/*.yml"],
        },
    }


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('{\n  // my settings\n  "editor.tabSize": 2\n}\n', "not plain JSON"),
        ("[1, 2]", "not a JSON object"),
        ('{"yaml.schemas": ["x"]}', "'yaml.schemas' is not an object"),
    ],
)
def test_write_editor_settings_never_loses_a_settings_file_it_cannot_read(tmp_path, text, problem):
    settings_file = tmp_path / SETTINGS_FILE
    settings_file.parent.mkdir()
    settings_file.write_text(text, encoding="utf-8")
    with pytest.raises(EditorSettingsError) as raised:
        write_editor_settings(tmp_path)
    message = str(raised.value)
    assert message.startswith(f"{settings_file}: {problem}")
    assert (
        "add this by hand: " + json.dumps(editor_settings("./.accoil-map/mapping.schema.json"))
        in message
    )
    assert settings_file.read_text(encoding="utf-8") == text
    assert not (tmp_path / SCHEMA_COPY).exists()
