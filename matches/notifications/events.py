"""What is worth a notification, written as Delivery rows (database writes only, no network).

- A play session ended: an account's newest stored match ended more than
  NOTIFY_SESSION_GAP_MINUTES ago, and the matches since the account's SessionMarker are told
  about, one message per session (matches closer than the gap are one session). The marker
  moves on in the same transaction as the rows are written, and each row's key names its
  session: running the check twice sends once. Only matches that started within the last day
  count, and a channel hears only of sessions whose every match was stored after the channel
  was set up, so the first sync of an old history sends nothing.
- A sync needs the user: where a job ends (syncjobs.liveness.finish sends the signal
  syncjobs.signals.job_ended, which reaches job_ended), its outcome is read; a refused key or
  URL, a private profile, matches left waiting for a daily limit, or the third failed sync in
  a row is told about once a day per account and reason.
- A test message, on the Settings page's button.
"""

import logging
import re
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from matches.models import AccountMatch, MatchPlayer, SteamAccount
from matches.notifications.models import Channel, Delivery, Event, SessionMarker
from matches.timezones import zone_for
from matches.upstream.dota_constants import hero_name
from syncjobs.models import FINISHED_STATUSES, JobStatus, SyncJob

logger = logging.getLogger(__name__)

SESSION_LOOKBACK = timedelta(days=1)
FAILURES_WORTH_TELLING = 3
TEST_MESSAGE_INTERVAL = timedelta(seconds=30)
WON_COLOR = 0x2E9E5B
LOST_COLOR = 0xC0392B
PROBLEM_COLOR = 0xE6A23C
TEST_COLOR = 0x3B82F6
# The phrases syncjobs writes into a job's outcome: matches.upstream's PrivateProfile message,
# syncjobs.runner's refusals ("…: check STEAM_API_KEY") and daily-limit notes.
PRIVATE_PHRASE = "Expose Public Match Data"
REFUSED_SETTING = re.compile(r"\bcheck ([A-Z][A-Z0-9_]+)")
DAILY_LIMIT_PHRASE = "daily API limit"


def site_link(view: str, *args: object) -> str:
    """An absolute link to a page, when SITE_URL says where the site is."""
    return f"{settings.SITE_URL}{reverse(view, args=args)}" if settings.SITE_URL else ""


def _write(channel: Channel, event: str, key: str, message: dict) -> bool:
    _, created = Delivery.objects.get_or_create(
        channel=channel,
        key=key,
        defaults={"event": event, "payload": message, "next_try_at": timezone.now()},
    )
    return created


# --- a play session ended


def find_ended_sessions(now: datetime | None = None) -> int:
    """Write a delivery per ended session and channel; returns how many rows were written."""
    now = now or timezone.now()
    listening = Channel.objects.filter(enabled=True, on_sessions=True).values("user")
    written = 0
    for account in SteamAccount.objects.filter(owner__in=listening).select_related("owner"):
        written += _tell_ended_sessions(account, now)
    return written


def _match_end(link: AccountMatch) -> datetime:
    return link.match.start_time + timedelta(seconds=link.match.duration or 0)


def _tell_ended_sessions(account: SteamAccount, now: datetime) -> int:
    if SyncJob.objects.active().filter(account=account).exists():
        return 0  # its matches are still arriving
    gap = timedelta(minutes=settings.NOTIFY_SESSION_GAP_MINUTES)
    SessionMarker.objects.get_or_create(account=account)
    with transaction.atomic():
        marker = SessionMarker.objects.select_for_update().get(pk=account.pk)
        since = now - SESSION_LOOKBACK
        if marker.notified_through and marker.notified_through > since:
            since = marker.notified_through
        links = list(
            AccountMatch.objects.filter(account=account, match__start_time__gt=since)
            .select_related("match")
            .order_by("match__start_time", "match_id")
        )
        if not links or any(link.match.has_details is None for link in links):
            return 0  # nothing new, or details still to come
        if max(_match_end(link) for link in links) > now - gap:
            return 0  # the session goes on
        channels = list(
            Channel.objects.filter(user_id=account.owner_id, enabled=True, on_sessions=True)
        )
        written = 0
        for session in _sessions(links, gap):
            message = session_message(account, session)
            key = f"session:{account.account_id}:{session[0].match_id}"
            for channel in channels:
                if all(link.discovered_at >= channel.created_at for link in session):
                    written += _write(channel, Event.SESSION_ENDED, key, message)
        marker.notified_through = links[-1].match.start_time
        marker.save(update_fields=["notified_through"])
    return written


def _sessions(links: list[AccountMatch], gap: timedelta) -> list[list[AccountMatch]]:
    sessions = [[links[0]]]
    for link in links[1:]:
        if link.match.start_time - _match_end(sessions[-1][-1]) > gap:
            sessions.append([])
        sessions[-1].append(link)
    return sessions


