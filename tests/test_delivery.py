"""`send` against a fake Accoil that fails on purpose: at least once, nothing lost, counts that add up.

Every test runs a real aiohttp server on 127.0.0.1 (tests/fake_accoil.py) and
the real delivery (in this process, with short timeouts and backoff); the
fake records what it accepted, the dead-letter file what was given up.
"""

from __future__ import annotations

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accoil_map.delivery.command import send_file
from accoil_map.delivery.journal import Journal, JournalError
from accoil_map.delivery.policy import RetryPolicy
from tests.fake_accoil import FakeAccoil
from tests.sending import call, dead_letters, options, write_lines

RETRIED = ("503", "429", "slow", "reset", "accept-drop")
NOT_RETRIED = ("400", "413")


def deliver(fake: FakeAccoil, tmp_path, items: list, **changes):
    """Write `items` as the input, send it to `fake`; (outcome, dead-letter records)."""
    path = write_lines(tmp_path / "calls.ndjson", items)
    settings_ = options(fake.url, tmp_path / "state", **changes)
    outcome = send_file(str(path), settings_)
    return outcome, dead_letters(settings_.dead_letter)


def dead_ids(records: list[dict]) -> list[str]:
    return [record["body"]["messageId"] for record in records if "body" in record]


@pytest.mark.parametrize("fault", RETRIED)
def test_a_retried_fault_ends_in_one_delivery(tmp_path, fault):
    plan = {"m0": [fault], "m3": [fault, fault]}
    with FakeAccoil(plan=plan, slow=0.6) as fake:
        outcome, records = deliver(fake, tmp_path, [call(n) for n in range(6)])
    tally = outcome.tally
    assert (tally.sent, tally.dead, tally.retries) == (6, 0, 3)
    assert records == []
    assert fake.attempts["m0"] == 2 and fake.attempts["m3"] == 3
    # accept-drop is the fault that forces a duplicate: Accoil took the body, the answer was lost.
    duplicates = {"m0": 2, "m3": 3} if fault == "accept-drop" else {}
    assert fake.accepted_ids == {f"m{n}": duplicates.get(f"m{n}", 1) for n in range(6)}
    assert fake.unauthorized == fake.invalid == 0


@pytest.mark.parametrize("fault", NOT_RETRIED)
def test_a_refused_call_is_dead_lettered_after_one_try(tmp_path, fault):
    with FakeAccoil(plan={"m1": [fault]}) as fake:
        outcome, records = deliver(fake, tmp_path, [call(n) for n in range(4)])
    assert (outcome.tally.sent, outcome.tally.dead, outcome.tally.retries) == (3, 1, 0)
    assert fake.attempts["m1"] == 1 and "m1" not in fake.accepted_ids
    (record,) = records
    assert record["line"] == 2 and record["body"] == call(1)
    assert record["status"] == int(fault) and record["attempts"] == 1
    assert record["reason"].startswith(f"not retried: HTTP {fault}")
    assert record["response"] == f"fault {fault}"


TRANSIENT = st.sampled_from(("503", "503", "429", "reset", "accept-drop", "slow"))


@st.composite
def schedules(draw) -> tuple[list[str], str | None]:
    """Faults met by successive attempts, then the last answer (None: accepted).

    A call that Accoil accepted once (accept-drop) is not later refused: the
    same body cannot be both good and bad.
    """
    final = draw(st.sampled_from((None, None, None, "400", "413")))
    faults = draw(st.lists(TRANSIENT, max_size=3))
    if final is not None:
        faults = [fault for fault in faults if fault != "accept-drop"]
    return faults, final


_FAULT_SETTINGS = {
    "deadline": None,
    "database": None,
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
}
_FAULT_CASES = {
    "plans": st.lists(schedules(), min_size=1, max_size=16),
    "invalid": st.lists(st.integers(0, 16), max_size=3),
    "blank": st.lists(st.integers(0, 16), max_size=2),
    "concurrency": st.sampled_from((2, 8)),
    "ordered": st.booleans(),
}


