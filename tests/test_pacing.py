"""The pacer: a gap per channel, a pause for Retry-After, and a workspace pace learnt from 429s."""

from __future__ import annotations

from bot.pacing import Pacer


class Time:
    """A clock the pacer's sleeps move forward."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def pacer(time: Time, **kwargs: float) -> Pacer:
    return Pacer(clock=lambda: time.now, sleep=time.sleep, **kwargs)


def test_posts_go_flat_out_until_the_platform_says_otherwise():
    time = Time()
    paced = pacer(time)
    for _ in range(100):
        assert paced.pace()
        paced.sent()
    assert time.slept == [] and paced.gap == 0


def test_a_429_pauses_everything_then_posts_go_at_the_rate_just_accepted():
    time = Time()
    paced = pacer(time)
    for _ in range(40):  # 40 posts inside one second, then refused
        paced.sent()
        time.now += 0.02
    paced.limited(retry_after=5)
    assert not paced.pace()  # paused longer than a batch should sleep
    time.now += 5
    assert paced.pace()
    assert abs(paced.gap - 1.1 / 40) < 1e-9
    paced.sent()
    assert paced.pace() and abs(time.slept[-1] - paced.gap) < 1e-9
    before = paced.gap
    for _ in range(50):
        paced.pace()
        paced.sent()
    assert paced.gap < before  # eases back towards the limit as posts go through


def test_one_channel_waits_its_gap_and_others_do_not():
    time = Time()
    paced = pacer(time, channel_gap=1.0)
    paced.sent("C1")
    assert paced.channel_wait("C1") == 1.0 and paced.channel_wait("C2") == 0
    time.now += 0.4
    assert abs(paced.channel_wait("C1") - 0.6) < 1e-9
