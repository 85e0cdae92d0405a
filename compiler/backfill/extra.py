"""The optional dependencies of `backfill`, checked once with a message that says what to install."""

from __future__ import annotations

import importlib.util

BACKFILL_MODULES = ("dask", "distributed", "fsspec", "zstandard", "rich")


class MissingExtra(Exception):
    """An optional dependency is not installed; the message names the pip command."""


def require_backfill() -> None:
    """Raise MissingExtra unless every module of the `backfill` extra can be imported."""
    missing = [name for name in BACKFILL_MODULES if importlib.util.find_spec(name) is None]
    if missing:
        raise MissingExtra(
            f"accoil-map backfill needs the 'backfill' extra (missing: {', '.join(missing)}): "
            "pip install 'accoil-map[backfill]'"
        )


def require_parquet() -> None:
    """Raise MissingExtra unless pyarrow (the `parquet` extra) can be imported."""
    if importlib.util.find_spec("pyarrow") is None:
        raise MissingExtra(
            "reading Parquet (PostHog batch exports) needs pyarrow: pip install 'accoil-map[parquet]'"
        )
