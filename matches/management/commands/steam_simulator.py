"""`manage.py steam_simulator`: serve the Steam/OpenDota simulator (the demo's upstream)."""

import logging
import signal
from typing import Any

from django.core.management.base import BaseCommand

from matches.upstream.simulator import SimulatorState, build_server
from matches.upstream.simulator.world import DEMO_ACCOUNT_ID, DEMO_ACCOUNT_SPLIT

logger = logging.getLogger("matches.simulator")


def _stop(signum: int, frame: Any) -> None:
    # serve_forever only leaves its loop through an exception raised in the main thread.
    raise KeyboardInterrupt


class Command(BaseCommand):
    help = (
        "Serve a simulator of Valve's Steam Web API, OpenDota's API and STRATZ's GraphQL API "
        "(POST /graphql, token sim-token) until Ctrl-C or SIGTERM. "
        "Its synthetic histories end the evening before it starts, with today's match ids and "
        "fields. Faults can be switched on at runtime with POST /_sim/config."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8765)
        parser.add_argument("--api-key", default="sim-key", help="the Steam key it accepts")
        parser.add_argument(
            "--matches-per-account",
            type=int,
            default=150,
            help="matches of each account of the simulated population, accounts 86740000 to "
            "86759999 (the demo's 86745912 among them); other accounts have none",
        )
        parser.add_argument("--latency-ms", type=float, default=0.0)
        parser.add_argument(
            "--details-broken",
            action="store_true",
            help="GetMatchDetails answers HTTP 500 {} like Valve's since patch 7.36",
        )
        parser.add_argument(
            "--seed", type=int, default=0, help="another seed, other (but as realistic) data"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        state = SimulatorState(
            api_key=options["api_key"],
            default_matches=options["matches_per_account"],
            latency_ms=options["latency_ms"],
            details_broken=options["details_broken"],
            seed=options["seed"],
            # The demo account's sources disagree as real ones do (World.knows).
            accounts={DEMO_ACCOUNT_ID: DEMO_ACCOUNT_SPLIT},
        )
        server = build_server(state, options["host"], options["port"])
        signal.signal(signal.SIGTERM, _stop)
        logger.info(
            "Steam/OpenDota/STRATZ simulator listening: STEAM_API_BASE_URL=%s "
            "OPENDOTA_API_BASE_URL=%s STRATZ_API_BASE_URL=%s "
            "(%d matches per account, details %s)",
            server.base_url,
            server.base_url + "/api",
            server.base_url + "/graphql",
            options["matches_per_account"],
            "broken" if options["details_broken"] else "working",
        )
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            logger.info("Simulator stopped")
        finally:
            state.stopping.set()
            server.server_close()
