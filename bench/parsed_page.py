"""13. A parsed match's page: each section under 20 clients, and its SQL queries.

gunicorn serves the site from the bench database; the match is OpenDota's real parsed answer
(matches/tests/data/opendota_parsed_match_4080856812.json, 250 kB of JSON, stored as a sync
stores it), played by the signed-in user's account. The match page does not poll (only the
dashboard does, while a sync runs), so the load is bench 9's polling load: 20 clients each
asking for the page once a second, spread over the second, as 20 open pages reloaded would.
Each section is measured twice: the whole page (a link followed without JavaScript, or a
reload) and the tabs with the section alone (htmx's swap when a tab is followed). The queries
of each section come from Django's test client.

Run it alone with `python -m bench.run --only 13 --print-only` (`--print-only` leaves
bench/results.md as it is).
"""

import sys
import time
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from bench.common import Options, Section, Simulator, median, percentile, reset_data, verdict
from bench.web import CLIENTS, WARM_UP_SECONDS, WORKERS, _answers, load, query_counts
from matches.models import SteamAccount
from matches.parsed_page import DEFAULT_SECTION, SECTIONS
from matches.tests.match_builders import parsed_match
from tests.processes import Child, child_env, free_port, stop, wait_for

ACCOUNT_ID = 79_000_001
TARGET_P99_MS = 150
PACE_SECONDS = 1.0
# (label, headers): the whole page, then the tabs and the section as htmx asks for them.
KINDS = (("page", {}), ("htmx section", {"HX-Request": "true"}))


def _section_path(match_id: int, section: str) -> str:
    if section == DEFAULT_SECTION:
        return reverse("match_detail", args=[match_id])
    return reverse("match_section", args=[match_id, section])


def run(sim: Simulator, options: Options) -> Section:
    seconds = 5 if options.quick else 15
    runs = 5 if options.quick else 15
    section = Section()
    reset_data()
    user = get_user_model().objects.create_user("bench", password="bench-password-1")
    account = SteamAccount.objects.create(account_id=ACCOUNT_ID, owner=user)
    match = parsed_match(account)
    paths = {slug: _section_path(match.match_id, slug) for slug, _title in SECTIONS}

    name = "13. Parsed match page"
    query_counts(user, paths[DEFAULT_SECTION])  # the first visit also records the account chosen
    built, kept = [], []
    for path in paths.values():
        cache.clear()
        built.append(query_counts(user, path))
        kept.append(query_counts(user, path))
    section.add(
        name,
        "SQL queries of each section (" + ", ".join(paths) + "), built afresh / kept",
        f"{' '.join(map(str, built))} / {' '.join(map(str, kept))}",
        "kept: the same for each",
        verdict(len(set(kept)) == 1),
    )
    for slug, path in paths.items():
        section.add(
            name,
            f"{slug}, service time (test client, one at a time): built afresh / kept, median",
            _service_times(user, path, runs),
        )

    port = free_port()
    server = Child(
        str(Path(sys.executable).with_name("gunicorn")),
        "dotasync.wsgi:application",
        *("--bind", f"127.0.0.1:{port}", "--workers", str(WORKERS)),
        env=child_env(),
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(lambda: _answers(base + reverse("login")), 60, "gunicorn to answer")
        client = Client(SERVER_NAME="127.0.0.1")
        client.force_login(user)
        cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
        for slug, path in paths.items():
            for kind, headers in KINDS:
                url = base + path
                # Every worker answers a few requests first, so no cold start is measured.
                load(url, cookie, headers, WARM_UP_SECONDS, WORKERS, None)
                latencies, errors = load(url, cookie, headers, seconds, CLIENTS, PACE_SECONDS)
                p99 = percentile(latencies, 0.99)
                section.add(
                    name,
                    f"{slug}, {kind}, {CLIENTS} clients polling 1/s: p50 / p95 / p99",
                    f"{median(latencies):.0f} / {percentile(latencies, 0.95):.0f} / "
                    f"{p99:.0f} ms ({len(latencies)} requests, {errors} errors)",
                    f"p99 < {TARGET_P99_MS} ms",
                    verdict(p99 < TARGET_P99_MS and not errors),
                )
    finally:
        stop(server)
    section.notes.append(
        f"Parsed match page: gunicorn with {WORKERS} sync workers; OpenDota's real parsed "
        f"answer of match {match.match_id} (parser v{match.parsed.version}); each section "
        f"for {seconds} s per kind after a {WARM_UP_SECONDS:.0f} s warm-up. The load "
        "generator shares the CPUs with gunicorn and PostgreSQL."
    )
    return section


def _service_times(user, path: str, runs: int) -> str:
    """How long the test client takes for `path`: the section built afresh (the cache emptied
    first), then kept."""
    client = Client(SERVER_NAME="127.0.0.1")
    client.force_login(user)
    timings: dict[bool, list[float]] = {False: [], True: []}
    for _ in range(runs):
        cache.clear()
        for kept in (False, True):
            started = time.perf_counter()
            client.get(path)
            timings[kept].append((time.perf_counter() - started) * 1000)
    return f"{median(timings[False]):.0f} / {median(timings[True]):.0f} ms ({runs} requests each)"
