"""The project configuration: the root, the defaults, `[tool.accoil-map]` and `accoil-map.toml`,
and every way a configuration can be wrong (a clear message, never a write outside the root)."""

from __future__ import annotations

from pathlib import Path

import pytest

from accoil_map.config import ConfigError, find_root, load_project, project_of_mapping

MAPPING = "version: 1\nname: {name}\nsource: custom\nrules: []\n"


def repo(root: Path, files: dict[str, str]) -> Path:
    """A folder with `.git` and the given files."""
    (root / ".git").mkdir(parents=True)
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


def test_defaults_golden_beside_the_mappings_folder(tmp_path):
    root = repo(tmp_path, {"mappings/mixpanel.yaml": "", "mappings/heap.yaml": ""})
    project = load_project(root)
    assert (project.root, project.config_file, project.snapshot_module) == (root, None, False)
    assert [(e.name, e.path, e.golden) for e in project.mappings] == [
        ("heap", root / "mappings" / "heap.yaml", root / "golden" / "heap"),
        ("mixpanel", root / "mappings" / "mixpanel.yaml", root / "golden" / "mixpanel"),
    ]


def test_a_mapping_at_the_root_keeps_its_cases_inside_the_repository(tmp_path):
    # The case: golden/ was guessed as the grandparent, the folder above the repository.
    root = repo(tmp_path / "repo", {"mixpanel.yaml": MAPPING.format(name="mixpanel")})
    project, entry = project_of_mapping(str(root / "mixpanel.yaml"))
    assert project.root == root
    assert entry.golden == root / "golden" / "mixpanel"


def test_nested_mapping_folders(tmp_path):
    root = repo(tmp_path, {"analytics/mappings/a.yaml": ""})
    _, entry = project_of_mapping(str(root / "analytics" / "mappings" / "a.yaml"))
    assert entry.golden == root / "analytics" / "golden" / "a"


def test_root_found_from_a_subfolder_by_the_configuration(tmp_path):
    root = repo(tmp_path, {})
    (root / "sub").mkdir()
    (root / "sub" / "accoil-map.toml").write_text("", encoding="utf-8")
    (root / "sub" / "deeper").mkdir()
    assert find_root(root / "sub" / "deeper") == (root / "sub", root / "sub" / "accoil-map.toml")


def test_a_pyproject_without_the_table_is_not_a_root(tmp_path):
    root = repo(tmp_path, {"pkg/pyproject.toml": "[project]\nname = 'x'\n"})
    assert find_root(root / "pkg") == (root, None)


def test_without_config_or_git_the_root_is_the_folder_pointed_at(tmp_path):
    folder = tmp_path / "loose" / "mappings"
    folder.mkdir(parents=True)
    assert find_root(folder, fallback=tmp_path / "loose") == (tmp_path / "loose", None)
    # A fallback that does not hold the folder is not used: never a folder above it.
    assert find_root(folder, fallback=tmp_path / "elsewhere") == (folder, None)


PYPROJECT = """\
[project]
name = "pipelines"

[tool.accoil-map]
mappings = ["sources/*.yaml", "extra/one.yaml"]
golden = "tests/golden"
snapshot-module = true
pytest = false

[tool.accoil-map.samples]
mixpanel = ["data/mixpanel.ndjson", "data/more.ndjson"]
"""


def test_pyproject_table(tmp_path):
    root = repo(
        tmp_path,
        {"pyproject.toml": PYPROJECT, "sources/mixpanel.yaml": "", "extra/one.yaml": ""},
    )
    project = load_project(root / "sources")
    assert project.config_file == root / "pyproject.toml"
    assert (project.snapshot_module, project.pytest) == (True, False)
    mixpanel, one = project.mappings
    assert (mixpanel.name, mixpanel.golden) == ("mixpanel", root / "tests" / "golden" / "mixpanel")
    assert mixpanel.samples == (root / "data" / "mixpanel.ndjson", root / "data" / "more.ndjson")
    assert (one.name, one.golden, one.samples) == ("one", root / "tests" / "golden" / "one", ())
    assert project.mapping("one") == one
    assert project.mapping(str(root / "extra" / "one.yaml")) == one
    # A mapping file the configuration does not name keeps its cases in the configured folder.
    (root / "sources" / "sub").mkdir()
    (root / "sources" / "sub" / "two.yaml").write_text("", encoding="utf-8")
    two = project.mapping(str(root / "sources" / "sub" / "two.yaml"))
    assert two.golden == root / "tests" / "golden" / "two"


