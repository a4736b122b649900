"""The upstream client wing: everything DotaSync knows about Steam's and OpenDota's APIs.

The client (client.py) and its one error taxonomy (errors.py), the turning of their JSON into
typed values (normalize.py), the pacing shared by every process (ratelimit.py, with its table in
slots.py), Steam's ids (steam_ids.py), Dota's constants (dota_constants.py, data/) and the
simulator that imitates both APIs (simulator/). It knows no match table: the match store imports
it, never the other way round (the import contracts in pyproject.toml).
"""
