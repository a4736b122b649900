"""Phase 1: list the account's match IDs and store each page as stubs at once.

Per account and ID source a `ListingFrontier` says how far down the history is
known to be listed completely. A listing walks newest first and stops

- at the frontier (incremental): everything below it is stored already;
- at the source's end: then everything the source lists is stored.

Either moves the frontier up to the newest match of this listing. A listing cut
short (an error, a limit, a cancel, a kill) moves nothing: it leaves the stretch
it stored and where it would have asked next, and the next listing continues
there after listing what is new. Nothing it stored is lost, and no incremental
sync ever takes a listing that stopped early for a complete one.

Which sources a sync walks: a full sync lists every usable source to its end; an
incremental sync lists to its end every source that has never been listed
completely (so a first sync of any type gets the whole history, OpenDota's
beyond Steam's 500), then walks the others in order until one meets its
frontier (with a Steam key that is one call when nothing is new; when more
matches are new than Steam can list, OpenDota is walked too).
"""

import logging
from enum import Enum

from django.conf import settings
from django.db import transaction

from matches import store
from matches.errors import BadResponse, NotFound, RateLimited, ServerError, SourceRefused
from syncjobs.context import JobContext
from syncjobs.models import JobPhase, JobType, ListingFrontier
from syncjobs.sources import ID_SOURCES, LABELS, Cursor, IdSource

logger = logging.getLogger(__name__)


class Walked(Enum):
    MET_FRONTIER = "met the frontier"
    REACHED_END = "reached the end"
    CUT = "was cut short"


class ListingPhase:
    def __init__(self, runner: JobContext) -> None:
        self.runner = runner
        self.account = runner.account
        self.state = runner.pulse.state
        self.seen: set[int] = set()
        self.cuts: list[str] = []

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
            raise self.runner.no_source_left("match IDs")
        frontiers = {source.name: self._frontier(source) for source in sources}
        never_listed = [s for s in sources if frontiers[s.name].complete_through is None]
        walks: dict[str, Walked] = {}
        for source in sources:
            if full or source in never_listed:
                walks[source.name] = self.walk(source, frontiers[source.name], to_frontier=False)
        if not full:
            for source in sources:
                if source in never_listed:
                    continue
                walks[source.name] = self.walk(source, frontiers[source.name], to_frontier=True)
                if walks[source.name] is Walked.MET_FRONTIER:
                    break
        if walks and all(result is Walked.CUT for result in walks.values()) and not self.seen:
            if self.runner.refusals:
                raise self.runner.no_source_left("match IDs")
            raise ServerError("; ".join(self.cuts))

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
                page, next_cursor = self.runner.call(
                    source.bucket,
                    label,
                    lambda c=cursor, small=small_pages: source.fetch_page(
                        self.runner.client, self.account.account_id, c, small
                    ),
                )
            except RateLimited:  # the daily limit: 429s within it are waited out
                self.runner.disable_for_today(source.bucket, label)
                self._cut(label, pages, "its daily API limit is used up")
                return Walked.CUT
            except SourceRefused as exc:  # the note names the setting to fix
                self.runner.refuse(exc)
                return Walked.CUT
            except (ServerError, NotFound, BadResponse) as exc:
                self._cut(label, pages, exc.message)
                return Walked.CUT
            ids = [entry.match_id for entry in page]
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
            with transaction.atomic():
                new = store.save_history_page(self.account, page)
                if finished:
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