@settings(max_examples=10, **_FAULT_SETTINGS)
@given(**_FAULT_CASES)
def test_random_fault_schedules(tmp_path_factory, plans, invalid, blank, concurrency, ordered):
    """Each valid call is accepted at least once or dead-lettered with its reason, never both."""
    _random_fault_schedule(tmp_path_factory.mktemp("faults"), plans, invalid, blank, concurrency, ordered)


@pytest.mark.deep
@settings(max_examples=200, **_FAULT_SETTINGS)  # about a second each: minutes, not hours
@given(**_FAULT_CASES)
def test_random_fault_schedules_deep(deep, tmp_path_factory, plans, invalid, blank, concurrency, ordered):
    _random_fault_schedule(tmp_path_factory.mktemp("faults"), plans, invalid, blank, concurrency, ordered)


def _random_fault_schedule(tmp_path, plans, invalid, blank, concurrency, ordered) -> None:
    items: list = [call(n, user=f"user-{n % 3}") for n in range(len(plans))]
    for position in sorted(invalid, reverse=True):
        items.insert(position, {"type": "track", "userId": "u", "messageId": "bad"})
    for position in blank:
        items.insert(position, b"  ")
    plan = {f"m{n}": faults + ([final] if final else []) for n, (faults, final) in enumerate(plans)}
    with FakeAccoil(plan=plan, slow=0.6) as fake:
        outcome, records = deliver(fake, tmp_path, items, concurrency=concurrency, ordered=ordered)
    tally = outcome.tally
    refused = {f"m{n}" for n, (_, final) in enumerate(plans) if final}
    assert set(dead_ids(records)) == refused | ({"bad"} if invalid else set())
    for record in records:
        if record["body"]["messageId"] == "bad":
            assert record["reason"] == "invalid call: event: missing, required in a track call"
        else:
            assert record["reason"].startswith("not retried: HTTP 4")
    for n, (faults, final) in enumerate(plans):
        key = f"m{n}"
        assert fake.attempts[key] == len(faults) + 1, key  # never retried after a refusal
        expected = 0 if final else 1 + faults.count("accept-drop")
        assert fake.accepted_ids[key] == expected, key  # accepted, or dead-lettered, never both
    assert fake.attempts["bad"] == 0 and fake.invalid == 0  # an invalid call is never sent
    assert (tally.sent, tally.dead, tally.invalid, tally.blank) == (
        len(plans) - len(refused), len(refused), len(invalid), len(blank)
    )
    assert tally.not_sent == 0 and tally.retries == sum(len(f) for f, _ in plans)
    assert tally.received + tally.blank == tally.settled + tally.blank == len(items)


def test_retry_after_is_waited_for(tmp_path):
    with FakeAccoil(plan={"m0": ["429"]}, retry_after="1") as fake:
        outcome, _ = deliver(fake, tmp_path, [call(0)])
    first, second = fake.attempt_times["m0"]
    assert second - first >= 1.0  # the server's wait, not the 10 ms backoff of these options
    assert outcome.tally.sent == 1 and fake.accepted_ids["m0"] == 1


def test_the_retry_window_ends_in_a_dead_letter(tmp_path):
    window = RetryPolicy(window=0.4, initial=0.02, maximum=0.05)
    with FakeAccoil(plan={"m0": ["503"] * 1000}) as fake:
        outcome, records = deliver(fake, tmp_path, [call(0), call(1)], retry=window)
    (record,) = records
    assert record["body"] == call(0) and record["status"] == 503
    assert record["reason"].startswith(f"retry window (0.4s) ended after {record['attempts']} attempts")
    assert record["attempts"] == fake.attempts["m0"] >= 3
    assert (outcome.tally.sent, outcome.tally.dead) == (1, 1)


def test_a_retry_after_past_the_window_is_not_waited_for(tmp_path):
    with FakeAccoil(plan={"m0": ["429"]}, retry_after="3600") as fake:
        _, records = deliver(fake, tmp_path, [call(0)], retry=RetryPolicy(window=60.0))
    (record,) = records
    assert record["reason"].startswith("Retry-After of 3600s goes past the retry window (1m)")
    assert record["status"] == 429 and fake.attempts["m0"] == 1


