"""Importing generated source as a module, with real lines in tracebacks."""

from __future__ import annotations

import hashlib
import linecache
import types


def import_source(source: str, name: str) -> types.ModuleType:
    """Execute generated source as a fresh module registered in linecache."""
    digest = hashlib.sha256(source.encode()).hexdigest()[:12]
    filename = f"<accoil-map {name} {digest}>"
    # linecache lets tracebacks and pdb show the generated lines.
    linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
    module = types.ModuleType(f"accoil_map_generated_{digest}")
    module.__file__ = filename
    exec(compile(source, filename, "exec"), module.__dict__)
    return module
