"""Which process is running an account's sync, known even after that process died.

A running job's worker holds a lock on its account that goes with the worker's
process, also on kill -9, and stays while the process is merely paused (a laptop
asleep, a stopped process):

- PostgreSQL: a session-level advisory lock, which the server drops when the
  worker's connection ends;
- SQLite (always one machine): an flock on a file beside the database
  (`<database>.locks/account-<id>.lock`), which the kernel drops when the process
  that took it ends.

So "lock free while the job says running" proves the job is dead, at once. Only
an in-memory SQLite database has no such lock; there a stale heartbeat is the
(slower) evidence (syncjobs.liveness).
"""

import fcntl
import logging
import os
import threading
from pathlib import Path

from django.db import DatabaseError, connection

logger = logging.getLogger(__name__)

# 'DSNC' in the high half keeps our keys apart from any other advisory lock user.
_NAMESPACE = 0x44534E43
_held_here: set[int] = set()
# The open lock files of the SQLite locks this process holds, by account.
_files: dict[int, int] = {}
_held_lock = threading.Lock()


def supported() -> bool:
    """Whether the database has a lock that dies with its holder (not in-memory SQLite)."""
    return connection.vendor == "postgresql" or _lock_directory() is not None


def _lock_directory() -> Path | None:
    if connection.vendor != "sqlite" or connection.is_in_memory_db():
        return None
    database = Path(connection.settings_dict["NAME"]).resolve()
    return database.with_name(f"{database.name}.locks")


def _lock_file(directory: Path, account_id: int) -> Path:
    return directory / f"account-{account_id}.lock"


def _key(account_id: int) -> int:
    return (_NAMESPACE << 32) | account_id


def acquire_account_lock(account_id: int) -> bool:
    """Take the account's lock for this connection (PostgreSQL) or this open file
    (SQLite); False if another session or process holds it."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [_key(account_id)])
            acquired = bool(cursor.fetchone()[0])
    else:
        directory = _lock_directory()
        if directory is None:
            return True
        acquired = _flock(directory, account_id)
    if acquired:
        with _held_lock:
            _held_here.add(account_id)
    return acquired


def _flock(directory: Path, account_id: int) -> bool:
    directory.mkdir(exist_ok=True)
    # O_CLOEXEC: a program this process starts must not inherit, and so keep, the lock.
    fd = os.open(_lock_file(directory, account_id), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return False
    with _held_lock:
        _files[account_id] = fd
    return True


def release_account_lock(account_id: int) -> None:
    with _held_lock:
        _held_here.discard(account_id)
        fd = _files.pop(account_id, None)
    if fd is not None:
        os.close(fd)  # closing the only descriptor of the open file drops its flock
    if connection.vendor != "postgresql":
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

    On PostgreSQL it reads pg_locks instead of trying the lock: a probe that took the
    lock for a moment could make a worker starting the job at that moment believe
    another worker runs it. An flock cannot be read without trying it: the probe
    takes a shared lock for a moment, which a worker starting the job waits out
    (syncjobs.engine waits seconds for the account's lock).
    """
    with _held_lock:
        if account_id in _held_here:
            return False
    if connection.vendor == "postgresql":
        return _no_advisory_lock(account_id)
    directory = _lock_directory()
    if directory is None:
        return None
    try:
        fd = os.open(_lock_file(directory, account_id), os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return True  # no sync of the account ever ran on this database
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)
    return True


def _no_advisory_lock(account_id: int) -> bool:
    # A bigint advisory key shows up as (classid, objid) = (high, low 32 bits), objsubid 1.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT NOT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND classid = %s::bigint::oid AND objid = %s::bigint::oid AND objsubid = 1 "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()))",
            [_NAMESPACE, account_id],
        )
        return bool(cursor.fetchone()[0])
