"""Which process is running an account's sync, known even after that process died.

On PostgreSQL a running job holds a session-level advisory lock on its
account. The server drops the lock when the worker's connection ends - also
on kill -9 - so "lock free while the job says running" proves the job is dead.
SQLite has no such lock; there a stale heartbeat is the (slower) evidence.
"""

import logging
import threading

from django.db import DatabaseError, connection

logger = logging.getLogger(__name__)

# 'DSNC' in the high half keeps our keys apart from any other advisory lock user.
_NAMESPACE = 0x44534E43 << 32
_held_here: set[int] = set()
_held_lock = threading.Lock()


def supported() -> bool:
    return connection.vendor == "postgresql"


def _key(account_id: int) -> int:
    return _NAMESPACE | account_id


def acquire(account_id: int) -> bool:
    """Take the account's lock for this connection; False if another session holds it."""
    if not supported():
        return True
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [_key(account_id)])
        acquired = bool(cursor.fetchone()[0])
    if acquired:
        with _held_lock:
            _held_here.add(account_id)
    return acquired


def release(account_id: int) -> None:
    with _held_lock:
        _held_here.discard(account_id)
    if not supported():
        return
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [_key(account_id)])
    except DatabaseError:
        # The connection is gone, and the server released the lock with it.
        logger.warning("could not release the sync lock of account %s", account_id)


def held_by_nobody(account_id: int) -> bool | None:
    """True when no process holds the account's lock; None when the database cannot tell."""
    if not supported():
        return None
    with _held_lock:
        if account_id in _held_here:
            return False
    # pg_try_advisory_lock succeeds for its own session again, so probing from a
    # connection that holds the lock would wrongly report it free: _held_here covers that.
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [_key(account_id)])
        free = bool(cursor.fetchone()[0])
        if free:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [_key(account_id)])
    return free