def _first_acceptances(fake: FakeAccoil) -> list[str]:
    """messageIds in the order the fake first accepted them."""
    seen: dict[str, None] = {}
    for body in fake.accepted:
        seen.setdefault(orjson.loads(body)["messageId"], None)
    return list(seen)


def test_calls_of_one_user_arrive_in_input_order(tmp_path):
    """A user's calls wait for the one before them, however it fails first."""
    calls = [call(n, user=f"user-{n % 4}") for n in range(40)]
    plan = {f"m{n}": ["503", "reset", "slow"][n % 3 : n % 3 + 1] for n in range(0, 40, 5)}
    with FakeAccoil(plan=plan, slow=0.4) as fake:
        outcome, _ = deliver(fake, tmp_path, calls, concurrency=8)
    assert outcome.tally.sent == 40
    order = _first_acceptances(fake)
    for user in range(4):
        mine = [key for key in order if int(key[1:]) % 4 == user]
        assert mine == sorted(mine, key=lambda key: int(key[1:])), (user, mine)


def test_unordered_lets_a_users_later_call_pass_a_slow_one(tmp_path):
    calls = [call(n, user="same") for n in range(3)]
    with FakeAccoil(plan={"m0": ["slow"]}, slow=0.5) as fake:
        outcome, _ = deliver(fake, tmp_path, calls, ordered=False)
    assert outcome.tally.sent == 3
    assert _first_acceptances(fake)[-1] == "m0"


@pytest.mark.parametrize("concurrency", [1, 3, None])
def test_never_more_calls_in_flight_than_the_limit(tmp_path, concurrency):
    with FakeAccoil(latency=0.02, plan={"m5": ["503", "503"]}) as fake:
        outcome, _ = deliver(fake, tmp_path, [call(n) for n in range(60)], concurrency=concurrency)
    assert outcome.tally.sent == 60
    assert fake.max_in_flight == (concurrency or fake.max_in_flight) and fake.max_in_flight <= 200
    if concurrency is None:  # auto grew past one call at a time
        assert fake.max_in_flight > 1


def test_rate_caps_the_calls_per_second(tmp_path):
    """10 calls at 20/s take 0.45 s from first to last (arrival jitter allowed: 0.1 s)."""
    with FakeAccoil() as fake:
        outcome, _ = deliver(fake, tmp_path, [call(n) for n in range(10)], rate=20.0)
    starts = sorted(times[0] for times in fake.attempt_times.values())
    assert outcome.tally.sent == 10
    assert starts[-1] - starts[0] >= 0.35


def test_a_rerun_sends_only_what_was_not_settled(tmp_path):
    items = [call(n) for n in range(10)] + [{"type": "page"}, b""]
    with FakeAccoil(plan={"m4": ["400"]}) as fake:
        first, _ = deliver(fake, tmp_path, items)
        second, records = deliver(fake, tmp_path, items)
    assert (first.tally.sent, first.tally.dead, first.tally.invalid) == (9, 1, 1)
    assert (second.tally.sent, second.tally.already_sent) == (0, 9)
    assert (second.tally.earlier_dead, second.tally.earlier_invalid, second.tally.blank) == (1, 1, 1)
    assert len(records) == 2  # the second run wrote no dead letter again
    assert sum(fake.accepted_ids.values()) == 9


def test_a_journal_refuses_another_input(tmp_path):
    with FakeAccoil() as fake:
        deliver(fake, tmp_path, [call(0)])
        with pytest.raises(JournalError, match="another input sha256"):
            deliver(fake, tmp_path, [call(1)])  # the same size, another call
    assert fake.accepted_ids == {"m0": 1}


def test_a_second_sender_on_the_same_state_is_refused(tmp_path):
    path = write_lines(tmp_path / "calls.ndjson", [call(0)])
    state = tmp_path / "state"
    with FakeAccoil() as fake:
        about = {"input_path": str(path)}
        holder = Journal(state, about)
        try:
            with pytest.raises(JournalError, match="another `accoil-map send` is using it"):
                send_file(str(path), options(fake.url, state))
        finally:
            holder.close()
        assert fake.attempts == {}
