"""What the simulator was asked, counted the way the tests check it."""

from collections import Counter

from matches.simulator import SEQ_OFFSET, SimulatorHandle

DETAIL_ENDPOINTS = ("details", "sequence", "opendota_match")


def fetches_per_match(simulator: SimulatorHandle) -> Counter:
    """Detail calls per match id, whichever detail source was asked."""
    fetches: Counter = Counter()
    for entry in simulator.state.log:
        if entry["endpoint"] in ("details", "opendota_match"):
            fetches[int(entry["params"]["match_id"])] += 1
        elif entry["endpoint"] == "sequence":
            fetches[int(entry["params"]["start_at_match_seq_num"]) + SEQ_OFFSET] += 1
    return fetches
