"""Hand-written transforms of the shipped mappings: the yardstick for the generated modules.

Each function is what a senior engineer would write by hand for one mapping:
plain dict gets into local variables, one dict literal per call, the rule
dispatch as an if/elif on the event name, values computed only for the call
that needs them, and a timestamp conversion specialised for the shape the
source actually sends, with a general (slower) fallback for everything else.

They keep the generated modules' contract, `transform(event, reasons=None) ->
list[dict]`, and produce the same payloads on the benchmark corpus (checked
before every timing run). They are not a second implementation of the
language: edge cases the corpus never exercises (an integer `mrr` of 10**5000,
a timestamp in year 0) may differ.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime

from accoil_map.runtime.contract import body_problem


class RejectEvent(Exception):
    """The event's data cannot be processed."""


# Shared helpers --------------------------------------------------------------
# Accoil's ID, name and timestamp keys take non-empty strings only: checks are
# written inline (`x.__class__ is not str or x == ""`); a converted timestamp
# is a full string or None, so `timestamp is None` suffices for it.


def _missing(value) -> bool:
    """A required key is missing unless a non-empty string (object keys are never checked)."""
    return value.__class__ is not str or value == ""


def _record(reasons: list | None, rule: str, fields: tuple) -> None:
    """Append (rule, missing keys) for a call that is not sent; off the hot path."""
    if reasons is not None:
        reasons.append((rule, tuple(key for key, value in fields if _missing(value))))


def _iso_utc(value) -> str | None:
    """General fallback: ISO 8601 (any offset) or Unix seconds/milliseconds -> `...sssZ`."""
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return None
        if moment.tzinfo is not None:
            moment = moment.astimezone(UTC)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        seconds = value / 1000 if abs(value) >= 1e11 else value
        try:
            moment = datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, ValueError, OSError):
            return None
    else:
        return None
    return (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T{moment.hour:02d}:"
        f"{moment.minute:02d}:{moment.second:02d}.{moment.microsecond // 1000:03d}Z"
    )


def _text(value) -> str | None:
    """A non-string value written as template text (strings never get here)."""
    if value is None:
        return None
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value) if isinstance(value, float) else str(value)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _number(value):
    """`as: number`: a finite int or float, or numeric text; else None."""
    if value.__class__ is int:
        return value
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            try:
                value = float(value)
            except ValueError:
                return None
    if value.__class__ is float and math.isfinite(value):
        return value
    return None


def _str(value) -> str | None:
    """`as: string`: strings as they are, other values as template text."""
    return value if value.__class__ is str else _text(value)


def _checked(body: dict, keys: tuple[str, ...], rule: str, reasons: list | None) -> list:
    """The call, with the nulls inside the values of `keys` left out (null is missing at
    every depth); nothing, and the key path recorded, when one is still broken. The
    same check the mapping's contract makes (`accoil_map.runtime.contract`)."""
    problem = body_problem(body, keys)
    if problem is None:
        return [body]
    if reasons is not None:
        reasons.append((rule, (problem,)))
    return []


def _without_nulls(value) -> dict:
    """A copy of an object without its null values; {} for anything else."""
    if not isinstance(value, dict):
        return {}
    return {key: item for key, item in value.items() if item is not None}


# Amplitude -------------------------------------------------------------------

PAGE_VIEWED = "[Amplitude] Page Viewed"


_FROM_ISO = datetime.fromisoformat


def _primary_group(event: dict) -> dict | None:
    """The group with the smallest (groupId, type); only one is kept, so no sort."""
    groups = event.get("groups")
    group_props = event.get("group_properties")
    if not isinstance(groups, dict) or not isinstance(group_props, dict):
        return None
    best = None
    for group_type, ids in groups.items():
        if isinstance(ids, str) or ids.__class__ is int:
            ids = (ids,)
        elif not isinstance(ids, list):
            continue
        for group_id in ids:
            if not isinstance(group_id, str):
                if group_id.__class__ is not int:
                    continue
                group_id = str(group_id)
            elif not group_id:  # an empty id is no id
                continue
            if best is None or (group_id, group_type) < best:
                best = (group_id, group_type)
    if best is None:
        return None
    group_id, group_type = best
    by_id = group_props.get(group_type)
    found = by_id.get(group_id) if isinstance(by_id, dict) else None
    traits = dict(found) if isinstance(found, dict) else {}
    traits["group_type"] = group_type
    return {"groupId": group_id, "traits": traits}


