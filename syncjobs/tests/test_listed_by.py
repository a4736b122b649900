"""AccountMatch.listed_by: each listing adds its source's bit, idempotently, on both databases;
the completeness report's counts follow it."""

from datetime import UTC, datetime

import pytest

from matches import store
from matches.models import AccountMatch
from matches.upstream.normalize import HistoryEntry
from syncjobs import completeness
from syncjobs.sources import LISTED_BY_BITS

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]

STEAM, OPENDOTA = LISTED_BY_BITS["steam_history"], LISTED_BY_BITS["opendota"]


def page(*match_ids: int) -> list[HistoryEntry]:
    return [HistoryEntry(m, start_time=datetime(2025, 6, 1, tzinfo=UTC)) for m in match_ids]


def bits(account) -> dict[int, int]:
    return dict(AccountMatch.objects.filter(account=account).values_list("match_id", "listed_by"))


def test_a_second_source_adds_its_bit_and_a_relisting_changes_nothing(account):
    store.save_history_page(account, page(1, 2, 3), STEAM)
    store.save_history_page(account, page(2, 3, 4), OPENDOTA)
    store.save_history_page(account, page(2, 3, 4), OPENDOTA)
    store.save_history_page(account, page(1), STEAM)

    assert bits(account) == {1: STEAM, 2: STEAM | OPENDOTA, 3: STEAM | OPENDOTA, 4: OPENDOTA}
    report = completeness.report(account)
    views = {view.name: view for view in report.sources}
    assert (views["steam_history"].listed, views["steam_history"].only_here) == (3, 1)
    assert (views["opendota"].listed, views["opendota"].only_here) == (3, 1)
    assert report.stored == 4 == report.listed_union


def test_every_source_has_its_own_bit():
    assert len(set(LISTED_BY_BITS.values())) == len(LISTED_BY_BITS)
    assert all(bit & (bit - 1) == 0 for bit in LISTED_BY_BITS.values())
