"""The upstream client: every outbound HTTP call of DotaSync goes through here.

Valve's Steam Web API (IDOTA2Match_570, ISteamUser), OpenDota's API and, with a token,
STRATZ's GraphQL API (matches.upstream.stratz_queries: a plain JSON POST each), behind
one pooled `requests.Session`, explicit timeouts, a shared per-source rate
limit and one error taxonomy (matches.upstream.errors). tenacity retries only transient
network failures (no connection made), briefly; everything with an answer is
classified and left to the caller's rules.

An answer is read in pieces as they arrive, never more than
UPSTREAM_MAX_ANSWER_BYTES and never for longer than UPSTREAM_MAX_ANSWER_SECONDS,
with the job's checkpoint between pieces: a huge or trickling answer is cut
like a timeout, and a cancel is seen while it trickles. Redirects are not
followed: the APIs never redirect, so one means the base URL setting is wrong
(or the answer is not the API's), and following it could send the key's query
string to another host.
"""

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
import urllib3.exceptions
from django.conf import settings
from tenacity import (
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from dotasync import dbclock
from dotasync.logconfig import redact
from matches.upstream import ratelimit
from matches.upstream.errors import (
    BadResponse,
    InvalidApiKey,
    NotFound,
    ParseRefused,
    PrivateProfile,
    RateLimited,
    ServerError,
    SourceRefused,
    UpstreamError,
)
from matches.upstream.normalize import (
    HistoryEntry,
    HistoryPage,
    MatchDetails,
    match_details,
    opendota_history_entry,
    optional_text,
    steam_history_page,
)
from matches.upstream.parsed import parsed_data
from matches.upstream.steam_ids import STEAM_ID64_OFFSET
from matches.upstream.stratz_normalize import stratz_history_entry, stratz_match_details

# The name it had before the upstream wing: log lines and filters keep meaning the same.
logger = logging.getLogger("matches.upstream")

USER_AGENT = "DotaSync/0.1 (self-hosted Dota 2 match-history sync)"
PRIVATE_PROFILE_STATUS = 15
STEAM_PAGE_SIZE = 100
# The most of an answer one read hands back: it returns as soon as anything arrived.
READ_PIECE_BYTES = 64 * 1024
# A cancel abandons an answer only once it has been coming for this long: one that arrives
# promptly is still read and stored (a cancel keeps every answer received), a trickling one
# is not waited for.
CANCEL_GRACE_SECONDS = 1.0

QUERIES_DIR = Path(__file__).parent / "stratz_queries"

# Rate-limit buckets: each is paced on its own, across every worker.
STEAM = "steam"
STEAM_SEQUENCE = "steam_sequence"
OPENDOTA = "opendota"
STRATZ = "stratz"

# What to fix when a bucket refuses us: its key, or where we send its requests.
KEY_SETTINGS = {
    STEAM: "STEAM_API_KEY",
    STEAM_SEQUENCE: "STEAM_API_KEY",
    OPENDOTA: "OPENDOTA_API_KEY",
    STRATZ: "STRATZ_API_TOKEN",
}
URL_SETTINGS = {
    STEAM: "STEAM_API_BASE_URL",
    STEAM_SEQUENCE: "STEAM_API_BASE_URL",
    OPENDOTA: "OPENDOTA_API_BASE_URL",
    STRATZ: "STRATZ_API_BASE_URL",
}
# STRATZ's gateway refuses a request without this User-Agent (403, a Cloudflare challenge:
# shared/realdata/SOURCES.md, "STRATZ limits, headers and behaviour").
STRATZ_USER_AGENT = "STRATZ_API"
# How long a refused token switches STRATZ off for every job (a token does not mend itself;
# the hour spares STRATZ a refused call per job meanwhile).
STRATZ_REFUSED_SECONDS = 3600
# Kong's rate-limiting plugin (STRATZ's gateway: `WWW-Authenticate: Key realm=kong`) sends
# one counter per window it enforces.
STRATZ_WINDOWS = ("Second", "Minute", "Hour", "Day")


# GetPlayerSummaries takes at most this many SteamIDs a call.
SUMMARIES_PER_CALL = 100


@dataclass(frozen=True)
class PlayerSummary:
    account_id: int
    persona_name: str
    avatar_url: str  # 64 px ("avatarmedium")
    avatar_small_url: str = ""  # 32 px
    avatar_full_url: str = ""  # 184 px
    profile_url: str = ""


def interval_of(bucket: str) -> float:
    """Seconds between two calls to `bucket`, across every worker (0: not paced)."""
    return {
        STEAM: settings.STEAM_API_MIN_INTERVAL,
        STEAM_SEQUENCE: settings.STEAM_SEQUENCE_MIN_INTERVAL,
        OPENDOTA: settings.OPENDOTA_MIN_INTERVAL,
        STRATZ: settings.STRATZ_MIN_INTERVAL,
    }[bucket]


def _retry_after(response: requests.Response) -> float | None:
    raw = response.headers.get("Retry-After")
    try:
        return max(0.0, float(raw)) if raw is not None else None
    except ValueError:
        return None


def _no_checkpoint() -> None:
    pass


class UpstreamClient:
    """One client per job (or request).

    `sleep` does every wait (rate-limit slots, retries) and `checkpoint` runs
    before every call: a running job passes its own, so a cancel interrupts any
    wait and stops before the next call.
    """

    def __init__(
        self,
        *,
        steam_api_key: str,
        steam_base_url: str,
        opendota_base_url: str,
        opendota_api_key: str = "",
        stratz_token: str = "",
        stratz_url: str = "https://api.stratz.com/graphql",
        sleep: ratelimit.Sleep = time.sleep,
        checkpoint: Callable[[], None] = _no_checkpoint,
        session: requests.Session | None = None,
    ) -> None:
        self.steam_api_key = steam_api_key
        self.steam_base_url = steam_base_url.rstrip("/")
        self.opendota_base_url = opendota_base_url.rstrip("/")
        self.opendota_api_key = opendota_api_key
        self.stratz_token = stratz_token
        self.stratz_url = stratz_url
        self.sleep = sleep
        self.checkpoint = checkpoint
        self.session = session or requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT
        self.timeout = (settings.UPSTREAM_CONNECT_TIMEOUT, settings.UPSTREAM_READ_TIMEOUT)
        self._slot = threading.local()

    @classmethod
    def from_settings(
        cls,
        sleep: ratelimit.Sleep = time.sleep,
        checkpoint: Callable[[], None] = _no_checkpoint,
    ) -> "UpstreamClient":
        return cls(
            steam_api_key=settings.STEAM_API_KEY,
            steam_base_url=settings.STEAM_API_BASE_URL,
            opendota_base_url=settings.OPENDOTA_API_BASE_URL,
            opendota_api_key=settings.OPENDOTA_API_KEY,
            stratz_token=settings.STRATZ_API_TOKEN,
            stratz_url=settings.STRATZ_API_BASE_URL,
            sleep=sleep,
            checkpoint=checkpoint,
        )

    @property
    def has_steam_key(self) -> bool:
        return bool(self.steam_api_key)

    def close(self) -> None:
        self.session.close()

    @contextmanager
    def slot_taken(self, bucket: str) -> Iterator[None]:
        """The caller waited for `bucket`'s rate-limit slot itself (to pick the match only
        once its turn had come): the next call from this thread does not wait again."""
        self._slot.bucket = bucket
        try:
            yield
        finally:
            self._slot.bucket = None

    # --- Steam -----------------------------------------------------------------------------

    def steam_match_history(
        self, account_id: int, start_at_match_id: int | None = None
    ) -> HistoryPage:
        """One page (≤100, newest first). `start_at_match_id` is inclusive upstream."""
        params: dict[str, Any] = {"account_id": account_id, "matches_requested": STEAM_PAGE_SIZE}
        if start_at_match_id is not None:
            params["start_at_match_id"] = start_at_match_id
        result = self._steam_result("IDOTA2Match_570/GetMatchHistory/v1/", params)
        status = result.get("status", 1)
        if status == PRIVATE_PROFILE_STATUS:
            raise PrivateProfile(
                "This player's match history is private: enable “Expose Public Match Data” "
                "in the Dota 2 client settings (Options → Social), then sync again.",
                status=200,
                source=STEAM,
            )
        if status != 1:
            detail = optional_text(str(result.get("statusDetail") or f"status {status}"))
            raise BadResponse(f"GetMatchHistory refused: {detail}", status=200, source=STEAM)
        return steam_history_page(result, account_id)

    def steam_match_details(self, match_id: int) -> MatchDetails:
        result = self._steam_result("IDOTA2Match_570/GetMatchDetails/v1/", {"match_id": match_id})
        if "error" in result:
            raise NotFound("not found on Steam", status=200, source=STEAM)
        return self._checked(match_details(result), match_id)

    def steam_match_by_seq_num(self, match_seq_num: int, match_id: int) -> MatchDetails:
        """GetMatchHistoryBySequenceNum for one match; a missing match answers the next one."""
        result = self._steam_result(
            "IDOTA2Match_570/GetMatchHistoryBySequenceNum/v1/",
            {"start_at_match_seq_num": match_seq_num, "matches_requested": 1},
            bucket=STEAM_SEQUENCE,
        )
        found = result.get("matches")
        if not isinstance(found, list) or not found:
            raise NotFound("not in Steam's match sequence", status=200, source=STEAM_SEQUENCE)
        first = found[0]
        if not isinstance(first, dict) or not isinstance(first.get("match_id"), int):
            raise BadResponse(
                "the match sequence answered a malformed match", source=STEAM_SEQUENCE
            )
        if first["match_id"] != match_id:
            raise NotFound("not in Steam's match sequence", status=200, source=STEAM_SEQUENCE)
        return match_details(first)

    def resolve_vanity_url(self, vanity: str) -> int:
        """The 32-bit account id behind steamcommunity.com/id/<vanity>."""
        data = self._request(
            STEAM,
            f"{self.steam_base_url}/ISteamUser/ResolveVanityURL/v1/",
            {"key": self.steam_api_key, "vanityurl": vanity},
        )
        response = data.get("response") if isinstance(data, dict) else None
        if not isinstance(response, dict):
            raise BadResponse("ResolveVanityURL answered without a response", source=STEAM)
        if response.get("success") != 1:
            raise NotFound(f"no Steam profile is called {vanity!r}", status=200, source=STEAM)
        try:
            return int(response["steamid"]) - STEAM_ID64_OFFSET
        except (KeyError, TypeError, ValueError):
            raise BadResponse("ResolveVanityURL answered without a steamid", source=STEAM) from None

    def player_summaries(self, account_ids: list[int]) -> dict[int, PlayerSummary]:
        """Steam's public profile of up to 100 accounts, by account id.

        Accounts Steam does not know are missing from the answer; so are any it was not asked
        about (a summary for another id is dropped).
        """
        if len(account_ids) > SUMMARIES_PER_CALL:
            raise ValueError(
                f"at most {SUMMARIES_PER_CALL} accounts a call, not {len(account_ids)}"
            )
        if not account_ids:
            return {}
        data = self._request(
            STEAM,
            f"{self.steam_base_url}/ISteamUser/GetPlayerSummaries/v2/",
            {
                "key": self.steam_api_key,
                "steamids": ",".join(str(a + STEAM_ID64_OFFSET) for a in account_ids),
            },
        )
        response = data.get("response") if isinstance(data, dict) else None
        if not isinstance(response, dict) or not isinstance(response.get("players"), list):
            raise BadResponse("GetPlayerSummaries answered without players", source=STEAM)
        asked = set(account_ids)
        summaries = {}
        for player in response["players"]:
            try:
                account_id = int(player["steamid"]) - STEAM_ID64_OFFSET
            except (KeyError, TypeError, ValueError):
                continue
            if account_id not in asked:
                continue
            summaries[account_id] = PlayerSummary(
                account_id=account_id,
                persona_name=optional_text(player.get("personaname"), 200),
                avatar_url=_steam_url(player.get("avatarmedium") or player.get("avatar")),
                avatar_small_url=_steam_url(player.get("avatar")),
                avatar_full_url=_steam_url(player.get("avatarfull")),
                profile_url=_steam_url(player.get("profileurl")),
            )
        return summaries

    # --- OpenDota --------------------------------------------------------------------------

    def opendota_player_matches(
        self, account_id: int, *, limit: int, offset: int = 0
    ) -> list[HistoryEntry]:
        """Newest first; `significant=0` so Turbo and other modes are not hidden."""
        data = self._request(
            OPENDOTA,
            f"{self.opendota_base_url}/players/{account_id}/matches",
            self._opendota_params(significant=0, limit=limit, offset=offset),
        )
        if not isinstance(data, list):
            raise BadResponse("OpenDota's match list is not a list", source=OPENDOTA)
        return [opendota_history_entry(raw) for raw in data]

    def opendota_match(self, match_id: int) -> MatchDetails:
        """The match, with what the replay parser adds when OpenDota has parsed it: one
        call gives both, so a parsed match's data is kept whenever its details are fetched."""
        data = self._request(
            OPENDOTA, f"{self.opendota_base_url}/matches/{match_id}", self._opendota_params()
        )
        details = self._checked(match_details(data), match_id)
        details.parsed = parsed_data(data)
        return details

    def opendota_refresh(self, account_id: int) -> None:
        """Ask OpenDota to rescan the account's newest 500 matches (and its rank and name).

        `POST /api/players/{account_id}/refresh` answers `{}` (odota/core svc/api/spec.ts)
        and is one call against the limits (shared/NOTES.md). Not retried on a dropped
        connection: the rescan may be queued already.
        """
        self._request(
            OPENDOTA,
            f"{self.opendota_base_url}/players/{account_id}/refresh",
            self._opendota_params(),
            method="POST",
        )

    def request_parse(self, match_id: int) -> int:
        """Ask OpenDota to parse the match's replay; its parse job's id.

        `POST /api/request/{match_id}` answers `{"job": {"jobId": N}}` and counts as 10
        calls against the minute and daily limits (odota/core svc/web.ts `rateCost = 10`),
        which its X-Rate-Limit-Remaining-* headers then say. Never retried on a dropped
        connection: a second request would cost 10 more.
        """
        data = self._request(
            OPENDOTA,
            f"{self.opendota_base_url}/request/{match_id}",
            self._opendota_params(),
            method="POST",
        )
        if isinstance(data, dict) and data.get("err"):
            raise ParseRefused(
                optional_text(str(data["err"]), 200) or "refused", status=200, source=OPENDOTA
            )
        job = data.get("job") if isinstance(data, dict) else None
        job_id = job.get("jobId") if isinstance(job, dict) else None
        if isinstance(job_id, bool) or not isinstance(job_id, int) or job_id <= 0:
            raise BadResponse(
                f"OpenDota's answer to the parse request of match {match_id} has no job id",
                source=OPENDOTA,
            )
        return job_id

    def parse_job(self, job_id: int) -> dict[str, Any] | None:
        """The parse job's queue row (`GET /api/request/{jobId}`), or None once it is gone.

        None does not mean parsed: a job whose replay had expired is gone too (odota/core
        issue #2275); only the match's answer having a `version` does.
        """
        data = self._request(
            OPENDOTA, f"{self.opendota_base_url}/request/{job_id}", self._opendota_params()
        )
        if data is not None and not isinstance(data, dict):
            raise BadResponse("OpenDota's parse job state is not an object", source=OPENDOTA)
        return data

    # --- STRATZ ----------------------------------------------------------------------------

    def stratz_player_matches(
        self, account_id: int, *, take: int, skip: int = 0
    ) -> tuple[list[HistoryEntry], int | None]:
        """A page of the account's matches, newest first, and STRATZ's `matchCount`."""
        data = self._graphql(
            "player_matches", {"steamAccountId": account_id, "take": take, "skip": skip}
        )
        player = data.get("player")
        if player is None:  # STRATZ knows no such player: it lists nothing
            return [], 0
        if not isinstance(player, dict) or not isinstance(player.get("matches"), list):
            raise BadResponse("STRATZ's player has no match list", source=STRATZ)
        count = player.get("matchCount")
        count = count if isinstance(count, int) and not isinstance(count, bool) else None
        return [stratz_history_entry(raw) for raw in player["matches"]], count

    def stratz_match(self, match_id: int) -> MatchDetails:
        data = self._graphql("match", {"id": match_id})
        if data.get("match") is None:  # 200, no errors: STRATZ has not got this match
            raise NotFound("not known to STRATZ", status=200, source=STRATZ)
        return self._checked(stratz_match_details(data["match"]), match_id)

    def _graphql(self, query: str, variables: dict[str, Any]) -> dict:
        """`data` of one query document of matches/upstream/stratz_queries/."""
        if not self.stratz_token:
            raise InvalidApiKey(
                "no STRATZ token is configured", setting=KEY_SETTINGS[STRATZ], source=STRATZ
            )
        body = {"query": stratz_query(query), "variables": variables}
        answer = self._request(STRATZ, self.stratz_url, {}, method="POST", json_body=body)
        if not isinstance(answer, dict):
            raise BadResponse("STRATZ answered without an object", source=STRATZ)
        errors = answer.get("errors")
        if errors:
            first = errors[0] if isinstance(errors, list) and errors else {}
            said = first.get("message") if isinstance(first, dict) else None
            raise BadResponse(
                f"STRATZ answered a GraphQL error: {optional_text(redact(str(said)), 120)}",
                status=200,
                source=STRATZ,
            )
        data = answer.get("data")
        if not isinstance(data, dict):
            raise BadResponse("STRATZ answered without data", source=STRATZ)
        return data

    # --- plumbing --------------------------------------------------------------------------

    def _opendota_params(self, **params: Any) -> dict[str, Any]:
        if self.opendota_api_key:
            params["api_key"] = self.opendota_api_key
        return params

    @staticmethod
    def _checked(details: MatchDetails, match_id: int) -> MatchDetails:
        if details.match_id != match_id:
            raise BadResponse(f"asked for match {match_id}, got {details.match_id}")
        return details

    def _steam_result(self, path: str, params: dict[str, Any], bucket: str = STEAM) -> dict:
        data = self._request(
            bucket, f"{self.steam_base_url}/{path}", {"key": self.steam_api_key, **params}
        )
        result = data.get("result") if isinstance(data, dict) else None
        if not isinstance(result, dict):
            raise BadResponse("Steam answered without a result", source=bucket)
        return result

    def _request(
        self,
        bucket: str,
        url: str,
        params: dict[str, Any],
        method: str = "GET",
        json_body: dict | None = None,
    ) -> Any:
        if bucket in (STEAM, STEAM_SEQUENCE) and not self.steam_api_key:
            raise InvalidApiKey(
                "no Steam API key is configured", setting=KEY_SETTINGS[bucket], source=bucket
            )
        retrying = Retrying(
            retry=retry_if_exception_type(requests.ConnectionError),
            # A read (a GET, a STRATZ query) asked again changes nothing upstream; a POST
            # that does work (a parse request, a refresh) and may have arrived before the
            # connection dropped is not sent twice.
            stop=stop_after_attempt(3 if method == "GET" or json_body is not None else 1),
            wait=wait_exponential_jitter(multiplier=0.5, max=4),
            sleep=self.sleep,
            reraise=True,
        )
        try:
            response = retrying(self._send, bucket, url, params, method, json_body)
        except requests.Timeout:
            raise ServerError("timed out waiting for an answer", source=bucket) from None
        except requests.ConnectionError:
            raise ServerError("could not connect", source=bucket) from None
        except requests.RequestException as exc:
            raise ServerError(f"request failed: {type(exc).__name__}", source=bucket) from None
        return self._parse(bucket, response)

    def _send(
        self,
        bucket: str,
        url: str,
        params: dict[str, Any],
        method: str = "GET",
        json_body: dict | None = None,
    ) -> requests.Response:
        self.checkpoint()
        if getattr(self._slot, "bucket", None) == bucket:
            self._slot.bucket = None  # a retry waits for a slot of its own
        else:
            ratelimit.wait_turn(bucket, interval_of(bucket), self.sleep)
        started = time.monotonic()
        if json_body is None:
            response = self.session.request(
                method, url, params=params, timeout=self.timeout, stream=True, allow_redirects=False
            )
        else:  # STRATZ: every request carries its User-Agent, the token and the JSON type
            response = self.session.post(
                url,
                data=json.dumps(json_body),
                headers={
                    "User-Agent": STRATZ_USER_AGENT,
                    "Authorization": f"Bearer {self.stratz_token}",
                    "Content-Type": "application/json",
                },
                timeout=self.timeout,
                stream=True,
                allow_redirects=False,
            )
        try:
            self._read_answer(bucket, response, started)
        finally:
            response.close()  # an answer cut short closes its connection instead of reusing it
        logger.debug(
            "%s %s -> %s in %.0f ms",
            bucket,
            redact(response.url),
            response.status_code,
            1000 * (time.monotonic() - started),
        )
        return response

    def _read_answer(self, bucket: str, response: requests.Response, started: float) -> None:
        """Read the body into `response.content`, cut at the size and time limits.

        One read returns whatever has arrived (urllib3's read1), so the deadline and the
        job's checkpoint (past CANCEL_GRACE_SECONDS) are looked at between pieces however
        slowly they trickle in; a compressed answer is counted as it decompresses, a piece
        at a time.
        """
        limit = settings.UPSTREAM_MAX_ANSWER_BYTES
        deadline = started + settings.UPSTREAM_MAX_ANSWER_SECONDS
        declared = _header_int(response, "Content-Length")
        if declared is not None and declared > limit:
            raise self._too_large(bucket, response)
        pieces = []
        size = 0
        while True:
            if time.monotonic() - started > CANCEL_GRACE_SECONDS:
                self.checkpoint()
            if time.monotonic() > deadline:
                raise ServerError(
                    f"{_label(bucket)} took longer than "
                    f"{settings.UPSTREAM_MAX_ANSWER_SECONDS:g} s to answer; cut off",
                    status=response.status_code,
                    source=bucket,
                )
            try:
                piece = response.raw.read1(READ_PIECE_BYTES, decode_content=True)
            # urllib3's errors become requests' own; a stall mid-answer is a read timeout
            # like a stall before it (not retried), where requests would say ConnectionError.
            except urllib3.exceptions.ReadTimeoutError as exc:
                raise requests.ReadTimeout(exc) from None
            except urllib3.exceptions.SSLError as exc:
                raise requests.exceptions.SSLError(exc) from None
            except urllib3.exceptions.DecodeError as exc:
                raise requests.exceptions.ContentDecodingError(exc) from None
            except urllib3.exceptions.ProtocolError as exc:
                raise requests.exceptions.ChunkedEncodingError(exc) from None
            if not piece:
                break
            size += len(piece)
            if size > limit:
                raise self._too_large(bucket, response)
            pieces.append(piece)
        # What Response.content would have read and cached itself.
        response._content = b"".join(pieces)
        response._content_consumed = True

    @staticmethod
    def _too_large(bucket: str, response: requests.Response) -> ServerError:
        return ServerError(
            f"{_label(bucket)}'s answer is larger than "
            f"{settings.UPSTREAM_MAX_ANSWER_BYTES:,} bytes; cut off",
            status=response.status_code,
            source=bucket,
        )

    def _parse(self, bucket: str, response: requests.Response) -> Any:
        day = None
        if bucket == OPENDOTA:
            day = _header_int(response, "X-Rate-Limit-Remaining-Day")
            ratelimit.heed_remaining(
                bucket, minute=_header_int(response, "X-Rate-Limit-Remaining-Minute"), day=day
            )
        if bucket == STRATZ:
            left = {
                w.lower(): _header_int(response, f"X-RateLimit-Remaining-{w}")
                for w in STRATZ_WINDOWS
            }
            day = left["day"]
            ratelimit.heed_remaining(bucket, label="STRATZ", **left)
        status = response.status_code
        if bucket == STRATZ and (status == 403 or status == 401 or status == 500):
            refusal = self._stratz_refusal(response)
            if refusal is not None:
                raise refusal
        if status == 429:
            raise self._rate_limited(bucket, response, day_left=day)
        if status == 404:
            raise NotFound(f"not found on {_label(bucket)}", status=404, source=bucket)
        if 400 <= status < 500:
            raise self._refused(bucket, response)
        if status >= 500:
            raise ServerError(
                f"{_label(bucket)} answered HTTP {status}", status=status, source=bucket
            )
        if 300 <= status < 400:
            raise self._redirected(bucket, response)
        if status != 200:
            raise BadResponse(
                f"{_label(bucket)} answered HTTP {status}", status=status, source=bucket
            )
        try:
            return response.json()
        except (json.JSONDecodeError, ValueError):
            raise BadResponse(
                f"{_label(bucket)} sent malformed JSON", status=status, source=bucket
            ) from None
        except RecursionError:
            raise BadResponse(
                f"{_label(bucket)} sent JSON nested too deeply to read",
                status=status,
                source=bucket,
            ) from None

    def _stratz_refusal(self, response: requests.Response) -> SourceRefused | None:
        """STRATZ refuses the token, whatever the match: a missing token or one with a bad
        signature gets 403 JSON with `WWW-Authenticate: Key realm=kong`, a malformed one 500
        JSON (SOURCES.md's observed gateway behaviour). STRATZ is switched off for every job
        for STRATZ_REFUSED_SECONDS, the reason naming STRATZ_API_TOKEN; no match is charged.
        A 403 without the realm is the Cloudflare challenge (no User-Agent: our bug, not the
        token's); a 500 other than the gateway's `{"message": …}` is STRATZ being down."""
        status = response.status_code
        kong = "realm=kong" in response.headers.get("WWW-Authenticate", "").lower().replace('"', "")
        if status == 500 and not _gateway_message(response):
            return None  # STRATZ itself failing, not its gateway refusing the token
        challenged = "challenge" in response.headers.get("cf-mitigated", "").lower()
        if status in (401, 403) and not kong and challenged:
            return SourceRefused(
                "STRATZ's gateway answered a Cloudflare challenge (HTTP 403), not the API",
                setting=URL_SETTINGS[STRATZ],
                status=status,
                source=STRATZ,
            )
        setting = KEY_SETTINGS[STRATZ]
        until = dbclock.now() + timedelta(seconds=STRATZ_REFUSED_SECONDS)
        reason = (
            f"STRATZ refused the token (HTTP {status}): check {setting}; STRATZ is "
            f"switched off until {until:%H:%M} UTC."
        )
        ratelimit.disable_until(STRATZ, until, reason)
        return InvalidApiKey(
            f"STRATZ refused the token (HTTP {status})",
            setting=setting,
            status=status,
            source=STRATZ,
        )

    def _redirected(self, bucket: str, response: requests.Response) -> SourceRefused:
        """A 3xx: the API is not where its setting says (whatever the match)."""
        try:
            target = urlsplit(urljoin(response.url, response.headers.get("Location", "")))
            where = optional_text(target.hostname, 100) or "nowhere"
        except ValueError:  # not even a URL
            where = "nowhere"
        return SourceRefused(
            f"{_label(bucket)} answered HTTP {response.status_code}, a redirect to {where}, "
            "which is not followed",
            setting=URL_SETTINGS[bucket],
            status=response.status_code,
            source=bucket,
        )

    def _refused(self, bucket: str, response: requests.Response) -> SourceRefused:
        """A 4xx other than 404 and 429: the source refuses us, not one match.

        Steam answers a wrong key with a 403 HTML page; OpenDota answers a malformed or
        unknown key with 400 {"error": "Invalid API key format"} or "API key invalid…".
        """
        status = response.status_code
        said = _error_text(response)
        label = _label(bucket)
        if status in (401, 403) or "key" in said.lower():
            detail = f"HTTP {status}: {said}" if said else f"HTTP {status}"
            return InvalidApiKey(
                f"{label} refused the API key ({detail})",
                setting=KEY_SETTINGS[bucket],
                status=status,
                source=bucket,
            )
        detail = f": {said}" if said else ""
        return SourceRefused(
            f"{label} refused our requests (HTTP {status}{detail})",
            setting=URL_SETTINGS[bucket],
            status=status,
            source=bucket,
        )

    def _rate_limited(
        self, bucket: str, response: requests.Response, *, day_left: int | None
    ) -> RateLimited:
        """OpenDota's daily 429 says "daily api limit exceeded", its day counter negative
        (svc/web.ts); its minute 429 carries no Retry-After. STRATZ's 429s carry Kong's
        Retry-After."""
        daily = bucket == OPENDOTA and (
            "daily" in _error_text(response) or (day_left is not None and day_left < 0)
        )
        # Kong counts down to 0 and answers 429 there: nothing left of STRATZ's day.
        daily = daily or (bucket == STRATZ and day_left is not None and day_left <= 0)
        return RateLimited(
            f"{_label(bucket)} daily API limit exceeded"
            if daily
            else f"{_label(bucket)} rate limit exceeded",
            retry_after=_retry_after(response),
            daily=daily,
            source=bucket,
        )


def _header_int(response: requests.Response, name: str) -> int | None:
    try:
        return int(response.headers[name])
    except (KeyError, ValueError):
        return None


def _gateway_message(response: requests.Response) -> bool:
    """Whether the answer is Kong's own JSON error (`{"message": …}`), not the GraphQL
    server's (`{"errors": […]}`)."""
    try:
        data = response.json()
    except (ValueError, RecursionError):
        return False
    return isinstance(data, dict) and "message" in data and "errors" not in data


def _error_text(response: requests.Response) -> str:
    """OpenDota's {"error": "..."} text, short and without any key; "" for HTML pages."""
    try:
        data = response.json()
    except (ValueError, RecursionError):
        return ""
    error = data.get("error") if isinstance(data, dict) else None
    return optional_text(redact(str(error)), 120) if error else ""


def _steam_url(value: Any) -> str:
    """A web URL as Steam sends it; anything else (or too long for its column) is dropped,
    because pages put these in src and href attributes."""
    url = optional_text(value, 501)
    return url if url.startswith(("https://", "http://")) and len(url) <= 500 else ""


def _label(bucket: str) -> str:
    return {
        STEAM: "Steam",
        STEAM_SEQUENCE: "Steam (sequence)",
        OPENDOTA: "OpenDota",
        STRATZ: "STRATZ",
    }[bucket]


@cache
def stratz_query(name: str) -> str:
    """The query document matches/upstream/stratz_queries/<name>.graphql, read once."""
    return (QUERIES_DIR / f"{name}.graphql").read_text(encoding="utf-8")


__all__ = [
    "OPENDOTA",
    "STEAM",
    "STEAM_SEQUENCE",
    "STRATZ",
    "SUMMARIES_PER_CALL",
    "BadResponse",
    "InvalidApiKey",
    "NotFound",
    "PlayerSummary",
    "PrivateProfile",
    "RateLimited",
    "ServerError",
    "SourceRefused",
    "UpstreamClient",
    "UpstreamError",
]
