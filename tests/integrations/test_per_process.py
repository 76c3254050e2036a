"""How a process holds its clients (pure): one a key, made once, made again after a fork or a discard."""

from __future__ import annotations

import itertools
import os
from functools import partial

import pytest

from integrations.clients import PerProcess, per_process


def test_a_value_is_made_once_and_again_after_a_discard() -> None:
    made = itertools.count()
    held = per_process(lambda: next(made))
    assert (held(), held()) == (0, 0)
    held.discard()
    assert held() == 1


def test_one_value_a_key_and_the_oldest_keys_go_past_the_bound() -> None:
    held: PerProcess[str] = PerProcess(max_entries=2)
    made: list[str] = []

    def make(key: str) -> str:
        made.append(key)
        return key.upper()

    assert [held.get(key, partial(make, key)) for key in ("a", "b", "a", "c", "a")] == list("ABACA")
    assert made == ["a", "b", "c"]  # "a" kept while used; "b", the oldest, went when "c" came
    held.get("b", partial(make, "b"))
    assert made == ["a", "b", "c", "b"]


def test_a_forked_child_makes_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    made = itertools.count()
    held = per_process(lambda: next(made))
    assert held() == 0
    parent = os.getpid()
    monkeypatch.setattr(os, "getpid", lambda: parent + 1)  # as in a child the server forked
    assert held() == 1
    assert held() == 1
