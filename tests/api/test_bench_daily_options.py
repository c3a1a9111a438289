"""`make bench-daily`'s own logic (bench/daily.py and its modules): the neighbour shares it
parses, the issue's join target it marks met or not (a figure, never a verdict), and
whether a service tree can run the auto-record scenario at all."""

import argparse

import pytest

from bench.daily import shares
from bench.daily_autorecord import available
from bench.daily_scenarios import join_target
from tests.support.processes import ROOT


def test_shares_are_a_list_from_zero_to_below_one():
    assert shares("0,0.25") == [0.0, 0.25]
    assert shares("0.5") == [0.5]
    for wrong in ("", "1", "-0.1", "0,1.5"):
        with pytest.raises(argparse.ArgumentTypeError):
            shares(wrong)


def answers(count, ms, status=200):
    return [(ms, status, {"token": "t"} if status == 200 else None)] * count


def test_the_join_target_needs_everyone_admitted_and_joined_within_100_ms_at_p99():
    assert join_target(answers(100, 5), answers(100, 99), 100).endswith(": met")
    slow = answers(98, 10) + answers(2, 101)  # the 99th percentile is the slow one
    assert join_target(answers(100, 5), slow, 100).endswith("NOT met")
    refused = answers(90, 5) + answers(10, 5, 429)
    assert join_target(refused, answers(90, 10), 100).endswith("NOT met")
    assert join_target(answers(0, 5, 429), [], 0).endswith("NOT met")


def test_auto_record_is_available_only_where_the_setting_exists(tmp_path):
    assert available(ROOT)
    (tmp_path / "livesessions").mkdir()
    (tmp_path / "livesessions" / "config.py").write_text('"DAILY_API_KEY": Setting(None),\n')
    assert not available(tmp_path)
