"""Nightly number work (the accrual run, the outlook) pauses Python's cycle collector while it works, and gives
it back as it found it."""

import gc

import pytest

from rebates.collector import collector_paused


@pytest.fixture
def collector_on():
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def test_the_collector_is_paused_inside_and_back_on_after(collector_on):
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_collector_already_off_stays_off(collector_on):
    gc.disable()
    with collector_paused():
        assert not gc.isenabled()
    assert not gc.isenabled()
    gc.enable()


def test_the_collector_is_back_on_after_an_error(collector_on):
    with pytest.raises(ValueError), collector_paused():
        raise ValueError("a chunk failed")
    assert gc.isenabled()


def test_nested_pauses_give_it_back_once_the_outer_one_ends(collector_on):
    with collector_paused():
        with collector_paused():
            pass
        assert not gc.isenabled()
    assert gc.isenabled()
