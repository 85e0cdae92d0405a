"""yaml-language-server driven over stdio as an editor drives it, through pygls's client.

One `EditorSession` is one server process: `initialize` with the hover and
completion capabilities an editor announces, the workspace configuration
(`yaml.schemas`, validate, hover, completion) answered on request, then
`didOpen`, `publishDiagnostics`, `hover` and `completion`. Every request has
a timeout, and everything the server reports as an error (a failed request,
an error log message, text on stderr, the process exiting) is collected in
`errors`.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pygls.lsp.client import LanguageClient

HERE = Path(__file__).resolve().parent
#: The pinned server; ACCOIL_YAML_LANGUAGE_SERVER names another one's bin/yaml-language-server
#: (to try other versions by hand).
SERVER = Path(
    os.environ.get("ACCOIL_YAML_LANGUAGE_SERVER")
    or HERE / "node_modules" / "yaml-language-server" / "bin" / "yaml-language-server"
)
REQUEST_TIMEOUT = 20.0


def start_session(root: Path, schemas: dict[str, list[str]]) -> EditorSession:
    """A server for the workspace `root` with `schemas` as its `yaml.schemas` setting.

    Skips the test without node, except under CI (the CI variable set), where
    a skipped editor test would hide that it never ran.
    """
    node = shutil.which("node")
    if node is None:
        if os.environ.get("CI"):
            pytest.fail("node is not installed: CI must run the editor test")
        pytest.skip("node is not installed")
    if not SERVER.exists():
        pytest.fail(f"{SERVER} is missing: run `npm ci --prefix tests/editor`")
    settings = {
        "yaml": {
            "schemas": schemas,
            "validate": True,
            "hover": True,
            "completion": True,
            "schemaStore": {"enable": False},  # no network: never fetch the public catalog
        }
    }
    return EditorSession([node, str(SERVER), "--stdio"], root, settings).start()


@dataclass(frozen=True)
class Completion:
    """One completion item, as an editor shows it."""

    label: str
    insert_text: str


@dataclass
class EditorSession:
    """A running yaml-language-server and the state an editor keeps about it."""

    command: list[str]
    root: Path
    settings: dict[str, Any]
    errors: list[str] = field(default_factory=list)
    diagnostics: dict[str, asyncio.Queue] = field(default_factory=dict)
    _runner: asyncio.Runner = field(default_factory=asyncio.Runner)
    _client: LanguageClient | None = None
    _versions: dict[str, int] = field(default_factory=dict)
    _stopping: bool = False

    def start(self) -> EditorSession:
        """Start the server and complete the initialize handshake."""
        self._run(self._start())
        return self

    def open(self, uri: str, text: str) -> list[types.Diagnostic]:
        """Open (or reopen with new text) a YAML document; the diagnostics the server publishes."""
        return self._run(self._open(uri, text))

    def hover(self, uri: str, line: int, character: int) -> str:
        """The hover text at a 0-based position ('' when the server shows none)."""
        result = self._run(
            self._client.text_document_hover_async(
                types.HoverParams(_document(uri), types.Position(line, character))
            )
        )
        return _markup_text(result.contents) if result is not None else ""

    def complete(self, uri: str, line: int, character: int) -> list[Completion]:
        """The completion items at a 0-based position."""
        result = self._run(
            self._client.text_document_completion_async(
                types.CompletionParams(_document(uri), types.Position(line, character))
            )
        )
        items = result.items if isinstance(result, types.CompletionList) else (result or [])
        return [Completion(item.label, _insert_text(item)) for item in items]

    def stop(self) -> None:
        """Shut the server down politely, then make sure the process is gone."""
        self._stopping = True
        try:
            if self._client is not None and not self._client.stopped:
                self._run(self._client.shutdown_async(None))
                self._client.exit(None)
                self._run(self._client.stop())
        finally:  # pygls keeps the process it started in `_server`
            server = self._client._server if self._client is not None else None
            if server is not None and server.returncode is None:
                server.kill()
            self._runner.close()

    # ------------------------------------------------------------------------

    def _run(self, awaitable):
        return self._runner.run(asyncio.wait_for(awaitable, REQUEST_TIMEOUT))

    async def _start(self) -> None:
        client = LanguageClient("accoil-map-editor-test", "1")
        self._client = client
        handlers = {
            types.WORKSPACE_CONFIGURATION: self._configuration,
            types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS: self._published,
            types.WINDOW_LOG_MESSAGE: self._logged,
            types.WINDOW_SHOW_MESSAGE: self._logged,
            types.TELEMETRY_EVENT: self._telemetry,
            types.CLIENT_REGISTER_CAPABILITY: lambda _params: None,
        }
        for method, handler in handlers.items():
            # pygls marks the handler it registers, which a bound method refuses.
            client.feature(method)(lambda params, handler=handler: handler(params))
        client.report_server_error = lambda error, _source: self.errors.append(repr(error))
        client.server_exit = self._exited
        await client.start_io(*self.command, cwd=str(self.root))
        asyncio.get_running_loop().create_task(self._drain(client._server.stderr))
        await client.initialize_async(
            types.InitializeParams(
                process_id=None,
                root_uri=self.root.as_uri(),
                workspace_folders=[types.WorkspaceFolder(self.root.as_uri(), self.root.name)],
                capabilities=_CAPABILITIES,
            )
        )
        client.initialized(types.InitializedParams())
        client.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(settings=self.settings)
        )

    async def _open(self, uri: str, text: str) -> list[types.Diagnostic]:
        queue = self.diagnostics.setdefault(uri, asyncio.Queue())
        while not queue.empty():
            queue.get_nowait()
        if uri in self._versions:
            self._client.text_document_did_close(
                types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(uri))
            )
            await queue.get()  # the server clears a closed document's diagnostics
        self._versions[uri] = self._versions.get(uri, 0) + 1
        self._client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                types.TextDocumentItem(uri, "yaml", self._versions[uri], text)
            )
        )
        return list(await queue.get())

    def _configuration(self, params: types.ConfigurationParams) -> list[Any]:
        return [self.settings.get(item.section or "", None) for item in params.items]

    def _published(self, params: types.PublishDiagnosticsParams) -> None:
        self.diagnostics.setdefault(params.uri, asyncio.Queue()).put_nowait(params.diagnostics)

    def _logged(self, params: types.LogMessageParams) -> None:
        if params.type == types.MessageType.Error:
            self.errors.append(params.message)

    def _telemetry(self, params: Any) -> None:
        # The server reports the exceptions it catches (in completion, hover,
        # validation) as telemetry events named yaml.<feature>.error.
        name = params.get("name", "") if isinstance(params, dict) else ""
        if name.endswith("error"):
            self.errors.append(f"{name}: {params.get('properties')}")

    async def _exited(self, server) -> None:
        if not self._stopping:
            self.errors.append(f"the server exited with code {server.returncode}")

    async def _drain(self, stream: asyncio.StreamReader) -> None:
        # Read stderr as it comes, so the server never blocks on a full pipe.
        while line := await stream.readline():
            self.errors.append(line.decode("utf-8", "replace").rstrip())


_CAPABILITIES = types.ClientCapabilities(
    workspace=types.WorkspaceClientCapabilities(
        configuration=True,
        workspace_folders=True,
        did_change_configuration=types.DidChangeConfigurationClientCapabilities(
            dynamic_registration=True
        ),
    ),
    text_document=types.TextDocumentClientCapabilities(
        synchronization=types.TextDocumentSyncClientCapabilities(),
        publish_diagnostics=types.PublishDiagnosticsClientCapabilities(related_information=True),
        hover=types.HoverClientCapabilities(
            content_format=[types.MarkupKind.Markdown, types.MarkupKind.PlainText]
        ),
        completion=types.CompletionClientCapabilities(
            completion_item=types.ClientCompletionItemOptions(
                snippet_support=True,
                documentation_format=[types.MarkupKind.Markdown, types.MarkupKind.PlainText],
            ),
        ),
    ),
)


def _document(uri: str) -> types.TextDocumentIdentifier:
    return types.TextDocumentIdentifier(uri)


def _markup_text(contents: Any) -> str:
    if isinstance(contents, types.MarkupContent):
        return contents.value
    if isinstance(contents, list):
        return "\n".join(_markup_text(part) for part in contents)
    return contents if isinstance(contents, str) else contents.value


def _insert_text(item: types.CompletionItem) -> str:
    if item.text_edit is not None:
        return item.text_edit.new_text
    return item.insert_text if item.insert_text is not None else item.label