def _page_name(props: dict | None) -> str | None:
    """`Page Viewed <title>`, else `Page Viewed <path>`; None with neither."""
    if props is None:
        return None
    title = props.get("[Amplitude] Page Title")
    if title is None or title == "":
        title = props.get("[Amplitude] Page Path")
    if not isinstance(title, str):
        title = _text(title)
        if title is None:
            return None
    return "Page Viewed " + title


def amplitude(event, reasons: list | None = None) -> list[dict]:
    """mappings/amplitude.yaml by hand: the common path (product events and page views)
    inline, each field read once, no helper call unless a value is unusual."""
    if event.__class__ is not dict:
        raise RejectEvent("the event is not a JSON object")
    event_type = event.get("event_type")
    user_id = event.get("user_id")
    when = event.get("event_time")
    timestamp = None
    if (
        when.__class__ is str
        and len(when) == 26
        and when[10] == " "
        and when[19] == "."
        and when[4] == "-"
        and when[7] == "-"
        and when[13] == ":"
        and when[16] == ":"
        and when.isascii()
    ):
        try:
            if _FROM_ISO(when).tzinfo is None:
                timestamp = when[:10] + "T" + when[11:23] + "Z"
        except ValueError:
            pass
    if timestamp is None:
        timestamp = _iso_utc(when)
    if event_type == "$identify":
        if user_id.__class__ is not str or user_id == "" or timestamp is None:
            _record(reasons, "identify", (("userId", user_id), ("timestamp", timestamp)))
            return []
        body = {"type": "identify", "userId": user_id, "timestamp": timestamp}
        traits = event.get("user_properties")
        if traits.__class__ is dict:
            body["traits"] = traits
            return _checked(body, ("traits",), "identify", reasons)
        return [body]
    if event_type == "$groupidentify":
        group = _primary_group(event)
        group_id = group["groupId"] if group is not None else None
        if group_id.__class__ is not str or group_id == "" or timestamp is None:
            _record(reasons, "group", (("groupId", group_id), ("timestamp", timestamp)))
            return []
        body = {"type": "group", "groupId": group_id}
        if user_id.__class__ is str and user_id != "":
            body["userId"] = user_id
        body["timestamp"] = timestamp
        body["traits"] = group["traits"]
        return _checked(body, ("traits",), "group", reasons)
    event_props = event.get("event_properties")
    if event_props.__class__ is not dict:
        event_props = None
    if event_type == PAGE_VIEWED:
        rule, name = "page_views", _page_name(event_props)
    else:
        rule, name = "events", event_type
    if (
        name.__class__ is not str
        or name == ""
        or user_id.__class__ is not str
        or user_id == ""
        or timestamp is None
    ):
        _record(reasons, rule, (("event", name), ("userId", user_id), ("timestamp", timestamp)))
        return []
    body = {"type": "track", "event": name, "userId": user_id, "timestamp": timestamp}
    props = {}
    if event_props is not None:
        trial_end = event_props.get("trial_end")
        if trial_end is not None:
            props["trial_end"] = trial_end
    user_props = event.get("user_properties")
    if user_props.__class__ is dict:
        plan_type = user_props.get("plan_type")
        if plan_type is not None:
            props["plan_type"] = plan_type
        status = user_props.get("status")
        if status is not None:
            props["status"] = status
    if props:
        body["properties"] = props
    traits = None  # of the primary group
    groups = event.get("groups")
    group_props = event.get("group_properties")
    if groups.__class__ is dict and group_props.__class__ is dict:
        # the primary group inline: the smallest (group id, group type), no sort
        best = None
        for group_type, ids in groups.items():
            kind = ids.__class__
            if kind is str or kind is int:
                ids = (ids,)
            elif kind is not list:
                continue
            if group_type.__class__ is not str:
                continue
            for group_id in ids:
                if group_id.__class__ is not str:
                    if group_id.__class__ is not int:
                        continue
                    group_id = str(group_id)
                elif not group_id:  # an empty id is no id
                    continue
                if best is None or (group_id, group_type) < best:
                    best = (group_id, group_type)
        if best is not None:
            group_id, group_type = best
            by_id = group_props.get(group_type)
            found = by_id.get(group_id) if by_id.__class__ is dict else None
            traits = dict(found) if found.__class__ is dict else {}
            traits["group_type"] = group_type
            body["groupTraits"] = [{"groupId": group_id, "traits": traits}]
    if props or traits is not None:
        return _checked(body, ("properties", "groupTraits"), rule, reasons)
    return [body]


# Segment ---------------------------------------------------------------------


