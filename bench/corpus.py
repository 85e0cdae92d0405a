"""Deterministic corpora of realistic source events, one generator per shipped mapping.

Every generator takes a seeded `random.Random`, so the same seed and size give the
same events, byte for byte. Nothing is cached on disk; `write_ndjson` writes a
corpus out for the end-to-end benchmark.

The shapes follow what each source actually exports:

- Amplitude export events: ~1.3 KB each, property bags of 15-30 keys, 10-15%
  without a user ID, 0 to 3 group types with string or list values, some
  without `group_properties`, `[Amplitude] Page Viewed` with page titles and
  paths, a few `$identify` / `$groupidentify`, `event_time` as
  `YYYY-MM-DD HH:MM:SS.ffffff`.
- Segment spec events of every call type with `context` objects, realistic
  traits and `mrr` sometimes sent as a string.
- PostHog events: `$identify`, `$set`, `$pageview`, `$screen`, `$groupidentify`,
  custom ones and other `$` events, `person.properties` with `$geoip_*` keys,
  ISO timestamps with `Z` and with offsets.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta, timezone

import orjson

SEED = 20240501
BASE_TIME = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)

FIRST = (
    "alex",
    "sam",
    "jo",
    "kim",
    "lee",
    "maria",
    "noah",
    "olivia",
    "priya",
    "tom",
    "yuki",
    "chen",
    "fatima",
    "lars",
    "ines",
    "omar",
    "sofia",
    "david",
    "ana",
    "ben",
)
LAST = (
    "keener",
    "ng",
    "okafor",
    "smith",
    "garcia",
    "müller",
    "rossi",
    "kowalski",
    "tanaka",
    "dubois",
    "silva",
    "jensen",
    "patel",
    "cohen",
    "novak",
    "berg",
)
COMPANIES = (
    "Acme Corp",
    "Globex",
    "Initech",
    "Umbrella",
    "Hooli",
    "Stark Industries",
    "Wayne Enterprises",
    "Soylent",
    "Tyrell",
    "Cyberdyne",
    "Vandelay",
    "Massive Dynamic",
)
DOMAINS = (
    "acme.io",
    "globex.com",
    "initech.net",
    "umbrella.co",
    "hooli.xyz",
    "stark.com",
    "wayne.com",
    "soylent.org",
    "tyrell.ai",
    "cyberdyne.dev",
    "vandelay.biz",
    "massive.io",
)
PLANS = ("free", "starter", "pro", "business", "enterprise")
STATUSES = ("trial", "paying", "churned", "active", "past_due")
ROLES = ("admin", "owner", "member", "viewer", "billing")
CITIES = (
    ("Berlin", "Berlin", "Germany", "DE"),
    ("San Francisco", "California", "United States", "US"),
    ("London", "England", "United Kingdom", "GB"),
    ("Paris", "Île-de-France", "France", "FR"),
    ("Toronto", "Ontario", "Canada", "CA"),
    ("Sydney", "New South Wales", "Australia", "AU"),
    ("São Paulo", "São Paulo", "Brazil", "BR"),
    ("Tokyo", "Tokyo", "Japan", "JP"),
)
BROWSERS = ("Chrome", "Firefox", "Safari", "Edge")
OSES = (
    ("Mac OS X", "14.4"),
    ("Windows", "11"),
    ("iOS", "17.4.1"),
    ("Android", "14"),
    ("Linux", ""),
)
PRODUCT_EVENTS = (
    "Report Created",
    "Report Viewed",
    "Dashboard Shared",
    "Export Downloaded",
    "Invite Sent",
    "Integration Connected",
    "Comment Added",
    "Filter Applied",
    "Chart Edited",
    "Alert Configured",
    "Search Performed",
    "Workspace Created",
    "Subscription Upgraded",
    "Seat Added",
    "File Uploaded",
    "Login",
)
PAGES = (
    ("Dashboard", "/dashboard"),
    ("Reports", "/reports"),
    ("Billing", "/settings/billing"),
    ("Team members", "/settings/team"),
    ("Integrations", "/integrations"),
    ("Report · Weekly revenue", "/reports/weekly-revenue"),
    ("Onboarding", "/welcome"),
    ("Alerts", "/alerts"),
    ("Home", "/"),
    ("Search results", "/search"),
)
SCREENS = ("Home", "Inbox", "Report Detail", "Settings", "Notifications", "Profile")
REFERRERS = (
    "https://www.google.com/",
    "https://news.ycombinator.com/",
    "$direct",
    "https://www.linkedin.com/",
    "https://t.co/",
)
LIBRARIES = ("amplitude-ts/2.7.1", "amplitude-js/8.21.9", "amplitude-ios/8.17.1", "http/2.0")


def pick(rng: random.Random, seq):
    """`rng.choice(seq)`, several times faster (the corpus draws millions of values)."""
    return seq[int(rng.random() * len(seq))]


def below(rng: random.Random, low: int, high: int | None = None) -> int:
    """`rng.randrange(low, high)` (or `randrange(low)`), via the fast `rng.random()`."""
    if high is None:
        low, high = 0, low
    return low + int(rng.random() * (high - low))


def between(rng: random.Random, low: int, high: int) -> int:
    """`rng.randint(low, high)`: both ends included."""
    return low + int(rng.random() * (high - low + 1))


def some(rng: random.Random, seq: tuple, most: int) -> list:
    """Up to `most` items of `seq`, in order, like `rng.sample` but cheaper."""
    share = rng.random() * most / len(seq)
    return [item for item in seq if rng.random() < share]


class Pools:
    """Stable users, accounts and property bags that events are drawn from.

    Bags are drawn from pools and copied per event (building 20 random values per
    event in Python would make the corpus slower to generate than to benchmark).
    """

    def __init__(
        self, rng: random.Random, users: int = 4000, accounts: int = 600, bags: int = 2000
    ):
        self.accounts = [self._account(rng, i) for i in range(accounts)]
        self.users = [self._user(rng, i) for i in range(users)]
        self.event_bags = [_bag(rng, EVENT_PROPERTY_CANDIDATES, 14, 21) for _ in range(bags)]
        self.page_bags = [_bag(rng, EVENT_PROPERTY_CANDIDATES, 9, 20) for _ in range(bags)]
        self.small_bags = [
            _bag(rng, EVENT_PROPERTY_CANDIDATES, 2, 9, nulls=0.02) for _ in range(bags)
        ]

    def bag(self, rng: random.Random, kind: str) -> dict:
        """A fresh copy of a random `event`, `page` or `small` property bag."""
        return dict(pick(rng, getattr(self, kind + "_bags")))

    @staticmethod
    def _account(rng: random.Random, i: int) -> dict:
        k = i % len(COMPANIES)
        return {
            "id": str(below(rng, 100000, 999999))
            if rng.random() < 0.7
            else f"acc_{below(rng, 16**6):06x}",
            "name": f"{COMPANIES[k]} {i // len(COMPANIES) or ''}".strip(),
            "domain": DOMAINS[k],
            "plan": pick(rng, PLANS),
            "status": pick(rng, STATUSES),
            "workspace": f"ws-{below(rng, 1, 90)}",
            "team": f"team-{below(rng, 1, 400)}",
        }

    def _user(self, rng: random.Random, i: int) -> dict:
        first, last = pick(rng, FIRST), pick(rng, LAST)
        account = pick(rng, self.accounts)
        email = f"{first}.{last}{i}@{account['domain']}"
        return {
            "email": email,
            "user_id": email if rng.random() < 0.6 else f"usr_{below(rng, 16**8):08x}",
            "device_id": f"{below(rng, 16**8):08x}-{below(rng, 16**4):04x}-{below(rng, 16**12):012x}",
            "name": f"{first.title()} {last.title()}",
            "role": pick(rng, ROLES),
            "created": BASE_TIME - timedelta(days=below(rng, 1, 900), seconds=below(rng, 86400)),
            "city": pick(rng, CITIES),
            "os": pick(rng, OSES),
            "browser": pick(rng, BROWSERS),
            "account": account,
            "user_properties": _bag(rng, USER_PROPERTY_CANDIDATES, 14, 20),
        }


def _uuid(rng: random.Random) -> str:
    n = rng.getrandbits(128)
    h = f"{n:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _pick_keys(rng: random.Random, candidates: tuple, low: int, high: int) -> list:
    """About `low` to `high` distinct (key, make value) pairs, in candidate order."""
    share = (low + rng.random() * (high - low)) / len(candidates)
    return [pair for pair in candidates if rng.random() < share]


def _bag(rng: random.Random, candidates: tuple, low: int, high: int, nulls: float = 0.04) -> dict:
    """A property bag of `low` to `high` keys; a few values are null, as in real exports."""
    return {
        key: None if rng.random() < nulls else make(rng)
        for key, make in _pick_keys(rng, candidates, low, high)
    }


def _short(rng: random.Random) -> str:
    return f"{below(rng, 16**5):05x}"


EVENT_PROPERTY_CANDIDATES = (
    ("report_id", lambda r: f"rep_{below(r, 10**6)}"),
    ("report_type", lambda r: pick(r, ("weekly", "monthly", "adhoc", "funnel"))),
    ("dashboard_id", lambda r: below(r, 1, 5000)),
    ("source", lambda r: pick(r, ("web", "email", "slack", "api"))),
    ("channel", lambda r: pick(r, ("slack", "email", "teams"))),
    ("duration_ms", lambda r: below(r, 5, 90000)),
    ("item_count", lambda r: below(r, 0, 500)),
    ("is_template", lambda r: r.random() < 0.3),
    ("filters", lambda r: some(r, ("country", "plan", "date", "owner", "tag"), 3)),
    ("format", lambda r: pick(r, ("csv", "xlsx", "pdf", "png"))),
    ("size_kb", lambda r: round(r.uniform(1, 9000), 1)),
    ("trial_end", lambda r: f"2024-{below(r, 5, 13):02d}-{below(r, 1, 29):02d}"),
    ("experiment", lambda r: pick(r, ("new-nav", "pricing-v3", "onboarding-b"))),
    ("variant", lambda r: pick(r, ("control", "treatment"))),
    ("search_term", lambda r: pick(r, ("revenue", "churn", "q2 pipeline", "nps", "mrr by plan"))),
    ("result_count", lambda r: below(r, 0, 120)),
    ("position", lambda r: below(r, 1, 20)),
    ("integration", lambda r: pick(r, ("salesforce", "hubspot", "jira", "github"))),
    ("invitee_role", lambda r: pick(r, ROLES)),
    ("seats", lambda r: below(r, 1, 250)),
    ("price", lambda r: round(r.uniform(5, 2000), 2)),
    ("currency", lambda r: pick(r, ("USD", "EUR", "GBP"))),
    ("chart_kind", lambda r: pick(r, ("line", "bar", "pie", "table"))),
    ("tags", lambda r: [_short(r) for _ in range(between(r, 0, 3))]),
    ("ui_section", lambda r: pick(r, ("sidebar", "header", "modal", "toolbar"))),
    ("request_id", _short),
    ("retry", lambda r: r.random() < 0.05),
    ("latency", lambda r: round(r.uniform(0.01, 3.5), 3)),
    ("locale", lambda r: pick(r, ("en-US", "de-DE", "fr-FR", "ja-JP"))),
    ("feature", lambda r: pick(r, ("alerts", "exports", "sharing", "sso"))),
    ("limit_reached", lambda r: r.random() < 0.1),
    ("meta", lambda r: {"v": below(r, 1, 4), "beta": r.random() < 0.2}),
)

USER_PROPERTY_CANDIDATES = (
    ("plan_type", lambda r: pick(r, PLANS)),
    ("status", lambda r: pick(r, STATUSES)),
    ("role", lambda r: pick(r, ROLES)),
    ("company", lambda r: pick(r, COMPANIES)),
    ("seats", lambda r: below(r, 1, 500)),
    ("is_admin", lambda r: r.random() < 0.2),
    ("signup_date", lambda r: f"2023-{below(r, 1, 13):02d}-{below(r, 1, 29):02d}"),
    ("last_login", lambda r: f"2024-04-{below(r, 1, 31):02d}"),
    ("initial_utm_source", lambda r: pick(r, ("google", "linkedin", "newsletter", "EMPTY"))),
    ("initial_utm_medium", lambda r: pick(r, ("cpc", "email", "social", "EMPTY"))),
    ("initial_referrer", lambda r: pick(r, REFERRERS)),
    ("language", lambda r: pick(r, ("English", "German", "French"))),
    ("timezone", lambda r: pick(r, ("Europe/Berlin", "America/New_York", "Asia/Tokyo"))),
    ("feature_flags", lambda r: some(r, ("new-nav", "ai-summary", "beta-export", "sso"), 3)),
    ("logins", lambda r: below(r, 1, 900)),
    ("nps", lambda r: below(r, 0, 11)),
    ("onboarded", lambda r: r.random() < 0.8),
    ("team_size", lambda r: pick(r, ("1-10", "11-50", "51-200", "200+"))),
    ("industry", lambda r: pick(r, ("saas", "fintech", "retail", "health"))),
    ("country_code", lambda r: pick(r, CITIES)[3]),
    ("app_version", lambda r: f"5.{below(r, 30)}.{below(r, 10)}"),
    ("mrr", lambda r: below(r, 0, 20000)),
    ("trial_days_left", lambda r: below(r, 0, 30)),
    ("theme", lambda r: pick(r, ("dark", "light"))),
    ("email_opt_in", lambda r: r.random() < 0.6),
    ("invited_by", lambda r: f"usr_{below(r, 16**6):06x}"),
    ("cohort", lambda r: f"2024-W{below(r, 1, 19):02d}"),
    ("ltv", lambda r: round(r.uniform(0, 50000), 2)),
)


# Amplitude -----------------------------------------------------------------


def _amplitude_time(when: datetime) -> str:
    """`2024-05-01 12:00:00.123000`, UTC, as Amplitude exports it."""
    return (
        f"{when.year:04d}-{when.month:02d}-{when.day:02d} {when.hour:02d}:{when.minute:02d}"
        f":{when.second:02d}.{when.microsecond:06d}"
    )


def _amplitude_groups(rng: random.Random, account: dict, identify: bool) -> dict:
    """`groups` and usually `group_properties`: 0 to 3 group types, string or list values."""
    roll = rng.random()
    count = 1 if identify else (0 if roll < 0.15 else 1 if roll < 0.7 else 2 if roll < 0.9 else 3)
    if count == 0:
        return {} if rng.random() < 0.5 else {"groups": {}}
    groups: dict = {}
    traits: dict = {}
    kinds = (
        ("Account", account["id"]),
        ("Workspace", account["workspace"]),
        ("Team", account["team"]),
    )
    for gtype, main_id in kinds[:count]:
        ids = [main_id]
        if rng.random() < 0.15:  # a user in two accounts or teams
            ids.append(str(below(rng, 100000, 999999)))
        if rng.random() < 0.01:  # an integer ID sent by a server-side integration
            ids.append(below(rng, 1000, 99999))
        groups[gtype] = ids if len(ids) > 1 or rng.random() < 0.5 else ids[0]
        by_id = {}
        for gid in ids:
            if rng.random() < 0.8:
                by_id[str(gid)] = (
                    {"name": account["name"], "domain": account["domain"], "plan": account["plan"]}
                    if gtype == "Account"
                    else {"name": f"{gtype} {gid}"}
                )
        traits[gtype] = by_id
    if rng.random() < 0.1:
        return {"groups": groups}  # group_properties missing: no group is sent
    return {"groups": groups, "group_properties": traits}


def _amplitude_page(rng: random.Random, pools: Pools) -> dict:
    title, path = pick(rng, PAGES)
    roll = rng.random()
    if roll < 0.08:
        title = ""  # falls back to the path
    props = {
        "[Amplitude] Page Domain": "app.example.com",
        "[Amplitude] Page Location": f"https://app.example.com{path}",
        "[Amplitude] Page Path": path,
        "[Amplitude] Page Title": title,
        "[Amplitude] Page URL": f"https://app.example.com{path}",
        "referrer": pick(rng, REFERRERS),
    }
    if roll > 0.99:  # neither title nor path: the call is not sent
        del props["[Amplitude] Page Title"], props["[Amplitude] Page Path"]
    props.update(pools.bag(rng, "page"))
    return props


def amplitude_event(rng: random.Random, pools: Pools, when: datetime) -> dict:
    """One Amplitude export event."""
    user = pick(rng, pools.users)
    roll = rng.random()
    event_type = (
        "$identify"
        if roll < 0.03
        else "$groupidentify"
        if roll < 0.045
        else "[Amplitude] Page Viewed"
        if roll < 0.25
        else pick(rng, PRODUCT_EVENTS)
    )
    city, region, country, _ = user["city"]
    event = {
        "$insert_id": _uuid(rng),
        "amplitude_id": below(rng, 10**11, 10**12),
        "app": 187523,
        "city": city,
        "country": country,
        "device_id": user["device_id"],
        "event_id": below(rng, 1, 5000),
        "event_time": _amplitude_time(when),
        "event_type": event_type,
        "ip_address": f"{below(rng, 1, 255)}.{below(rng, 256)}.{below(rng, 256)}.{below(rng, 256)}",
        "library": pick(rng, LIBRARIES),
        "os_name": user["browser"],
        "os_version": user["os"][1],
        "platform": "Web",
        "region": region,
        "session_id": int(when.timestamp() * 1000) - below(rng, 0, 3600000),
        "user_id": user["user_id"],
    }
    roll = rng.random()
    if roll < 0.07:
        del event["user_id"]  # anonymous: no user ID at all
    elif roll < 0.12:
        event["user_id"] = None
    if event_type == "[Amplitude] Page Viewed":
        event["event_properties"] = _amplitude_page(rng, pools)
    elif event_type.startswith("$"):
        event["event_properties"] = {}
    else:
        event["event_properties"] = pools.bag(rng, "event")
    user_props = dict(user["user_properties"])
    if rng.random() < 0.02:
        user_props = None if rng.random() < 0.5 else {}
    event["user_properties"] = user_props
    event.update(_amplitude_groups(rng, user["account"], event_type == "$groupidentify"))
    return event


# Segment -------------------------------------------------------------------


def _iso_ms(when: datetime) -> str:
    """`2024-05-01T12:00:00.123Z` (`when` is in UTC)."""
    return (
        f"{when.year:04d}-{when.month:02d}-{when.day:02d}T{when.hour:02d}:{when.minute:02d}"
        f":{when.second:02d}.{when.microsecond // 1000:03d}Z"
    )


def _segment_context(rng: random.Random, user: dict, page: tuple | None) -> dict:
    code = user["city"][3]
    os_name, os_version = user["os"]
    context = {
        "ip": f"{below(rng, 1, 255)}.{below(rng, 256)}.{below(rng, 256)}.{below(rng, 256)}",
        "library": {"name": "analytics.js", "version": f"next-1.{below(rng, 40, 70)}.0"},
        "locale": f"en-{code}",
        "timezone": pick(rng, ("Europe/Berlin", "America/New_York", "Asia/Tokyo")),
        "userAgent": f"Mozilla/5.0 ({os_name} {os_version}) AppleWebKit/537.36 {user['browser']}/124.0",
    }
    if page is not None:
        title, path = page
        context["page"] = {
            "path": path,
            "referrer": pick(rng, REFERRERS),
            "search": "",
            "title": title,
            "url": f"https://app.example.com{path}",
        }
    if rng.random() < 0.15:
        context["campaign"] = {"name": "spring", "source": "newsletter", "medium": "email"}
    return context


def _segment_traits(rng: random.Random, user: dict) -> dict:
    traits = {
        "email": user["email"],
        "name": user["name"],
        "firstName": user["name"].split()[0],
        "lastName": user["name"].split()[1],
        "createdAt": _iso_ms(user["created"])
        if rng.random() < 0.8
        else int(user["created"].timestamp()),
        "role": user["role"],
        "title": pick(rng, ("CTO", "Engineer", "PM", "Analyst")),
        "company": {"name": user["account"]["name"], "plan": user["account"]["plan"]},
        "logins": below(rng, 1, 900),
        "avatar": f"https://i.example.com/{_short(rng)}.png",
    }
    if rng.random() < 0.4:
        traits["accountStatus"] = pick(rng, STATUSES)
    for key in some(rng, tuple(traits), 1):
        traits[key] = None  # null traits are never sent
    return traits


def _segment_mrr(rng: random.Random):
    roll = rng.random()
    if roll < 0.35:
        return str(below(rng, 0, 50000) * 10)  # "99900": the usual string form
    if roll < 0.5:
        return f"{rng.uniform(10, 9000):.2f}"
    if roll < 0.75:
        return below(rng, 0, 50000)
    if roll < 0.9:
        return round(rng.uniform(10, 9000), 2)
    return "" if roll < 0.93 else None


def segment_event(rng: random.Random, pools: Pools, when: datetime) -> dict:
    """One Segment spec event: identify, group, track, page or screen."""
    user = pick(rng, pools.users)
    roll = rng.random()
    kind = (
        "identify"
        if roll < 0.12
        else "group"
        if roll < 0.2
        else "track"
        if roll < 0.7
        else "page"
        if roll < 0.92
        else "screen"
    )
    page = pick(rng, PAGES) if kind == "page" else None
    event = {
        "anonymousId": _uuid(rng),
        "context": _segment_context(rng, user, page),
        "integrations": {},
        "messageId": f"ajs-next-{rng.getrandbits(64):016x}",
        "originalTimestamp": _iso_ms(when),
        "receivedAt": _iso_ms(when + timedelta(milliseconds=below(rng, 20, 900))),
        "sentAt": _iso_ms(when + timedelta(milliseconds=below(rng, 1, 20))),
        "timestamp": _iso_ms(when),
        "type": kind,
        "userId": user["user_id"],
        "version": 2,
    }
    if rng.random() < (0.2 if kind in ("page", "screen") else 0.05):
        del event["userId"]
    if rng.random() < 0.4:
        del event["anonymousId"]
    _SEGMENT_CALLS[kind](rng, pools, user, event, page)
    return event


def _segment_identify(rng, pools, user, event, page) -> None:
    event["traits"] = _segment_traits(rng, user)


def _segment_group(rng, pools, user, event, page) -> None:
    account = user["account"]
    event["groupId"] = account["id"] if rng.random() > 0.01 else None
    traits = {
        "name": account["name"],
        "website": f"https://{account['domain']}",
        "plan": account["plan"],
        "status": account["status"],
        "industry": "software",
        "employees": below(rng, 5, 5000),
        "createdAt": _iso_ms(user["created"]),
    }
    mrr = _segment_mrr(rng)
    if mrr is not None:
        traits["mrr"] = mrr
    event["traits"] = traits


def _segment_track(rng, pools, user, event, page) -> None:
    event["event"] = pick(rng, PRODUCT_EVENTS)
    event["properties"] = pools.bag(rng, "small")
    if rng.random() < 0.4:
        event["context"]["groupId"] = user["account"]["id"]


def _segment_page(rng, pools, user, event, page) -> None:
    title, path = page
    event["properties"] = {
        "path": path,
        "referrer": event["context"]["page"]["referrer"],
        "title": title,
        "url": f"https://app.example.com{path}",
    }
    if rng.random() < 0.85:
        event["name"] = title


def _segment_screen(rng, pools, user, event, page) -> None:
    event["context"]["app"] = {"name": "Example", "version": "5.12.0", "build": "5120"}
    event["context"]["device"] = {"model": "iPhone15,2", "type": "ios"}
    event["properties"] = {"from": pick(rng, SCREENS)}
    if rng.random() < 0.9:
        event["name"] = pick(rng, SCREENS)


_SEGMENT_CALLS = {
    "identify": _segment_identify,
    "group": _segment_group,
    "track": _segment_track,
    "page": _segment_page,
    "screen": _segment_screen,
}


# PostHog -------------------------------------------------------------------

POSTHOG_OTHER = (
    "$autocapture",
    "$pageleave",
    "$feature_flag_called",
    "$exception",
    "$web_vitals",
    "$rageclick",
    "$opt_in",
)


def _posthog_time(rng: random.Random, when: datetime) -> str:
    """ISO 8601 as PostHog sends it: mostly `Z`, sometimes with an offset."""
    roll = rng.random()
    if roll < 0.7:
        return _iso_ms(when)
    if roll < 0.8:
        return _iso_ms(when)[:19] + "Z"
    hours = pick(rng, (2, -5, 9, 5))
    local = when.astimezone(timezone(timedelta(hours=hours)))
    if roll < 0.93:
        return local.isoformat(timespec="milliseconds")
    return local.isoformat(timespec="microseconds")


def _posthog_properties(rng: random.Random, user: dict, path: str) -> dict:
    city, region, country, code = user["city"]
    os_name, os_version = user["os"]
    return {
        "$os": os_name,
        "$os_version": os_version,
        "$browser": user["browser"],
        "$device_type": "Desktop",
        "$current_url": f"https://app.example.com{path}",
        "$host": "app.example.com",
        "$pathname": path,
        "$browser_version": 124,
        "$screen_height": 1080,
        "$screen_width": 1920,
        "$lib": "web",
        "$lib_version": "1.130.1",
        "$insert_id": _short(rng),
        "$session_id": _uuid(rng),
        "$window_id": _uuid(rng),
        "$ip": f"{below(rng, 1, 255)}.{below(rng, 256)}.{below(rng, 256)}.{below(rng, 256)}",
        "$geoip_city_name": city,
        "$geoip_country_name": country,
        "$geoip_country_code": code,
        "$geoip_subdivision_1_name": region,
        "$geoip_time_zone": "Europe/Berlin",
        "$referrer": pick(rng, REFERRERS),
    }


def _posthog_person(rng: random.Random, user: dict) -> dict:
    city, _, _, code = user["city"]
    props = {
        "email": user["email"],
        "name": user["name"],
        "role": user["role"],
        "account_status": pick(rng, STATUSES),
        "created_at": _iso_ms(user["created"]),
        "$geoip_city_name": city,
        "$geoip_country_code": code,
        "$initial_current_url": "https://example.com/",
        "$initial_browser": user["browser"],
        "$initial_os": user["os"][0],
        "$initial_referrer": pick(rng, REFERRERS),
        "plan": user["account"]["plan"],
        "company": user["account"]["name"],
        "zip_code": f"{below(rng, 10000, 99999)}",
        "signup_IP": "10.0.0.1",
        "description": "power user" if rng.random() < 0.3 else None,
    }
    if rng.random() < 0.1:
        del props["role"]
    return {"id": _uuid(rng), "created_at": _iso_ms(user["created"]), "properties": props}


def posthog_event(rng: random.Random, pools: Pools, when: datetime) -> dict:
    """One PostHog event as the export / webhook sends it."""
    user = pick(rng, pools.users)
    roll = rng.random()
    name = (
        "$identify"
        if roll < 0.05
        else "$set"
        if roll < 0.08
        else "$pageview"
        if roll < 0.33
        else "$screen"
        if roll < 0.38
        else "$groupidentify"
        if roll < 0.42
        else pick(rng, POSTHOG_OTHER)
        if roll < 0.55
        else pick(rng, PRODUCT_EVENTS)
    )
    title, path = pick(rng, PAGES)
    properties = _posthog_properties(rng, user, path)
    _POSTHOG_EXTRAS.get(name, _posthog_custom)(rng, pools, user, properties, title)
    event = {
        "uuid": _uuid(rng),
        "event": name,
        "distinct_id": user["user_id"],
        "timestamp": _posthog_time(rng, when),
        "properties": properties,
        "person": _posthog_person(rng, user),
        "elements_chain": "",
    }
    if rng.random() < 0.02:
        event["distinct_id"] = ""  # an empty distinct ID is no user
    return event


def _posthog_custom(rng, pools, user, properties, title) -> None:
    properties.update(pools.bag(rng, "small"))


def _posthog_pageview(rng, pools, user, properties, title) -> None:
    roll = rng.random()
    if roll < 0.85:
        properties["title"] = title
    elif roll < 0.95:
        properties["title"] = ""
    if roll > 0.98:
        del properties["$pathname"]  # no name at all: not sent


def _posthog_screen(rng, pools, user, properties, title) -> None:
    if rng.random() < 0.92:
        properties["$screen_name"] = pick(rng, SCREENS)


def _posthog_set(rng, pools, user, properties, title) -> None:
    properties["$set"] = {"plan": user["account"]["plan"], "role": user["role"]}


def _posthog_groupidentify(rng, pools, user, properties, title) -> None:
    account = user["account"]
    group_set = {
        "name": account["name"],
        "plan": account["plan"],
        "status": account["status"],
        "created_at": _iso_ms(user["created"]),
        "industry": "software",
        "employees": below(rng, 5, 5000),
        "$geoip_country_code": user["city"][3],
        "last_ip": "10.2.3.4",
    }
    mrr = _segment_mrr(rng)
    if mrr is not None:
        group_set["mrr"] = mrr
    properties.update(
        {"$group_type": "company", "$group_key": account["id"], "$group_set": group_set}
    )
    if rng.random() < 0.3:
        properties["$anon_distinct_id"] = _uuid(rng)


_POSTHOG_EXTRAS: dict[str, Callable] = {
    "$pageview": _posthog_pageview,
    "$screen": _posthog_screen,
    "$set": _posthog_set,
    "$groupidentify": _posthog_groupidentify,
    "$identify": lambda *args: None,
    **{name: lambda *args: None for name in POSTHOG_OTHER},
}


# Corpora -------------------------------------------------------------------

GENERATORS: dict[str, Callable[[random.Random, Pools, datetime], dict]] = {
    "amplitude": amplitude_event,
    "segment": segment_event,
    "posthog": posthog_event,
}
DEFAULT_SIZES = {"amplitude": 200_000, "segment": 100_000, "posthog": 100_000}


def generate(source: str, count: int, seed: int = SEED) -> list[dict]:
    """`count` events of `source`, the same for the same seed; time moves forward."""
    rng = random.Random(f"{seed}:{source}")
    pools = Pools(rng)
    make = GENERATORS[source]
    events = []
    when = BASE_TIME
    for _ in range(count):
        when += timedelta(microseconds=below(rng, 1, 400_000))
        events.append(make(rng, pools, when))
    return events


def write_ndjson(path: str, events: Iterable[dict], repeat: int = 1) -> int:
    """Write the events as NDJSON, `repeat` times over; returns the bytes written."""
    lines = b"".join(orjson.dumps(event) + b"\n" for event in events)
    with open(path, "wb") as out:
        out.writelines(lines for _ in range(repeat))
    return len(lines) * repeat


def widened(events: Iterable[dict], properties: int = 200, seed: int = SEED) -> list[dict]:
    """The events with `properties` more event properties each (about 5 KB an Amplitude
    event): wide events, where reading only what a mapping reads matters most."""
    rng = random.Random(f"{seed}:wide")
    wide = []
    for event in events:
        bag = dict(event.get("event_properties") or {})
        for number in range(properties):
            bag[f"prop_{number:03d}"] = (
                rng.choice(("on", "off", "beta", "control")) if number % 3 else below(rng, 0, 10**6)
            )
        wide.append({**event, "event_properties": bag})
    return wide