def test_accoil_map_toml_wins_over_pyproject(tmp_path):
    root = repo(
        tmp_path,
        {
            "pyproject.toml": PYPROJECT,
            "accoil-map.toml": 'mappings = ["m/*.yaml"]\n',
            "m/a.accoil.yaml": "",
        },
    )
    project = load_project(root)
    assert project.config_file == root / "accoil-map.toml"
    assert [(e.name, e.golden) for e in project.mappings] == [("a", root / "golden" / "a")]


@pytest.mark.parametrize(
    ("config", "message"),
    [
        pytest.param(
            'golden = "../outside"\n',
            "golden folder {tmp}/outside is outside the repository root {root}",
            id="golden-outside",
        ),
        pytest.param(
            'mappings = ["../*.yaml"]\n',
            "mapping {tmp}/stray.yaml is outside the repository root {root}",
            id="mapping-outside",
        ),
        pytest.param(
            "snapshot_module = true\n",
            "{root}/accoil-map.toml: unknown key 'snapshot_module' (did you mean "
            "'snapshot-module'?); known: mappings, golden, snapshot-module, pytest, samples",
            id="unknown-key",
        ),
        pytest.param(
            'mappings = "mappings/*.yaml"\n',
            "{root}/accoil-map.toml: mappings: expected a list of files or globs, "
            "got 'mappings/*.yaml'",
            id="mappings-not-a-list",
        ),
        pytest.param(
            'snapshot-module = "yes"\n',
            "{root}/accoil-map.toml: snapshot-module: expected true or false, got 'yes'",
            id="not-a-boolean",
        ),
        pytest.param(
            '[samples]\nmixpanl = ["s.ndjson"]\n',
            "{root}/accoil-map.toml: samples.mixpanl: no such mapping (mappings: mixpanel)",
            id="samples-of-unknown-mapping",
        ),
        pytest.param(
            '[samples]\nmixpanel = "s.ndjson"\n',
            "{root}/accoil-map.toml: samples.mixpanel: expected a list of files",
            id="samples-not-a-list",
        ),
        pytest.param(
            'mappings = ["mappings/*.yaml", "other/*.yaml"]\n',
            "two mappings named 'mixpanel': mappings/mixpanel.yaml, other/mixpanel.yaml",
            id="duplicate-names",
        ),
    ],
)
def test_configuration_errors(tmp_path, config, message):
    (tmp_path / "stray.yaml").write_text("", encoding="utf-8")
    root = repo(
        tmp_path / "repo",
        {"accoil-map.toml": config, "mappings/mixpanel.yaml": "", "other/mixpanel.yaml": ""},
    )
    with pytest.raises(ConfigError) as error:
        load_project(root)
    assert str(error.value) == message.format(tmp=tmp_path, root=root)


def test_invalid_toml_names_the_file_and_place(tmp_path):
    root = repo(tmp_path, {"pyproject.toml": "[tool.accoil-map]\ngolden = \n"})
    with pytest.raises(ConfigError) as error:
        load_project(root)
    assert str(error.value).startswith(f"{root}/pyproject.toml: invalid TOML: ")
    assert "(at line 2, column 10)" in str(error.value)


def test_unknown_mapping_lists_the_known_ones(tmp_path):
    root = repo(tmp_path, {"mappings/heap.yaml": ""})
    with pytest.raises(ConfigError, match=r"no mapping named or at 'hep' \(mappings: heap\)"):
        load_project(root).mapping("hep")
