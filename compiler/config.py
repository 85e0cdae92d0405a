"""The project configuration: which mappings a repository has and where their tests live.

Read from `[tool.accoil-map]` in `pyproject.toml`, or from the top level of an
`accoil-map.toml` (which wins when both exist)::

    [tool.accoil-map]
    mappings = ["mappings/*.yaml"]      # files or globs, relative to the root
    golden = "golden"                   # golden cases of mapping <stem> in golden/<stem>/
    snapshot-module = false             # also pin the generated module
    pytest = true                       # the pytest plugin collects the golden cases

    [tool.accoil-map.samples]           # real events per mapping (NDJSON)
    mixpanel = ["samples/mixpanel.ndjson"]

Every key is optional. The root is the nearest folder, from where the command
starts and upwards, holding the configuration or `.git`; without either, the
starting folder. Without `golden`, a mapping's cases live in `golden/<stem>/`
beside its folder (`mappings/x.yaml` -> `golden/x/`), and in `<root>/golden/`
for a mapping at the root. Nothing is ever written outside the root.
"""

from __future__ import annotations

import difflib
import glob
import tomllib
from dataclasses import dataclass
from pathlib import Path

PYPROJECT = "pyproject.toml"
CONFIG_FILE = "accoil-map.toml"
DEFAULT_MAPPINGS = ("mappings/*.yaml",)
_KEYS = ("mappings", "golden", "snapshot-module", "pytest", "samples")


class ConfigError(Exception):
    """A configuration that cannot be used, or a path outside the repository."""


@dataclass(frozen=True)
class MappingEntry:
    """One mapping of the project: its name (the file's stem), file, golden folder, samples."""

    name: str
    path: Path
    golden: Path
    samples: tuple[Path, ...] = ()


@dataclass(frozen=True)
class Project:
    """A repository's mappings and settings; every path is absolute and inside `root`."""

    root: Path
    config_file: Path | None
    mappings: tuple[MappingEntry, ...]
    snapshot_module: bool = False
    pytest: bool = True
    golden_base: Path | None = None  # the configured `golden` folder, if any

    def mapping(self, spec: str) -> MappingEntry:
        """The mapping named `spec`, or the mapping file at path `spec` (configured or not)."""
        for entry in self.mappings:
            if spec == entry.name:
                return entry
        path = Path(spec).resolve()
        for entry in self.mappings:
            if entry.path == path:
                return entry
        if not path.is_file():
            names = ", ".join(entry.name for entry in self.mappings) or "none"
            raise ConfigError(f"no mapping named or at {spec!r} (mappings: {names})")
        return _entry(self.root, path, self.golden_base, samples={})

    def relative(self, path: Path) -> str:
        """`path` as the user reads it: relative to the root."""
        return path.relative_to(self.root).as_posix()


def name_of(path: Path) -> str:
    """The mapping name of a file: its stem, without the `.accoil` of `x.accoil.yaml`."""
    return path.stem.removesuffix(".accoil")


def find_root(start: Path, fallback: Path | None = None) -> tuple[Path, Path | None]:
    """The repository root at or above `start`, and its configuration file if it has one.

    With neither a configuration nor `.git` above it, the root is `fallback` when that
    holds `start`, else `start` itself: never a folder the user did not point at."""
    start = start.resolve()
    for folder in (start, *start.parents):
        config = _config_file(folder)
        if config is not None:
            return folder, config
        if (folder / ".git").exists():
            return folder, None
    if fallback is not None and start.is_relative_to(fallback.resolve()):
        return fallback.resolve(), None
    return start, None


def load_project(start: Path | str | None = None, fallback: Path | None = None) -> Project:
    """The project containing `start` (default: the current folder); ConfigError if broken."""
    start = Path(start) if start is not None else Path.cwd()
    root, config_file = find_root(start, fallback)
    table, where = _table(config_file) if config_file is not None else ({}, "")
    return _project(root, config_file, table, where)


def project_of_mapping(spec: str) -> tuple[Project, MappingEntry]:
    """The project and entry of a mapping given by name (from the current folder) or by path."""
    if Path(spec).is_file():
        project = load_project(Path(spec).resolve().parent, fallback=Path.cwd())
    else:
        project = load_project()
    return project, project.mapping(spec)


