"""accoil-map: compile YAML mappings of analytics events into Accoil API calls.

The public API::

    import accoil_map

    checked = accoil_map.check("mappings/amplitude.yaml")   # or YAML text
    source = accoil_map.compile_source(checked)              # the generated module
    module = accoil_map.load(checked)                        # ... imported
    module.transform({"event_type": "Report Created", ...})  # -> [call bodies]
    print(accoil_map.explain(checked, event))                # rule by rule, why

Problems raise `MappingError`, whose `diagnostics` are `Diagnostic`s
(`file:line:col`, message, hint). Every other module is private.
"""

__version__ = "0.1.0"

__all__ = [
    "Checked",
    "Diagnostic",
    "MappingError",
    "__version__",
    "check",
    "compile_source",
    "explain",
    "load",
]

_PUBLIC = {
    "Checked": "pipeline",
    "check": "pipeline",
    "compile_source": "pipeline",
    "explain": "pipeline",
    "load": "pipeline",
    "Diagnostic": "errors",
    "MappingError": "errors",
}


def __getattr__(name: str):
    # Imported on first use: `accoil-map run` with a cached module never needs
    # the compiler (jsonschema, jinja2, ...), and starts faster without it.
    if name not in _PUBLIC:
        raise AttributeError(f"module 'accoil_map' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f".{_PUBLIC[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
