"""The 0-RTT single-use ticket store (RFC 9846 §8.1, §8.2): a second use is refused inside the window, entries go
after ``keep_for``, and a full store refuses (never accepts unrecorded)."""

from __future__ import annotations

import threading

import pytest

from tlsstate.sessions.anti_replay import FRESHNESS_WINDOW, SingleUseTickets


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_second_use_is_refused_until_the_entry_expires() -> None:
    clock = Clock()
    store = SingleUseTickets(keep_for=21.0, clock=clock)
    assert store.first_use(b"ticket-a")
    assert not store.first_use(b"ticket-a")
    assert store.first_use(b"ticket-b")
    clock.now += 20.9
    assert not store.first_use(b"ticket-a") and len(store) == 2
    clock.now += 0.2  # past keep_for: a replay now fails the freshness check instead, the entry may go
    assert len(store) == 0
    assert store.first_use(b"ticket-a")


def test_default_keeps_entries_for_both_sides_of_the_freshness_window() -> None:
    assert SingleUseTickets().keep_for == 2 * FRESHNESS_WINDOW + 1


def test_full_store_refuses_and_counts() -> None:
    clock = Clock()
    store = SingleUseTickets(max_entries=3, keep_for=10.0, clock=clock)
    assert all(store.first_use(bytes([i])) for i in range(3))
    assert not store.first_use(b"\x03") and store.refused_full == 1 and len(store) == 3
    assert not store.first_use(b"\x00")  # a replay is still a replay, not a refusal for room
    assert store.refused_full == 1
    clock.now += 10.0  # the window passed: room again
    assert store.first_use(b"\x03") and len(store) == 1


def test_expiry_is_in_insertion_order() -> None:
    clock = Clock()
    store = SingleUseTickets(max_entries=10, keep_for=5.0, clock=clock)
    store.first_use(b"old")
    clock.now += 3.0
    store.first_use(b"new")
    clock.now += 2.5
    assert len(store) == 1 and not store.first_use(b"new") and store.first_use(b"old")


def test_keeps_digests_only() -> None:
    store = SingleUseTickets()
    store.first_use(b"secret ticket bytes")
    assert all(len(key) == 32 and key != b"secret ticket bytes" for key in store._seen)


def test_bad_bounds() -> None:
    with pytest.raises(ValueError):
        SingleUseTickets(max_entries=0)
    with pytest.raises(ValueError):
        SingleUseTickets(keep_for=0)


def test_one_winner_among_threads() -> None:
    store = SingleUseTickets()
    wins: list[bool] = []
    threads = [threading.Thread(target=lambda: wins.append(store.first_use(b"t"))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert sorted(wins) == [False] * 7 + [True]
