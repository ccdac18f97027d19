"""The handoff from an ack to its lazy listener: each value taken once, and bounded."""

from bot.slack.handoff import Handoff


def test_a_value_is_taken_once_and_unknown_tokens_give_none():
    handoff = Handoff()
    token = handoff.put({"type": "modal"})
    assert handoff.take(token) == {"type": "modal"}
    assert handoff.take(token) is None and handoff.take(None) is None and handoff.take("nope") is None


def test_values_never_taken_do_not_pile_up():
    handoff = Handoff(max_waiting=3)
    tokens = [handoff.put(n) for n in range(5)]
    assert [handoff.take(t) for t in tokens] == [None, None, 2, 3, 4]
