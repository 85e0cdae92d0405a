"""Input adapters: events whose shape differs from what a shipped mapping reads.

PostHog's batch exports (S3 and file downloads, JSON lines or Parquet) hold
`uuid, event, distinct_id, properties, person_properties, timestamp,
created_at, ...`; the shipped `mappings/posthog.yaml` reads PostHog's webhook
shape, where the person's properties are under `person.properties`. The
`posthog-batch-export` adapter gives the mapping that shape: it adds
`person: {properties: <person_properties>}`, and decodes the fields that
Parquet stores as JSON-encoded strings (`properties`, `person_properties`,
`set`, `set_once`). Everything else, `timestamp` included, is left as it
is. The event itself is not changed: reject records show it as exported.

Backfill picks the adapter from the input's shape (`formats.shape_of_*`);
`--adapter none` turns it off for a mapping written against the batch
shape itself.
"""

from __future__ import annotations

from collections.abc import Callable

import orjson

from .formats import POSTHOG_BATCH

JSON_STRING_FIELDS = ("properties", "person_properties", "set", "set_once")

AUTO, NONE = "auto", "none"
CHOICES = (AUTO, NONE, POSTHOG_BATCH)


def posthog_batch_export(event):
    """A batch-export row in the webhook shape the PostHog mapping reads (a new dict)."""
    if type(event) is not dict:
        return event  # the module rejects it as not an object, as `run` would
    adapted = dict(event)
    for key in JSON_STRING_FIELDS:
        value = adapted.get(key)
        if type(value) is str:
            # Bad JSON raises orjson.JSONDecodeError (a ValueError): process_lines
            # rejects the line as unreadable event data, naming the error.
            adapted[key] = orjson.loads(value)
    if "person" not in adapted:
        adapted["person"] = {"properties": adapted.get("person_properties")}
    return adapted


def chosen(setting: str, shape: str) -> str:
    """The adapter to apply: the one the shape calls for under `auto`, else the setting."""
    if setting == AUTO:
        return POSTHOG_BATCH if shape == POSTHOG_BATCH else NONE
    return setting


def adapted_transform(transform: Callable, adapter: str) -> Callable:
    """`transform(event, reasons, nulls)` behind the adapter (the same function when none)."""
    if adapter == NONE:
        return transform
    if adapter != POSTHOG_BATCH:
        raise ValueError(f"unknown adapter {adapter!r}")
    adapt = posthog_batch_export
    return lambda event, reasons, nulls=True: transform(adapt(event), reasons, nulls)