def segment(event, reasons: list | None = None) -> list[dict]:
    """mappings/segment.yaml by hand (timestamps are passed through unchanged)."""
    if not isinstance(event, dict):
        raise RejectEvent("the event is not a JSON object")
    kind = event.get("type")
    user_id = _str(event.get("userId"))
    timestamp = _str(event.get("timestamp"))
    if kind == "track":
        name = _str(event.get("event"))
        if (
            name.__class__ is not str
            or name == ""
            or user_id.__class__ is not str
            or user_id == ""
            or timestamp.__class__ is not str
            or timestamp == ""
        ):
            _record(
                reasons, "track", (("event", name), ("userId", user_id), ("timestamp", timestamp))
            )
            return []
        return [{"type": "track", "event": name, "userId": user_id, "timestamp": timestamp}]
    if kind == "page" or kind == "screen":
        if timestamp.__class__ is not str or timestamp == "":
            _record(reasons, kind, (("timestamp", timestamp),))
            return []
        body = {"type": kind}
        if user_id.__class__ is str and user_id != "":
            body["userId"] = user_id
        name = _str(event.get("name"))
        if name.__class__ is str and name != "":
            body["name"] = name
        body["timestamp"] = timestamp
        return [body]
    if kind == "identify":
        if (
            user_id.__class__ is not str
            or user_id == ""
            or timestamp.__class__ is not str
            or timestamp == ""
        ):
            _record(reasons, "identify", (("userId", user_id), ("timestamp", timestamp)))
            return []
        raw = event.get("traits")
        traits = _segment_traits(raw, ("email", "name", "role", "accountStatus", "createdAt"))
        body = {"type": "identify", "userId": user_id, "timestamp": timestamp, "traits": traits}
        return _checked(body, ("traits",), "identify", reasons)
    if kind == "group":
        return _segment_group(event, user_id, timestamp, reasons)
    return []


def _segment_traits(raw, fields: tuple[str, ...]) -> dict:
    """The incoming traits without nulls, the explicit fields laid over them as text."""
    traits = _without_nulls(raw)
    if traits:  # so `raw` is an object
        for field in fields:
            value = _str(raw.get(field))
            if value is not None:
                traits[field] = value
    return traits


def _segment_group(event: dict, user_id, timestamp, reasons: list | None) -> list[dict]:
    """The group call: traits without nulls, explicit fields as text, `mrr` as a number."""
    group_id = _str(event.get("groupId"))
    if (
        group_id.__class__ is not str
        or group_id == ""
        or timestamp.__class__ is not str
        or timestamp == ""
    ):
        _record(reasons, "group", (("groupId", group_id), ("timestamp", timestamp)))
        return []
    body = {"type": "group", "groupId": group_id}
    if user_id.__class__ is str and user_id != "":
        body["userId"] = user_id
    anonymous_id = _str(event.get("anonymousId"))
    if anonymous_id.__class__ is str and anonymous_id != "":
        body["anonymousId"] = anonymous_id
    body["timestamp"] = timestamp
    raw = event.get("traits")
    traits = _segment_traits(raw, ("name", "createdAt", "status", "plan"))
    if raw.__class__ is dict:  # the incoming mrr is never sent; only as a number
        traits.pop("mrr", None)
        mrr = _number(raw.get("mrr"))
        if mrr is not None:
            traits["mrr"] = mrr
    body["traits"] = traits
    return _checked(body, ("traits",), "group", reasons)


# PostHog ---------------------------------------------------------------------


def _posthog_time(value) -> str | None:
    """`2024-05-01T09:00:00.000Z` passes as is; `...:00Z` gains `.000`; the rest falls back.

    Validated as the mapping's `as: timestamp` does: `fromisoformat` checks the
    digits and the calendar and must find UTC.
    """
    if (
        value.__class__ is str
        and value[-1:] == "Z"
        and value[10:11] == "T"
        and value[4:5] == "-"
        and value[7:8] == "-"
        and value[13:14] == ":"
        and value[16:17] == ":"
        and value.isascii()
    ):
        size = len(value)
        try:
            if size == 24 and value[19] == "." and _FROM_ISO(value).tzinfo is UTC:
                return value
            if size == 20 and _FROM_ISO(value).tzinfo is UTC:
                return value[:19] + ".000Z"
        except ValueError:
            pass
    return _iso_utc(value)


def _present(value):
    """JMESPath's `value || null`: PostHog's empty() values (null, "", [], {}) are missing."""
    if value is None or value is False or value == "" or value == [] or value == {}:
        return None
    return value


def _ph_text(value) -> str | None:
    """An explicit field as PostHog sends it: toString() of a value that is not empty."""
    return _str(_present(value))


