"""gunicorn's settings for DotaSync: `make serve` and deploy/dotasync-web.service use them.

WEB_BIND is the address to listen on (default 127.0.0.1:8000: a reverse proxy in front
terminates TLS); WEB_CONCURRENCY the number of worker processes.
"""

import os

from dotasync.env import env_int, env_str

# gunicorn's guidance for sync workers, (2 x CPUs) + 1, capped: a self-hosted site has few
# visitors, and every worker holds a copy of Django in memory.
_cpus = len(os.sched_getaffinity(0))
workers = env_int("WEB_CONCURRENCY", min(2 * _cpus + 1, 8), minimum=1)
bind = [env_str("WEB_BIND", "127.0.0.1:8000")]
# Django is loaded once, before the workers fork: a configuration error stops gunicorn at
# start-up with Django's message instead of a loop of workers failing to boot.
preload_app = True
# gunicorn's control socket defaults to one path per user ($XDG_RUNTIME_DIR or ~/.gunicorn),
# which a second gunicorn of the same user would take over; systemd or honcho manage this one.
control_socket_disable = True
