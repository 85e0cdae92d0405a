"""The shipped mappings against the integrations they reproduce, case by case.

`tests/peers/<mapping>.json` holds, for each golden case `peer_*` of the
mapping, the test of the integration's own suite it comes from and the
bodies that integration sends for it in its default configuration (none
when it sends nothing). The compiled mapping must send exactly those
bodies; timestamps are compared as instants, since PostHog sends
`2024-01-01T00:00:00Z` where the mapping writes `2024-01-01T00:00:00.000Z`.
"""

from __future__ import annotations

import datetime
import json

import pytest

import accoil_map
from accoil_map.golden import GoldenFolder

from .conftest import ROOT, compiled

PEERS = ROOT / "tests" / "peers"
#: The integrations' own test files, per mapping: where every peer case comes from.
SOURCES = {
    "posthog": {
        "PostHog/posthog nodejs/src/cdp/templates/_destinations/accoil/accoil.template.test.ts"
    },
    "rudderstack": {
        "rudderlabs/rudder-transformer test/integrations/destinations/accoil_analytics/processor/data.ts",
        "rudderlabs/rudder-transformer test/integrations/destinations/accoil_analytics/router/data.ts",
    },
    "segment": {
        "segmentio/action-destinations packages/destination-actions/src/destinations/"
        f"accoil-analytics/{action}/__tests__/index.test.ts"
        for action in ("track", "identify", "group", "page", "screen")
    },
}
#: How many default-configuration cases each suite has (README, "The shipped mappings").
COUNTS = {"posthog": 21, "rudderstack": 19, "segment": 5}


def _peer_cases():
    for name in sorted(SOURCES):
        for case, peer in json.loads((PEERS / f"{name}.json").read_text()).items():
            yield pytest.param(name, case, peer, id=f"{name}/{case}")


def _instant(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text)  # Python 3.11 reads "Z"


def _comparable(body: dict) -> dict:
    """The body with its timestamp as an instant."""
    if isinstance(body.get("timestamp"), str):
        return {**body, "timestamp": _instant(body["timestamp"])}
    return body


@pytest.mark.parametrize("name,case,peer", list(_peer_cases()))
def test_mapping_sends_the_integrations_body(name, case, peer):
    mapping = ROOT / "mappings" / f"{name}.yaml"
    _, module, _ = compiled(mapping)
    (found,) = [c for c in GoldenFolder(ROOT / "golden" / name).cases if c.name == case]
    event = found.event
    calls = module.transform(event)
    assert [_comparable(call) for call in calls] == [_comparable(b) for b in peer["bodies"]]


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_every_peer_case_names_its_source_test(name):
    peers = json.loads((PEERS / f"{name}.json").read_text())
    cases = {c.name: c for c in GoldenFolder(ROOT / "golden" / name).cases}
    assert len(peers) == COUNTS[name]
    assert {peer["source"] for peer in peers.values()} == SOURCES[name]
    for case, peer in peers.items():
        description = cases[case].load()["description"]
        assert peer["source"] in description and peer["test"] in description, case


def test_instants_compare_formats_of_the_same_time():
    assert _instant("2024-01-01T00:00:00Z") == _instant("2024-01-01T00:00:00.000Z")
    assert _instant("2024-01-01T00:00:00Z") != _instant("2024-01-01T00:00:00.001Z")


def test_posthog_additional_traits_knob_works_as_posthogs():
    """The "Additional User Traits" knob filled in: mapped traits are added, an explicit
    field that is not empty wins, empty values are not sent, and the geoip/ip/current_url
    filter applies to mapped keys too (accoil.template.ts)."""
    text = (ROOT / "mappings" / "posthog.yaml").read_text()
    knob = (
        "additional_user_traits:\n"
        '    company: {path: "person.properties.company || `null`"}\n'
        '    email: {path: "person.properties.work_email || `null`"}\n'
        '    team: {path: "person.properties.team || `null`"}\n'
        '    client_ip: {path: "person.properties.ip_seen || `null`"}\n'
    )
    assert text.count("additional_user_traits: {}\n") == 1
    module = accoil_map.load(accoil_map.check(text.replace("additional_user_traits: {}\n", knob)))
    person = {"email": "a@example.com", "work_email": "w@example.com", "company": "Acme",
              "team": "", "ip_seen": "10.0.0.1"}  # fmt: skip
    event = {"event": "$identify", "distinct_id": "u1", "timestamp": "2024-01-01T00:00:00Z",
             "person": {"properties": person}}  # fmt: skip
    (call,) = module.transform(event)
    assert call["traits"] == {"company": "Acme", "email": "a@example.com"}
    person["email"] = ""  # an empty explicit field gives way to the mapped one
    (call,) = module.transform(event)
    assert call["traits"] == {"company": "Acme", "email": "w@example.com"}
