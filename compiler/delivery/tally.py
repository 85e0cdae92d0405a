"""The counts of one `send` run, and the summary that adds them up.

Every unit of the input (a line of calls, or with `run --send` a call) ends in
exactly one bucket: `total = sent + already sent + dead-lettered + invalid +
blank (+ not sent, when the run was stopped)`.
"""

from __future__ import annotations

from dataclasses import dataclass

from .journal import DEAD, DELIVERED


@dataclass
class Tally:
    """Counters, updated as calls are settled."""

    unit: str = "lines"
    received: int = 0  # calls taken from the input
    blank: int = 0
    sent: int = 0
    dead: int = 0
    invalid: int = 0
    already_sent: int = 0  # delivered by an earlier run
    earlier_dead: int = 0
    earlier_invalid: int = 0
    resent: int = 0  # sent again after an earlier run stopped with it in flight
    retries: int = 0

    def count_earlier(self, state: int) -> None:
        """Count a call that an earlier run settled (`state` is its journal code)."""
        if state == DELIVERED:
            self.already_sent += 1
        elif state == DEAD:
            self.earlier_dead += 1
        else:
            self.earlier_invalid += 1

    @property
    def settled(self) -> int:
        """Calls with an outcome, this run's or an earlier one's."""
        return (
            self.sent
            + self.already_sent
            + self.dead
            + self.earlier_dead
            + self.invalid
            + self.earlier_invalid
        )

    @property
    def not_sent(self) -> int:
        """Calls taken from the input that have no outcome (the run was stopped)."""
        return self.received - self.settled

    @property
    def done(self) -> int:
        """Units accounted for so far: settled calls and blank lines."""
        return self.settled + self.blank

    @property
    def undelivered(self) -> int:
        """Calls that are not delivered and will not be by resuming: dead-lettered or invalid."""
        return self.dead + self.earlier_dead + self.invalid + self.earlier_invalid

    def equation(self) -> str:
        """`20,000 lines = 19,990 sent + 0 already sent + 5 dead-lettered + 3 invalid + 2 blank`."""
        terms = [
            f"{self.sent:,} sent",
            f"{self.already_sent:,} already sent",
            f"{self.dead + self.earlier_dead:,} dead-lettered",
            f"{self.invalid + self.earlier_invalid:,} invalid",
        ]
        if self.unit == "lines":
            terms.append(f"{self.blank:,} blank")
        if self.not_sent:
            terms.append(f"{self.not_sent:,} not sent (stopped)")
        return f"{self.received + self.blank:,} {self.unit} = " + " + ".join(terms)

    def details(self) -> list[str]:
        """The lines under the equation: earlier runs, retries, possible duplicates."""
        lines = []
        if self.earlier_dead or self.earlier_invalid:
            lines.append(
                f"{self.earlier_dead:,} of the dead-lettered and {self.earlier_invalid:,} of the "
                "invalid were settled by an earlier run"
            )
        if self.retries:
            lines.append(f"{self.retries:,} retries")
        if self.resent:
            lines.append(
                f"{self.resent:,} sent again: in flight when an earlier run stopped, "
                "so Accoil may have them twice"
            )
        return lines
