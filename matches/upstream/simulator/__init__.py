"""A local stand-in for Valve's Steam Web API, OpenDota's API and STRATZ's GraphQL API, for
tests and the demo.

It answers the endpoints DotaSync calls with the real APIs' documented quirks
(inclusive `start_at_match_id`, the 500-match cap, status 15 for private
profiles, a 403 HTML page for a wrong key, GetMatchDetails' HTTP 500 `{}` since
patch 7.36, the sequence endpoint answering a later match, OpenDota hiding Turbo
unless `significant=0`, STRATZ's gateway refusals...) plus switchable faults. Stdlib only
but for graphql-core (STRATZ's queries are executed against its schema), so it also runs
as `manage.py steam_simulator` for `make run`.

- `world`: the synthetic, deterministic match data of the simulated accounts;
- `config`: the settings and the faults that can be switched on;
- `responses`: the answer shapes (Steam's HTML errors, OpenDota's JSON ones);
- `stratz`: STRATZ's POST /graphql, its gateway and limits, and `stratz_knows`;
- `state`: config, counters and request log, and the answer to each request;
- `server`: the HTTP server, in a thread (`run_simulator`) or a process.
"""

from matches.upstream.simulator.config import DEFAULT_CONFIG, ENDPOINTS, FAULTS
from matches.upstream.simulator.server import (
    SimulatorHandle,
    SimulatorServer,
    build_server,
    run_simulator,
)
from matches.upstream.simulator.state import SimulatorState
from matches.upstream.simulator.world import (
    BASE_MATCH_ID,
    SEQ_OFFSET,
    STEAM_HISTORY_CAP,
    TURBO,
    World,
    persona_name,
)

__all__ = [
    "BASE_MATCH_ID",
    "DEFAULT_CONFIG",
    "ENDPOINTS",
    "FAULTS",
    "SEQ_OFFSET",
    "STEAM_HISTORY_CAP",
    "TURBO",
    "SimulatorHandle",
    "SimulatorServer",
    "SimulatorState",
    "World",
    "build_server",
    "persona_name",
    "run_simulator",
]
