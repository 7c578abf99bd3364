"""How a run cuts its agreements into chunks (rebates.services.accrual._cut_into_chunks)."""

from hypothesis import given
from hypothesis import strategies as st

from rebates.services.accrual import FLAT_CHUNK_FACTOR, FULL_RUN_CHUNK_FACTOR, _cut_into_chunks


def test_a_full_run_of_the_generated_book_books_in_larger_chunks_ending_smaller():
    ids = list(range(1, 20_001))
    sizes = [len(chunk) for chunk in _cut_into_chunks(ids, 500, full=True)]
    assert sizes == [1_000] * 18 + [500, 500] + [250] * 4


def test_an_incremental_run_keeps_the_chunk_size():
    ids = list(range(1, 20_001))
    assert [len(chunk) for chunk in _cut_into_chunks(ids, 500, full=False)] == [500] * 40


def test_an_incremental_run_books_its_flat_agreements_first_in_larger_even_chunks():
    ids = list(range(1, 7_792))
    flat = frozenset(pk for pk in ids if pk % 9 < 5)  # 4,329 flat, 3,462 for the engine
    chunks = _cut_into_chunks(ids, 500, full=False, flat=flat)
    assert [len(chunk) for chunk in chunks] == [1_443] * 3 + [500] * 6 + [462]
    assert all(pk in flat for chunk in chunks[:3] for pk in chunk)
    assert not any(pk in flat for chunk in chunks[3:] for pk in chunk)


def test_a_small_full_run_keeps_the_chunk_size():
    assert _cut_into_chunks([1, 2, 3, 4, 5], 2, full=True) == [[1, 2], [3, 4], [5]]


@given(count=st.integers(min_value=0, max_value=3_000), size=st.integers(min_value=1, max_value=300),
       full=st.booleans())
def test_every_agreement_is_in_exactly_one_chunk_in_id_order(count, size, full):
    ids = list(range(10, 10 + count))
    chunks = _cut_into_chunks(ids, size, full=full)
    assert [pk for chunk in chunks for pk in chunk] == ids
    assert all(chunks)
    largest = FULL_RUN_CHUNK_FACTOR * size if full else size
    assert all(len(chunk) <= largest for chunk in chunks)
    if full:
        # After a first chunk of what does not fill a large one, the chunks only shrink towards the end.
        after_first = [len(chunk) for chunk in chunks[1:]]
        assert after_first == sorted(after_first, reverse=True)


@given(ids=st.lists(st.integers(min_value=1, max_value=5_000), unique=True, max_size=2_000).map(sorted),
       flat_share=st.integers(min_value=0, max_value=10), size=st.integers(min_value=1, max_value=300))
def test_an_incremental_run_puts_every_agreement_in_one_chunk_flat_ones_apart(ids, flat_share, size):
    flat = frozenset(pk for pk in ids if pk % 10 < flat_share)
    chunks = _cut_into_chunks(ids, size, full=False, flat=flat)
    assert sorted(pk for chunk in chunks for pk in chunk) == ids
    assert all(chunks) and all(chunk == sorted(chunk) for chunk in chunks)
    # A chunk is all flat or all for the engine; the flat ones first, no larger than their factor allows.
    kinds = [all(pk in flat for pk in chunk) for chunk in chunks]
    assert all(kind or not any(pk in flat for pk in chunk) for kind, chunk in zip(kinds, chunks, strict=True))
    assert kinds == sorted(kinds, reverse=True)
    flat_sizes = [len(chunk) for chunk, kind in zip(chunks, kinds, strict=True) if kind]
    assert all(n <= FLAT_CHUNK_FACTOR * size for n in flat_sizes)
    assert not flat_sizes or max(flat_sizes) - min(flat_sizes) <= 1
    assert all(len(chunk) <= size for chunk, kind in zip(chunks, kinds, strict=True) if not kind)
