"""The pacer: a gap per channel, a pause for Retry-After, and a workspace pace learnt from 429s."""

from __future__ import annotations

from bot.pacing import Limit, Pacer, RateWindows


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


def windows(time: Time, **kwargs: float) -> RateWindows:
    return RateWindows(clock=lambda: time.now, sleep=time.sleep, **kwargs)


def test_a_window_admits_its_count_then_waits_for_the_oldest_to_leave_it():
    time = Time()
    paced = windows(time)
    seven = Limit("conversation:a", 7, 1.0)
    for _ in range(7):
        assert paced.take(seven) == 0
    assert time.slept == []
    assert paced.take(seven) == 0 and time.slept == [1.0]  # the eighth goes a second after the first
    assert paced.take(Limit("conversation:b", 7, 1.0)) == 0 and time.slept == [1.0]  # other keys do not wait


def test_every_limit_of_a_request_is_honoured_at_once():
    time = Time()
    paced = windows(time)
    tenant = Limit("tenant:t", 50, 1.0)
    sent = []
    for number in range(120):  # 120 sends over 40 conversations: the tenant's 50 a second binds
        assert paced.take(Limit(f"conversation:{number % 40}", 7, 1.0), tenant) == 0
        sent.append(time.now)
    for index in range(len(sent) - 50):
        assert sent[index + 50] - sent[index] >= 1.0 - 1e-9  # never 51 inside one second


def test_a_long_wait_takes_nothing_and_says_how_long():
    time = Time()
    paced = windows(time, max_wait=2.0)
    slow = Limit("conversation:a", 1, 5.0)
    assert paced.take(slow) == 0
    assert paced.take(slow) == 5.0 and time.slept == []
    time.now += 5
    assert paced.take(slow) == 0


def test_threads_sharing_a_key_never_exceed_its_limit():
    import threading
    import time as real

    paced = RateWindows(max_wait=10.0)
    limit = Limit("tenant:t", 20, 0.2)
    sent: list[float] = []
    lock = threading.Lock()

    def send() -> None:
        for _ in range(15):
            paced.take(limit)
            with lock:
                sent.append(real.monotonic())

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    sent.sort()
    assert len(sent) == 60
    for index in range(len(sent) - 20):
        assert sent[index + 20] - sent[index] >= 0.2 - 0.01