def _posthog_traits(props) -> dict:
    """The explicit person fields, as text (none of their names holds geoip, ip or current_url)."""
    return _posthog_traits_of(props, _POSTHOG_USER_FIELDS) if isinstance(props, dict) else {}


_POSTHOG_USER_FIELDS = (
    ("email", "email"),
    ("name", "name"),
    ("role", "role"),
    ("accountStatus", "account_status"),
    ("createdAt", "created_at"),
)
_POSTHOG_GROUP_FIELDS = (
    ("name", "name"),
    ("createdAt", "created_at"),
    ("status", "status"),
    ("plan", "plan"),
)


def _posthog_group_traits(group_set) -> dict:
    """The explicit group fields of `$group_set`, as text, and mrr as a number."""
    if not isinstance(group_set, dict):
        return {}
    traits = _posthog_traits_of(group_set, _POSTHOG_GROUP_FIELDS)
    mrr = _number(_present(group_set.get("mrr")))
    if mrr is not None:
        traits["mrr"] = mrr
    return traits


def _posthog_traits_of(props: dict, fields: tuple) -> dict:
    """(trait, property) pairs: each property that is not empty, as text, under its trait."""
    traits = {}
    for trait, key in fields:
        value = _ph_text(props.get(key))
        if value is not None:
            traits[trait] = value
    return traits


def posthog(event, reasons: list | None = None) -> list[dict]:
    """mappings/posthog.yaml by hand."""
    if not isinstance(event, dict):
        raise RejectEvent("the event is not a JSON object")
    name = event.get("event")
    if not isinstance(name, str):
        raise RejectEvent("starts_with() expects strings")
    user_id = _ph_text(event.get("distinct_id"))
    timestamp = _posthog_time(event.get("timestamp"))
    if not name.startswith("$"):
        if name == "" or user_id.__class__ is not str or user_id == "" or timestamp is None:
            _record(
                reasons,
                "custom_events",
                (("event", name), ("userId", user_id), ("timestamp", timestamp)),
            )
            return []
        return [{"type": "track", "event": name, "userId": user_id, "timestamp": timestamp}]
    if name == "$pageview" or name == "$screen":
        return _posthog_view(event, name, user_id, timestamp, reasons)
    if name == "$identify" or name == "$set":
        if user_id.__class__ is not str or user_id == "" or timestamp is None:
            _record(reasons, "identify", (("userId", user_id), ("timestamp", timestamp)))
            return []
        person = event.get("person")
        props = person.get("properties") if isinstance(person, dict) else None
        return [
            {
                "type": "identify",
                "userId": user_id,
                "timestamp": timestamp,
                "traits": _posthog_traits(props),
            }
        ]
    if name == "$groupidentify":
        return _posthog_group(event, user_id, timestamp, reasons)
    return []


def _posthog_view(event: dict, name: str, user_id, timestamp, reasons: list | None) -> list[dict]:
    """A page (named `title ?? $pathname`) or screen call; none without a name."""
    props = event.get("properties")
    is_page = name == "$pageview"
    view = None
    if isinstance(props, dict):
        if is_page:
            view = props.get("title")
            if view is None:
                view = props.get("$pathname")
        else:
            view = props.get("$screen_name")
    view = _str(view)
    if view.__class__ is not str or view == "" or timestamp is None:
        rule = "pageview" if is_page else "screen"
        _record(reasons, rule, (("name", view), ("timestamp", timestamp)))
        return []
    body = {"type": "page" if is_page else "screen"}
    if user_id.__class__ is str and user_id != "":
        body["userId"] = user_id
    body["name"] = view
    body["timestamp"] = timestamp
    return [body]


def _posthog_group(event: dict, user_id, timestamp, reasons: list | None) -> list[dict]:
    """The group call from `$group_key` and `$group_set`."""
    props = event.get("properties")
    if not isinstance(props, dict):
        props = {}
    group_id = _str(props.get("$group_key"))
    if group_id.__class__ is not str or group_id == "" or timestamp is None:
        _record(reasons, "group", (("groupId", group_id), ("timestamp", timestamp)))
        return []
    body = {"type": "group", "groupId": group_id}
    if user_id.__class__ is str and user_id != "":
        body["userId"] = user_id
    anonymous_id = _ph_text(props.get("$anon_distinct_id"))
    if anonymous_id.__class__ is str and anonymous_id != "":
        body["anonymousId"] = anonymous_id
    body["timestamp"] = timestamp
    body["traits"] = _posthog_group_traits(props.get("$group_set"))
    return [body]


TRANSFORMS = {"amplitude": amplitude, "segment": segment, "posthog": posthog}