def inside(root: Path, path: Path, what: str) -> Path:
    """`path`, resolved, when it is inside `root`; ConfigError otherwise."""
    resolved = path.resolve()
    if not resolved.is_relative_to(root):
        raise ConfigError(f"{what} {resolved} is outside the repository root {root}")
    return resolved


def _config_file(folder: Path) -> Path | None:
    if (folder / CONFIG_FILE).is_file():
        return folder / CONFIG_FILE
    pyproject = folder / PYPROJECT
    # A cheap look before parsing: most pyproject.toml files are not ours.
    ours = pyproject.is_file() and b"accoil-map" in pyproject.read_bytes()
    return pyproject if ours and "accoil-map" in _read_toml(pyproject).get("tool", {}) else None


def _read_toml(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None


def _table(config_file: Path) -> tuple[dict, str]:
    """The settings of a configuration file, checked, and how messages name it."""
    data = _read_toml(config_file)
    if config_file.name == PYPROJECT:
        data = data["tool"]["accoil-map"]
        where = f"{config_file}: [tool.accoil-map]"
    else:
        where = str(config_file)
    if not isinstance(data, dict):
        raise ConfigError(f"{where} is not a table")
    for key in data:
        if key not in _KEYS:
            near = difflib.get_close_matches(key, _KEYS, n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            raise ConfigError(f"{where}: unknown key {key!r}{hint}; known: {', '.join(_KEYS)}")
    _expect(data, "mappings", list, where, "a list of files or globs")
    _expect(data, "golden", str, where, "a folder")
    _expect(data, "snapshot-module", bool, where, "true or false")
    _expect(data, "pytest", bool, where, "true or false")
    _expect(data, "samples", dict, where, "a table of mapping name = [files]")
    if not all(isinstance(item, str) for item in data.get("mappings", [])):
        raise ConfigError(f"{where}: mappings: expected a list of strings")
    for name, files in data.get("samples", {}).items():
        if not (isinstance(files, list) and all(isinstance(f, str) for f in files)):
            raise ConfigError(f"{where}: samples.{name}: expected a list of files")
    return data, where


def _expect(data: dict, key: str, kind: type, where: str, wanted: str) -> None:
    if key in data and not isinstance(data[key], kind):
        raise ConfigError(f"{where}: {key}: expected {wanted}, got {data[key]!r}")


def _project(root: Path, config_file: Path | None, table: dict, where: str) -> Project:
    golden = table.get("golden")
    golden_base = inside(root, root / golden, "golden folder") if golden is not None else None
    samples = table.get("samples", {})
    entries = [
        _entry(root, path, golden_base, samples)
        for path in _mapping_files(root, table.get("mappings", DEFAULT_MAPPINGS))
    ]
    names = [entry.name for entry in entries]
    for name in names:
        if names.count(name) > 1:
            paths = [e.path.relative_to(root).as_posix() for e in entries if e.name == name]
            raise ConfigError(f"two mappings named {name!r}: {', '.join(paths)}")
    for name in samples:
        if name not in names:
            raise ConfigError(
                f"{where}: samples.{name}: no such mapping (mappings: {', '.join(names) or 'none'})"
            )
    return Project(
        root,
        config_file,
        tuple(entries),
        snapshot_module=table.get("snapshot-module", False),
        pytest=table.get("pytest", True),
        golden_base=golden_base,
    )


def _mapping_files(root: Path, patterns: list[str] | tuple[str, ...]) -> list[Path]:
    files: dict[Path, None] = {}
    for pattern in patterns:
        for found in sorted(glob.glob(pattern, root_dir=root, recursive=True)):
            path = inside(root, root / found, "mapping")
            if path.is_file():
                files[path] = None
    return list(files)


def _entry(root: Path, path: Path, golden_base: Path | None, samples: dict) -> MappingEntry:
    name = name_of(path)
    if golden_base is None:
        # golden/ beside the folder of mappings, and never above the root.
        folder = path.parent
        golden_base = root / "golden" if folder == root else folder.parent / "golden"
    golden = inside(root, golden_base / name, f"golden folder of {name!r}")
    files = tuple(inside(root, root / f, f"sample of {name!r}") for f in samples.get(name, ()))
    return MappingEntry(name, path, golden, files)
