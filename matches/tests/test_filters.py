"""The shared filters: the form's checks, the presets' dates, the heroes table's orderings."""

from datetime import UTC, date, timedelta

import pytest

from matches.filters import HeroesForm, MatchFiltersForm, Preset, next_ordering, presets
from matches.models import Match
from matches.tests.match_builders import complete_match
from matches.upstream import dota_constants


def test_presets_are_dates_ending_today():
    today = date(2025, 6, 10)
    assert [(p.label, p.start, p.end) for p in presets(today)] == [
        ("Last 7 days", date(2025, 6, 4), today),
        ("Last 30 days", date(2025, 5, 12), today),
        ("This patch (7.39)", date(2025, 5, 22), today),
        ("Last 365 days", date(2024, 6, 11), today),
        ("This year", date(2025, 1, 1), today),
    ]


def test_this_patch_is_the_newest_the_shipped_constants_know():
    newest, released = max(dota_constants.patches(), key=lambda patch: patch[1])
    today = released + timedelta(days=3)
    assert Preset(f"This patch ({newest})", released, today) in presets(today)


def test_before_any_known_patch_there_is_no_patch_preset():
    assert "This patch" not in " ".join(p.label for p in presets(date(2010, 1, 1)))


@pytest.mark.parametrize(
    ("column", "current", "asked"),
    [
        ("games", "-games", "games"),
        ("games", "games", "-games"),
        ("gpm", "-games", "-gpm"),
        ("hero", "-games", "hero"),
        ("hero", "hero", "-hero"),
    ],
)
def test_a_heading_click_reverses_its_column_or_sorts_by_it(column, current, asked):
    assert next_ordering(column, current) == asked


def test_the_last_day_python_knows_can_end_a_range(account):
    complete_match(1, account, won=True)
    form = MatchFiltersForm({"start": "0001-01-01", "end": "9999-12-31"})
    assert form.is_valid()
    assert form.filters(UTC).apply(Match.objects.from_side_of(account)).count() == 1


def test_a_refused_choice_keeps_its_field_described_and_marked_invalid():
    form = HeroesForm({"hero": "99999", "side": "dire", "sort": "-gpm"})
    assert not form.is_valid()
    hero = str(form["hero"])
    assert 'aria-invalid="true"' in hero
    assert 'aria-describedby="id_hero_error"' in hero
    assert '<option value="dire" selected>Dire</option>' in str(form["side"])
    assert '<option value="-gpm" selected>GPM, highest first</option>' in str(form["sort"])
    assert form.error_messages() == {"hero": ["No hero has the id 99999."]}
