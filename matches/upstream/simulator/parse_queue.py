"""The simulator's parse queue: OpenDota's `POST /api/request/{match_id}` and
`GET /api/request/{jobId}`, and which matches end up parsed.

As odota/core does it (svc/api/spec.ts, svc/store/queue.ts, sql/create_tables.sql):
- a request adds a `parse` job keyed `parse:<match_id>` to the queue table and answers
  `{"job": {"jobId": <id>}}`; a second request while that job waits gets the same job
  (`ON CONFLICT(job_key) DO NOTHING`, then the existing row's id);
- `GET /api/request/{jobId}` answers the queue row with `jobId` added (`{...row, jobId:
  row.id}`: id, type, timestamp, attempts, data, next_attempt_time, priority, job_key) while
  the job waits, and `null` once it is gone, whether the replay was parsed or not (an expired
  replay gives `null` too, odota/core issue #2275); only the match answer's `version` tells;
- replays are kept about 10 days (shared/NOTES.md): a match older than `replay_lifetime_days`
  when its job runs is never parsed, and a share of the others fail (`parse_failure_share`,
  decided per match so a test can compute it).
A job runs `parse_delay_seconds` after it was requested; the queue settles lazily, whenever
an answer depends on it.
"""

import hashlib
import threading
from datetime import UTC, datetime
from typing import Any

from matches.upstream.simulator.world import DAY, World

# odota/core svc/util/priority.ts: a request without an API key, not from OpenDota's own UI.
REQUEST_DEFAULT_PRIORITY = -2
REQUEST_API_KEY_PRIORITY = -1


def _unit(*parts: object) -> float:
    digest = hashlib.blake2b(":".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def _iso(seconds: float) -> str:
    """A timestamptz as node-postgres serialises it to JSON: ISO 8601 with milliseconds, Z."""
    moment = datetime.fromtimestamp(seconds, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_outcome(
    world: World,
    match_id: int,
    ran_at: float,
    *,
    replay_lifetime_days: float,
    parse_failure_share: float,
) -> str:
    """What the parse job of `match_id` run at `ran_at` comes to: "parsed", "expired" (the
    replay was deleted) or "failed" (the parser could not read it, or no such match)."""
    lineup = world.lineup(match_id)
    if lineup is None:
        return "failed"
    if ran_at - lineup.start_time > replay_lifetime_days * DAY:
        return "expired"
    if _unit(world.seed, match_id, "parse-fails") < parse_failure_share:
        return "failed"
    return "parsed"


class ParseQueue:
    """The queued parse jobs and the matches parsed by request; safe from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[int, dict[str, Any]] = {}
        self._next_id = 1
        self._ran: dict[int, str] = {}  # match_id -> outcome of its last job
        self.parsed: set[int] = set()

    def request(self, match_id: int, now: float, *, with_key: bool) -> int:
        with self._lock:
            for job_id, row in self._jobs.items():
                if row["job_key"] == f"parse:{match_id}":
                    return job_id
            job_id = self._next_id
            self._next_id += 1
            self._jobs[job_id] = {
                "id": job_id,
                "type": "parse",
                "timestamp": _iso(now),
                "attempts": 1,
                "data": {"match_id": match_id},
                "next_attempt_time": _iso(now),
                "priority": REQUEST_API_KEY_PRIORITY if with_key else REQUEST_DEFAULT_PRIORITY,
                "job_key": f"parse:{match_id}",
                "_due": now,
            }
            return job_id

    def settle(self, world: World, now: float, config: dict[str, Any]) -> None:
        """Run every job that is due: it leaves the queue parsed, expired or failed."""
        with self._lock:
            for job_id, row in list(self._jobs.items()):
                ran_at = row["_due"] + config["parse_delay_seconds"]
                if ran_at > now:
                    continue
                del self._jobs[job_id]
                match_id = row["data"]["match_id"]
                outcome = parse_outcome(
                    world,
                    match_id,
                    ran_at,
                    replay_lifetime_days=config["replay_lifetime_days"],
                    parse_failure_share=config["parse_failure_share"],
                )
                self._ran[match_id] = outcome
                if outcome == "parsed":
                    self.parsed.add(match_id)

    def job(self, job_id: int) -> dict[str, Any] | None:
        with self._lock:
            row = self._jobs.get(job_id)
            if row is None:
                return None
            return {key: value for key, value in row.items() if key != "_due"} | {"jobId": job_id}

    def outcome(self, match_id: int) -> str | None:
        """How the last parse job of the match ended, None if none ran (for tests)."""
        with self._lock:
            return self._ran.get(match_id)

    def clear(self) -> None:
        with self._lock:
            self._jobs.clear()
            self._ran.clear()
            self.parsed.clear()
