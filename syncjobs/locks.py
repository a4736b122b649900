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
_NAMESPACE = 0x44534E43
_held_here: set[int] = set()
_held_lock = threading.Lock()


def supported() -> bool:
    return connection.vendor == "postgresql"


def _key(account_id: int) -> int:
    return (_NAMESPACE << 32) | account_id


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


def held_here() -> set[int]:
    """The accounts whose lock this process holds."""
    with _held_lock:
        return set(_held_here)


def held_by_nobody(account_id: int) -> bool | None:
    """True when no process holds the account's lock; None when the database cannot tell.

    It reads pg_locks instead of trying the lock: a probe that took the lock for a
    moment could make a worker starting the job at that moment believe another
    worker runs it.
    """
    if not supported():
        return None
    with _held_lock:
        if account_id in _held_here:
            return False
    # A bigint advisory key shows up as (classid, objid) = (high, low 32 bits), objsubid 1.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT NOT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND classid = %s::bigint::oid AND objid = %s::bigint::oid AND objsubid = 1 "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()))",
            [_NAMESPACE, account_id],
        )
        return bool(cursor.fetchone()[0])
