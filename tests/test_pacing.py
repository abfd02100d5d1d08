"""The pacer: evenly spaced calls a measured margin below the configured rate, a schedule that
small delays do not erode, and a wider margin after a 429."""

from __future__ import annotations

import pytest

from bot.delivery import pacing
from bot.delivery.pacing import Pacer


def test_calls_leave_a_margin_below_the_configured_rate() -> None:
    pacer = Pacer(20, margin=0.03)
    now, slots = 100.0, []
    for _ in range(21):
        wait = pacer.reserve("chat.postMessage", None, now)
        now += wait
        slots.append(now)
    assert slots[20] - slots[0] == pytest.approx(20 / (20 * 0.97))  # 21 calls span > 1 s


def test_a_late_start_keeps_the_schedule_by_at_most_catch_up() -> None:
    pacer = Pacer(20, margin=0.0)
    interval = pacer.interval("chat.postMessage")
    assert pacer.reserve("chat.postMessage", None, 0.0) == 0.0
    # The previous call ran 3 ms past its successor's slot: that one goes at once and the
    # schedule holds.
    assert pacer.reserve("chat.postMessage", None, interval + 0.003) == 0.0
    assert pacer.reserve("chat.postMessage", None, interval + 0.004) == pytest.approx(
        interval - 0.004
    )
    # Far behind (a stall of a second): no burst to catch up, at most CATCH_UP is kept.
    late = 5.0
    assert pacer.reserve("chat.postMessage", None, late) == 0.0
    assert pacer.reserve("chat.postMessage", None, late) == pytest.approx(
        interval - pacing.CATCH_UP
    )


def test_a_429_pauses_the_method_and_widens_its_margin() -> None:
    pacer = Pacer(20, margin=0.03)
    before = pacer.interval("chat.postMessage")
    pacer.pause("chat.postMessage", 1.0, now=10.0)
    assert pacer.paused_methods(10.5) == ["chat.postMessage"]
    assert pacer.margin("chat.postMessage") == pytest.approx(0.03 + pacing.MARGIN_STEP)
    assert pacer.reserve("chat.postMessage", None, 10.5) == pytest.approx(0.5)
    assert pacer.interval("chat.postMessage") > before
    assert pacer.margin("views.publish") == pytest.approx(0.03)  # other methods keep theirs
    for _ in range(5000):  # it narrows back as calls go out
        pacer.reserve("chat.postMessage", None, 1_000.0)
    assert pacer.margin("chat.postMessage") == pytest.approx(0.03, abs=0.001)


def test_the_margin_never_exceeds_its_bound() -> None:
    pacer = Pacer(20, margin=0.03)
    for second in range(100):
        pacer.pause("chat.postMessage", 1.0, now=float(second))
    assert pacer.margin("chat.postMessage") == pytest.approx(pacing.MAX_MARGIN)


def test_no_n_plus_one_calls_leave_within_a_second_whatever_their_schedule() -> None:
    pacer = Pacer(5, margin=0.0)  # 5 a second: 0.2 s apart
    now = 0.0
    pacer.departed("chat.postMessage", 0.15)  # the first left 150 ms after its slot
    for slot in (0.2, 0.4, 0.6, 0.8):
        pacer.reserve("chat.postMessage", None, now)
        pacer.departed("chat.postMessage", slot)
    # The sixth call's slot is 1.0, but only 1.0 s after the first really left may it go.
    wait = pacer.reserve("chat.postMessage", None, 1.0)
    assert wait == pytest.approx(0.15 + pacing.WINDOW_GUARD)