def session_message(account: SteamAccount, session: list[AccountMatch]) -> dict:
    """The session's matches: won or lost, hero, K/D/A, a link to each match's page."""
    players = {
        (player.match_id, player.player_slot): player
        for player in MatchPlayer.objects.filter(match_id__in=[link.match_id for link in session])
    }
    matches, fields = [], []
    for link in session:
        match = link.match
        player = players.get((match.match_id, link.player_slot))
        won = None
        if match.radiant_win is not None and link.player_slot is not None:
            won = match.radiant_win == (link.player_slot < 128)
        hero_id = player.hero_id if player else link.hero_id
        kda = (player.kills, player.deaths, player.assists) if player else (None, None, None)
        url = site_link("match_detail", match.match_id)
        matches.append(
            {
                "match_id": match.match_id,
                "start_time": match.start_time.isoformat(),
                "duration": match.duration,
                "won": won,
                "hero_id": hero_id,
                "hero": hero_name(hero_id),
                "kills": kda[0],
                "deaths": kda[1],
                "assists": kda[2],
                "url": url,
            }
        )
        result = {True: "Won", False: "Lost", None: "No result"}[won]
        kda_text = "/".join("?" if value is None else str(value) for value in kda)
        summary = f"{kda_text} · {round((match.duration or 0) / 60)} min"
        fields.append(
            {
                "name": f"{result} · {hero_name(hero_id)}",
                "value": f"{summary} · [Match {match.match_id}]({url})" if url else summary,
                "plain": f"{summary} · {url or f'match {match.match_id}'}",
            }
        )
    won_count = sum(1 for match in matches if match["won"] is True)
    lost_count = sum(1 for match in matches if match["won"] is False)
    zone = zone_for(account.owner)
    start = session[0].match.start_time.astimezone(zone)
    end = _match_end(session[-1]).astimezone(zone)
    count = f"{len(session)} match" + ("es" if len(session) != 1 else "")
    return {
        "event": Event.SESSION_ENDED,
        "title": f"{account}: session over, {won_count} won, {lost_count} lost",
        "text": f"{count} from {start:%Y-%m-%d %H:%M} to {end:%H:%M} ({zone.key}).",
        "url": site_link("match_list"),
        "color": WON_COLOR if won_count >= lost_count else LOST_COLOR,
        "fields": fields,
        "account_id": account.account_id,
        "matches": matches,
    }


# --- a sync needs the user


def job_ended(job_id: int) -> None:
    """The hook where a job ends. Writes rows only; a problem here never touches the job."""
    try:
        with transaction.atomic():
            _tell_if_job_needs_user(job_id)
    except Exception:
        logger.exception("job %s: could not write its notifications", job_id)


def on_job_ended(sender: type, job_id: int, **kwargs: object) -> None:
    """syncjobs.signals.job_ended's receiver (connected in NotificationsConfig.ready)."""
    job_ended(job_id)


def needs_user(job: SyncJob) -> tuple[str, str] | None:
    """(reason, headline) when the job's outcome asks something of the user, else None."""
    outcome = f"{job.error_message} {job.message}"
    if PRIVATE_PHRASE in outcome:
        return "private", "the account's match history is private"
    refused = REFUSED_SETTING.search(outcome)
    if refused:
        return f"refused-{refused.group(1)}", f"a source refused it (check {refused.group(1)})"
    if job.details_deferred and DAILY_LIMIT_PHRASE in outcome:
        return "quota", f"{job.details_deferred} matches wait for a daily API limit"
    if job.status == JobStatus.FAILED:
        recent = SyncJob.objects.filter(account_id=job.account_id, status__in=FINISHED_STATUSES)
        statuses = list(recent.values_list("status", flat=True)[:FAILURES_WORTH_TELLING])
        if statuses.count(JobStatus.FAILED) == FAILURES_WORTH_TELLING:
            return "failing", f"the last {FAILURES_WORTH_TELLING} syncs failed"
    return None


def _tell_if_job_needs_user(job_id: int) -> None:
    job = SyncJob.objects.select_related("account__owner").get(pk=job_id)
    account = job.account
    if account.owner_id is None:
        return
    channels = list(
        Channel.objects.filter(user_id=account.owner_id, enabled=True, on_sync_problems=True)
    )
    reason = needs_user(job) if channels else None
    if reason is None:
        return
    code, headline = reason
    day = (job.finished_at or timezone.now()).date().isoformat()
    message = {
        "event": Event.SYNC_NEEDS_YOU,
        "title": f"The sync of {account} needs you: {headline}",
        "text": job.error_message or job.message,
        "url": site_link("job_progress", job.pk),
        "color": PROBLEM_COLOR,
        "fields": [{"name": "Job", "value": f"#{job.pk} {job.get_status_display()}"}],
        "account_id": account.account_id,
        "reason": code,
        "job": {"id": job.pk, "status": job.status, "type": job.job_type},
    }
    for channel in channels:
        _write(channel, Event.SYNC_NEEDS_YOU, f"sync:{account.account_id}:{code}:{day}", message)


# --- the Settings page's button


def write_test_message(channel: Channel) -> bool:
    """A test message for the channel; False (and none) while one is less than
    TEST_MESSAGE_INTERVAL old: the button must not make the server spam an address."""
    recent = timezone.now() - TEST_MESSAGE_INTERVAL
    if Delivery.objects.filter(channel=channel, event=Event.TEST, created_at__gt=recent).exists():
        return False
    message = {
        "event": Event.TEST,
        "title": "DotaSync test message",
        "text": "This channel works: DotaSync's notifications will arrive here.",
        "url": site_link("user_settings"),
        "color": TEST_COLOR,
        "fields": [],
    }
    return _write(channel, Event.TEST, f"test:{uuid.uuid4()}", message)
