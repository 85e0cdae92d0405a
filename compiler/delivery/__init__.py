"""Delivery of Accoil calls: `accoil-map send` and `accoil-map run --send`.

One module per job, data flowing down the list:

    options    the command-line options, checked into `SendOptions`
    endpoint   the URL for a key (`stg_` -> staging), Basic auth, the key kept secret
    source     numbered calls from a file of calls or from events (`run --send`)
    contract   `call_problem(body)`: the first key path that breaks the payload schema
    journal    what is settled, durably, per input; the lock
    concurrency  the in-flight limit (fixed or adaptive AIMD) and the rate cap
    policy     what is retried and how long to wait (tenacity)
    client     one POST with aiohttp, its outcome as a `Reply`
    dispatch   the loop: order per user, retries, settlement
    deadletter the calls not delivered, and why
    tally      the counts and the summary that adds up
    progress   status lines; terminal: the rich progress bar
    command    the two commands: set up, run, report, exit code
"""

__all__ = ["call_problem"]


def __getattr__(name: str):
    # The CLI reads `options` on every start: the contract is compiled only when used.
    if name == "call_problem":
        from .contract import call_problem

        return call_problem
    raise AttributeError(f"module 'accoil_map.delivery' has no attribute {name!r}")
