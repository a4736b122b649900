"""Phase 1: list the account's match IDs and store each page as stubs at once.

Per account and ID source a `ListingFrontier` says how far down the history is
known to be listed completely. A listing walks newest first and stops

- at the frontier (incremental): everything below it is stored already;
- at the source's end: then everything the source lists is stored.

Either moves the frontier up to the newest match of this listing. A listing cut
short (an error, a limit, a cancel, a kill) moves nothing: it leaves the stretch
it stored and where it would have asked next, and the next listing continues
there after listing what is new. Nothing it stored is lost, and no incremental
sync ever takes a listing that stopped early for a complete one. Nor one that
stopped at a cap (Steam's newest 500): it moves its frontier only once another
source's listing of the same sync got through, which covers what lies below.

Which sources a sync walks: a full sync lists every usable source to its end; an
incremental sync lists to its end every source that has never been listed completely (so a
first sync of any type gets the whole history, OpenDota's beyond Steam's 500). Those
listings run at once, a thread each at its own pace: they take as long as the slowest
source, not the sum (bench/three_sources.py). Then an incremental sync walks the others
in order until one meets its frontier (with a Steam key that is one call when nothing is
new; when more matches are new than Steam can list, or Steam's pages left hidden high-level
matches out, OpenDota is walked too), and after that every source whose last listing is
unfinished.

A history made private stops the listing (Steam's status 15), but the matches
listed before still get their details, which are public by match id; OpenDota
answers a private history with an empty list, and the job says it may be private.
"""

import logging
import threading
from enum import Enum
from typing import NoReturn

from django.conf import settings
from django.db import connection, transaction

from dotasync import dbclock
from matches import store
from matches.models import Match
from matches.upstream import ratelimit
from matches.upstream.errors import (
    BadResponse,
    NotFound,
    PrivateProfile,
    RateLimited,
    ServerError,
    SourceRefused,
)
from syncjobs import quota
from syncjobs.context import JobContext
from syncjobs.models import JobPhase, JobType, ListingFrontier
from syncjobs.sources import (
    ID_SOURCES,
    LABELS,
    LISTED_BY_BITS,
    OPENDOTA_LIST,
    STEAM_HISTORY_CAP,
    Cursor,
    IdSource,
)

logger = logging.getLogger(__name__)


class Walked(Enum):
    MET_FRONTIER = "met the frontier"
    REACHED_END = "reached the end"
    CAPPED = "stopped at the source's cap"
    CUT = "was cut short"


COMPLETE = (Walked.MET_FRONTIER, Walked.REACHED_END)
MAYBE_PRIVATE = (
    "OpenDota lists no match of this account: its match history may be private (in Dota 2: "
    "Settings → Options → Social → “Expose Public Match Data”, then sync again)."
)
PRIVATE_BUT_LISTED = "The matches listed before still get their details: those are public."


