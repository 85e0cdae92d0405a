"""pytest plugin: every golden case of the repository's mappings is a test item.

pytest loads this module wherever accoil-map is installed (entry point
`pytest11`), so it costs nothing unless asked for: it acts only when the
repository around pytest's rootdir has an accoil-map configuration
(`[tool.accoil-map]` in pyproject.toml or an accoil-map.toml; `pytest = false`
there turns it off) or when pytest runs with `-p accoil_map`.

Items are named `<mapping>::<case>` (`mixpanel::page_view_without_title`),
and `<mapping>::generated/module.py` for the module snapshot. They join a run
of the whole suite (no paths given, or `testpaths`) or of a path holding
their golden folder (`pytest golden/`); a run of other files does not
compile any mapping. Results are compared through syrupy against the files
`accoil-map test` reads; `pytest --snapshot-update` rewrites them.
"""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

PLUGIN = "accoil_map"


def pytest_configure(config: pytest.Config) -> None:
    """Register the golden cases of the repository when the plugin is wanted."""
    from .config import ConfigError, find_root, load_project

    explicit = PLUGIN in (config.getoption("plugins", None) or [])
    root, config_file = find_root(config.rootpath)
    if config_file is None and not explicit:
        return
    try:
        project = load_project(root)
    except ConfigError as exc:
        raise pytest.UsageError(f"accoil-map: {exc}") from None
    if not (project.pytest or explicit):
        return
    if not config.pluginmanager.hasplugin("syrupy"):
        raise pytest.UsageError(
            "accoil-map: golden cases are compared through syrupy: "
            "pip install 'accoil-map[pytest]' (or add -p syrupy when plugin autoload is off)"
        )
    config.pluginmanager.register(GoldenCases(project), "accoil_map_golden_cases")


class GoldenCases:
    """Adds the golden items of a project to the collected ones."""

    def __init__(self, project):
        self.project = project
        self.compiled: dict = {}

    @pytest.hookimpl(tryfirst=True)  # before -k, -m, --lf and syrupy look at the items
    def pytest_collection_modifyitems(self, session, config, items) -> None:
        for entry in self.project.mappings:
            if _wanted(config, entry.golden):
                mapping = GoldenMapping.from_parent(
                    session, name=entry.name, nodeid=entry.name, path=entry.path
                )
                mapping.plugin, mapping.entry = self, entry
                items.extend(mapping.collect())

    def compile(self, entry):
        """The compiled mapping, once per session; a mapping error fails each item."""
        from .errors import MappingError
        from .golden import compile_entry

        if entry not in self.compiled:
            try:
                self.compiled[entry] = compile_entry(entry)
            except MappingError as exc:
                self.compiled[entry] = exc
        found = self.compiled[entry]
        if not hasattr(found, "module"):
            lines = [d.format() for d in found.diagnostics]
            pytest.fail("\n".join([f"{entry.path}: invalid mapping", *lines]), pytrace=False)
        return found


def _wanted(config: pytest.Config, golden: Path) -> bool:
    """Whether this run covers a golden folder: the whole suite, or a path around or in it."""
    if config.args_source == pytest.Config.ArgsSource.TESTPATHS:
        return True
    base = config.invocation_params.dir
    for arg in config.args:
        path = (base / arg.split("::")[0]).resolve()
        if golden.is_relative_to(path) or path.is_relative_to(golden):
            return True
    return False


class GoldenMapping(pytest.Collector):
    """One mapping of the project; its children are its golden cases."""

    plugin: GoldenCases
    entry: object  # the config.MappingEntry

    def collect(self) -> list[pytest.Item]:
        from .golden import GoldenFolder

        folder = GoldenFolder(self.entry.golden)
        items = [
            GoldenItem.from_parent(
                self, name=case.name, callobj=self._case_test(case), target=case.expected
            )
            for case in folder.cases
        ]
        if self.plugin.project.snapshot_module:
            item = GoldenItem.from_parent(
                self,
                name="generated/module.py",
                callobj=self._module_test(folder),
                target=folder.module,
            )
            items.append(item)
        return items

    def _case_test(self, case):
        def golden_case(snapshot):
            from .golden import CaseError, evaluate_case

            try:
                event = case.event
            except CaseError as exc:
                pytest.fail(str(exc), pytrace=False)
            result = evaluate_case(self.plugin.compile(self.entry).module, event)
            _compare(snapshot.use_extension(_extensions()[0]), result, case.expected)

        return golden_case

    def _module_test(self, folder):
        def golden_module(snapshot):
            source = self.plugin.compile(self.entry).source
            _compare(snapshot.use_extension(_extensions()[1]), source, folder.module)

        return golden_module


def _compare(assertion, actual, target: Path) -> None:
    """Assert through syrupy; a failure shows the diff `accoil-map test` shows, no traceback."""
    from .golden import Outcome

    if assertion != actual:
        text = assertion.extension.serialize(actual)
        stored = target.read_text(encoding="utf-8") if target.exists() else None
        diff = "".join(Outcome(target.stem, target, stored, text).diff())
        pytest.fail(diff or f"{target}: does not match", pytrace=False)


class GoldenItem(pytest.Function):
    """A golden case (or the module snapshot) as a test; `target` is its expected file."""

    def __init__(self, *, target: Path, **kwargs):
        super().__init__(**kwargs)
        self.target = target

    def reportinfo(self):
        return self.target, None, f"{self.parent.name}::{self.name}"


@functools.cache  # syrupy tells extensions apart by class: make each one once
def _extensions():
    """The syrupy extensions for case files and the module, made on first use (syrupy
    is imported only where the plugin is active)."""
    from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode

    from .golden import comparable_module, serialize

    class GoldenFile(SingleFileSnapshotExtension):
        """A snapshot stored at its item's `target`, the file `accoil-map test` reads.

        syrupy also asks about other tests' items when it looks for unused snapshots:
        those are never stored here."""

        _write_mode = WriteMode.TEXT

        @classmethod
        def dirname(cls, *, test_location) -> str:
            target = getattr(test_location.item, "target", None)
            return str(target.parent) if target else super().dirname(test_location=test_location)

        @classmethod
        def get_snapshot_name(cls, *, test_location, index=0) -> str:
            target = getattr(test_location.item, "target", None)
            if target is None:
                return super().get_snapshot_name(test_location=test_location, index=index)
            return target.stem

        @classmethod
        def matches_test_location(cls, *, test_location, snapshot_location) -> bool:
            return Path(snapshot_location) == getattr(test_location.item, "target", None)

    class CaseFile(GoldenFile):
        file_extension = "json"

        def serialize(self, data, **kwargs) -> str:
            return serialize(data)

    class ModuleFile(GoldenFile):
        file_extension = "py"

        def matches(self, *, serialized_data, snapshot_data) -> bool:
            # The hash of the YAML and its line numbers change with a comment-only edit.
            return snapshot_data is not None and comparable_module(
                serialized_data
            ) == comparable_module(snapshot_data)

    return CaseFile, ModuleFile