class ListingPhase:
    def __init__(self, runner: JobContext) -> None:
        self.runner = runner
        self.account = runner.account
        self.state = runner.pulse.state
        self.seen: set[int] = set()
        self.cuts: list[str] = []
        self.daily_cuts: list[str] = []
        # Sources whose listing stopped at their cap: the newest match it listed.
        self.capped: dict[str, int | None] = {}
        self.private: PrivateProfile | None = None
        # Sources that left matches out of a page this sync (Steam's hidden high-level ones).
        self.hiding: set[str] = set()
        self._lock = threading.Lock()

    def run(self) -> None:
        self.state.phase = JobPhase.COLLECTING_IDS
        self.runner.pulse.beat()
        full = self.runner.job.job_type == JobType.FULL
        sources = [
            ID_SOURCES[name]
            for name in settings.SYNC_ID_SOURCES
            if self.runner.usable(ID_SOURCES[name])
        ]
        if not sources:
            off_today = self._off_for_today()
            if off_today:
                self._stop_for_today(off_today)
            raise self.runner.no_source_left("match IDs")
        frontiers = {source.name: self._frontier(source) for source in sources}
        never_listed = [s for s in sources if frontiers[s.name].complete_through is None]
        walks = self._walk_at_once([s for s in sources if full or s in never_listed], frontiers)
        if not full:
            met = False
            for source in sources:
                if source in never_listed or self.private is not None:
                    continue
                if met and not frontiers[source.name].has_partial:
                    continue  # an unfinished listing is walked again, whoever met its frontier
                walks[source.name] = self.walk(source, frontiers[source.name], to_frontier=True)
                # A walk that met its frontier past hidden matches did not list them all.
                met = met or (
                    walks[source.name] is Walked.MET_FRONTIER and source.name not in self.hiding
                )
        self._settle_capped(frontiers, walks)
        if self.private is not None:
            if not Match.objects.for_account(self.account).exists():
                raise self.private
            self.runner.note(self.private.message)
            self.runner.note(PRIVATE_BUT_LISTED)
            return
        if walks and all(result is Walked.CUT for result in walks.values()) and not self.seen:
            if self.runner.refusals:
                raise self.runner.no_source_left("match IDs")
            if self.daily_cuts and len(self.daily_cuts) == len(self.cuts):
                self._stop_for_today("; ".join(self.cuts))
            raise ServerError("; ".join(self.cuts))

    def _walk_at_once(
        self, sources: list[IdSource], frontiers: dict[str, ListingFrontier]
    ) -> dict[str, Walked]:
        """Walk `sources` to their ends at once, each on a thread at its own pace: the
        listing takes as long as the slowest, not the sum (bench/three_sources.py). The
        first failure (a cancel, the database) is raised once every walk has stopped."""
        walks: dict[str, Walked] = {}
        failures: list[BaseException] = []

        def walk(source: IdSource) -> None:
            try:
                walks[source.name] = self.walk(source, frontiers[source.name], to_frontier=False)
            except BaseException as exc:
                failures.append(exc)
            finally:
                connection.close()

        if len(sources) == 1:
            return {
                sources[0].name: self.walk(
                    sources[0], frontiers[sources[0].name], to_frontier=False
                )
            }
        threads = [
            threading.Thread(target=walk, args=(source,), name=f"listing-{source.name}")
            for source in sources
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if failures:
            raise failures[0]
        return {source.name: walks[source.name] for source in sources if source.name in walks}

    def _settle_capped(
        self, frontiers: dict[str, ListingFrontier], walks: dict[str, Walked]
    ) -> None:
        """A capped listing moves its frontier once another listing of this sync got through
        (that one covers what lies below the cap); until then the next sync walks it again."""
        complete = any(result in COMPLETE for result in walks.values())
        for name, top in self.capped.items():
            if not complete:
                self.runner.note(
                    f"{LABELS[name]} lists only the newest {STEAM_HISTORY_CAP} matches and no "
                    "other listing got through; the next sync lists the older ones."
                )
                continue
            if top is not None:
                frontier = frontiers[name]
                frontier.complete_through = max(top, frontier.complete_through or 0)
                frontier.save(update_fields=["complete_through", "updated_at"])

    def _off_for_today(self) -> str:
        """Why the configured ID sources that are switched off for the day are off ("": none)."""
        reasons = {
            ratelimit.disabled_reason(ID_SOURCES[name].bucket) or ""
            for name in settings.SYNC_ID_SOURCES
        }
        return " ".join(sorted(reason for reason in reasons if "daily" in reason))

    def _stop_for_today(self, why: str) -> NoReturn:
        """Nothing can be listed before the daily limit resets: a sync follows the reset."""
        resets_at = ratelimit.next_utc_midnight()
        quota.continue_after_reset(self.account, resets_at)
        raise RateLimited(
            f"{why.rstrip('.')}; a sync of this account starts after {resets_at:%H:%M} UTC "
            "on its own.",
            daily=True,
        )

    def _frontier(self, source: IdSource) -> ListingFrontier:
        frontier, _ = ListingFrontier.objects.get_or_create(
            account=self.account, source=source.name
        )
        return frontier

    def walk(self, source: IdSource, frontier: ListingFrontier, *, to_frontier: bool) -> Walked:
        """List `source` newest first until its end (or the frontier); store every page."""
        stop_at = frontier.complete_through if to_frontier else None
        resume = (
            (frontier.partial_top, frontier.partial_bottom, frontier.partial_cursor)
            if frontier.has_partial
            else None
        )
        label = LABELS[source.name]
        cursor: Cursor = source.first_cursor
        small_pages = stop_at is not None
        top: int | None = None
        bottom: int | None = None
        pages = 0
        while True:
            pages += 1
            try:
                page = self.runner.call(
                    source.bucket,
                    label,
                    lambda c=cursor, small=small_pages: source.fetch_page(
                        self.runner.client, self.account.account_id, c, small
                    ),
                )
            except RateLimited:  # the daily limit: 429s within it are waited out
                self.runner.disable_for_today(source.bucket, label)
                self._cut(label, pages, "its daily API limit is used up")
                self.daily_cuts.append(label)
                return Walked.CUT
            except PrivateProfile as exc:  # the other sources cannot list it either
                self.private = exc
                return Walked.CUT
            except SourceRefused as exc:  # the note names the setting to fix
                self.runner.refuse(exc)
                return Walked.CUT
            except (ServerError, NotFound, BadResponse) as exc:
                self._cut(label, pages, exc.message)
                return Walked.CUT
            next_cursor = page.next_cursor
            if page.hides_matches:
                self.hiding.add(source.name)
            ids = [entry.match_id for entry in page.entries]
            if pages == 1 and not ids and source.name == OPENDOTA_LIST:
                self.runner.note(MAYBE_PRIVATE)  # OpenDota's answer for a private history
            if ids:
                top = max(ids) if top is None else top
                bottom = min(ids) if bottom is None else min(bottom, min(ids))
            met = stop_at is not None and any(match_id <= stop_at for match_id in ids)
            jump: Cursor = None
            if not met and resume is not None and any(match_id <= resume[0] for match_id in ids):
                position = next(i for i, match_id in enumerate(ids) if match_id <= resume[0])
                jump = cursor + position + resume[2] if source.offset_paged else resume[2]
                bottom = min(bottom, resume[1]) if resume[1] is not None else bottom
                met = stop_at is not None and resume[1] is not None and resume[1] <= stop_at
                resume = None
            finished = met or (jump is None and next_cursor is None)
            capped = finished and not met and page.capped
            # The walks of a sync run at once (_walk_at_once): one page is stored at a time, so
            # a match two of them list is counted new once.
            with self._lock:
                with transaction.atomic():
                    new = store.save_history_page(
                        self.account, page.entries, LISTED_BY_BITS[source.name]
                    )
                    if page.reported_total is not None:
                        frontier.reported_total = page.reported_total
                        frontier.reported_at = dbclock.now()
                    if capped:  # no complete listing, and nothing below it to continue with
                        frontier.partial_top = frontier.partial_bottom = None
                        frontier.partial_cursor = None
                    elif finished:
                        frontier.complete_through = max(top or 0, frontier.complete_through or 0)
                        frontier.partial_top = frontier.partial_bottom = None
                        frontier.partial_cursor = None
                    else:
                        frontier.partial_top = top
                        frontier.partial_bottom = bottom
                        frontier.partial_cursor = jump if jump is not None else next_cursor
                    frontier.save()
                self.seen.update(ids)
                self.state.ids_found = len(self.seen)
                self.state.ids_new += new
            if met:
                return Walked.MET_FRONTIER
            if capped:
                self.capped[source.name] = top
                return Walked.CAPPED
            if finished:
                return Walked.REACHED_END
            if jump is not None:
                cursor, small_pages = jump, False
            else:
                cursor = next_cursor

    def _cut(self, label: str, pages: int, why: str) -> None:
        self.cuts.append(f"{label}: {why}")
        self.runner.note(
            f"{label}: listing stopped at page {pages} ({why}); the next sync continues it."
        )
