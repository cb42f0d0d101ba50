"""index.writer.BulkIndexer: shared bulk requests for concurrent callers, answered only once the index has
decided, retried with backoff (an injected clock: nothing sleeps) for as long as the index is unavailable."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from pipeline.index.writer import (
    BulkIndexer,
    Created,
    Duplicate,
    IndexDoc,
    IndexUnavailable,
    Refused,
    RequestRefused,
    item_outcome,
)
from tests.fakes.clock import FakeClock


def doc(n: int, size: int = 10) -> IndexDoc:
    return IndexDoc("botes-ids", f"id{n}", {"n": n, "pad": "x" * size})


class FakeIndex:
    """Answers bulk requests like an index would: per document, by a rule; records every request."""

    def __init__(self, rule: Callable[[dict[str, Any], int], Any] | None = None) -> None:
        self.requests: list[list[dict[str, Any]]] = []
        self.rule = rule or (lambda source, attempt: 201)
        self.gate: asyncio.Event | None = None  # when set, requests wait for it: "in flight"

    async def send(self, lines: list[bytes]) -> list[dict[str, Any]]:
        sources = [json.loads(line) for line in lines[1::2]]
        actions = [json.loads(line) for line in lines[0::2]]
        assert all(list(action) == ["create"] for action in actions)
        self.requests.append(sources)
        if self.gate is not None:
            await self.gate.wait()
        outcome = self.rule(sources[0], len(self.requests)) if sources else 201
        if isinstance(outcome, Exception):
            raise outcome
        items = []
        for source in sources:
            status = self.rule(source, len(self.requests))
            answer: dict[str, Any] = {"status": status}
            if status >= 300:
                answer["error"] = {"type": "mapper_parsing_exception", "reason": f"doc {source['n']}"}
            items.append({"create": answer})
        return items


def indexer(index: FakeIndex, clock: FakeClock, **options: Any) -> BulkIndexer:
    settings = {"max_actions": 100, "max_bytes": 1_000_000, "max_requests": 1, "linger": 1000.0,
                "backoff": 0.5, "max_backoff": 4.0, **options}
    return BulkIndexer(index.send, clock=clock, sleep=clock.async_sleep, jitter=lambda: 1.0, **settings)


def run(coroutine: Awaitable[Any]) -> Any:
    return asyncio.run(coroutine)  # type: ignore[arg-type]


def test_concurrent_documents_share_requests_and_each_caller_gets_its_own_outcome() -> None:
    index = FakeIndex(lambda source, attempt: 409 if source["n"] % 10 == 0 else 201)
    writer = indexer(index, FakeClock(), max_actions=30)

    async def go() -> list[Any]:
        return await asyncio.gather(*(writer.index(doc(n)) for n in range(100)))

    outcomes = run(go())
    assert outcomes == [Duplicate() if n % 10 == 0 else Created() for n in range(100)]
    # All arrived before the first request left: full batches, one request at a time.
    assert [len(request) for request in index.requests] == [30, 30, 30, 10]
    assert sorted(source["n"] for request in index.requests for source in request) == list(range(100))
    assert writer.stats.created == 90 and writer.stats.duplicates == 10 and writer.stats.waiting == 0


def test_a_batch_is_cut_by_bytes_as_well_as_by_count() -> None:
    index = FakeIndex()
    writer = indexer(index, FakeClock(), max_actions=100, max_bytes=3_500)

    async def go() -> None:
        await asyncio.gather(*(writer.index(doc(n, size=1_000)) for n in range(10)))

    run(go())
    assert [len(request) for request in index.requests] == [3, 3, 3, 1]


def test_a_document_larger_than_max_bytes_still_goes_alone() -> None:
    index = FakeIndex()
    writer = indexer(index, FakeClock(), max_bytes=1_024)
    assert run(writer.index(doc(1, size=50_000))) == Created()
    assert [len(request) for request in index.requests] == [1]


def test_a_second_slot_takes_only_a_full_batch_before_the_linger() -> None:
    index = FakeIndex()
    index.gate = asyncio.Event()
    writer = indexer(index, FakeClock(), max_requests=2, max_actions=5)

    async def go() -> None:
        first = asyncio.ensure_future(writer.index(doc(0)))
        await asyncio.sleep(0)
        rest = [asyncio.ensure_future(writer.index(doc(n))) for n in range(1, 9)]
        for _ in range(5):
            await asyncio.sleep(0)
        # doc 0 is in flight in slot one; slot two took a full batch of 5; 3 wait for a slot or the linger.
        assert [len(request) for request in index.requests] == [1, 5]
        assert index.gate is not None
        index.gate.set()
        await asyncio.gather(first, *rest)

    run(go())
    assert [len(request) for request in index.requests] == [1, 5, 3]


def test_an_unavailable_index_is_retried_with_backoff_until_it_answers() -> None:
    clock = FakeClock()
    index = FakeIndex(lambda source, attempt: IndexUnavailable("connection refused") if attempt <= 6 else 201)
    writer = indexer(index, clock)
    assert run(writer.index(doc(1))) == Created()
    assert len(index.requests) == 7
    assert clock.slept == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]  # doubling, capped at max_backoff
    assert writer.stats.refused == 0


def test_documents_the_index_asks_to_retry_are_sent_again_the_others_answered_at_once() -> None:
    clock = FakeClock()
    index = FakeIndex(lambda source, attempt: 429 if source["n"] == 1 and attempt < 3 else 201)
    writer = indexer(index, clock)

    async def go() -> list[Any]:
        return await asyncio.gather(*(writer.index(doc(n)) for n in range(3)))

    assert run(go()) == [Created(), Created(), Created()]
    assert [[s["n"] for s in request] for request in index.requests] == [[0, 1, 2], [1], [1]]
    assert clock.slept == [0.5, 1.0]
    assert writer.stats.retries == 2


@pytest.mark.parametrize("status", [500, 502, 503, 403, 404, 408])
def test_statuses_that_end_by_themselves_or_by_an_operator_are_retried_not_refused(status: int) -> None:
    index = FakeIndex(lambda source, attempt: status if attempt == 1 else 201)
    assert run(indexer(index, FakeClock()).index(doc(1))) == Created()


@pytest.mark.parametrize("status", [400, 413])
def test_a_mapping_conflict_or_a_document_too_large_is_refused_for_good(status: int) -> None:
    index = FakeIndex(lambda source, attempt: status)
    outcome = run(indexer(index, FakeClock()).index(doc(7)))
    assert outcome == Refused(f"{status} mapper_parsing_exception: doc 7")
    assert len(index.requests) == 1


def test_a_refused_request_is_split_until_the_document_it_was_about_stands_alone() -> None:
    def rule(source: dict[str, Any], attempt: int) -> Any:
        return 201

    index = FakeIndex(rule)
    original = index.send

    async def send(lines: list[bytes]) -> list[dict[str, Any]]:
        if any(json.loads(line).get("n") == 5 for line in lines[1::2]):
            index.requests.append([json.loads(line) for line in lines[1::2]])
            raise RequestRefused(413, "Request Entity Too Large")
        return await original(lines)

    writer = BulkIndexer(send, max_actions=100, max_bytes=1_000_000, max_requests=1, linger=0.0,
                         sleep=FakeClock().async_sleep)

    async def go() -> list[Any]:
        first = asyncio.ensure_future(writer.index(doc(100)))
        await asyncio.sleep(0)
        return [await first, *await asyncio.gather(*(writer.index(doc(n)) for n in range(8)))]

    outcomes = run(go())
    assert outcomes[1 + 5] == Refused("413 Request Entity Too Large")
    assert all(outcome == Created() for n, outcome in enumerate(outcomes) if n != 6)


def test_a_bug_in_the_sender_fails_the_callers_instead_of_leaving_them_waiting() -> None:
    index = FakeIndex(lambda source, attempt: KeyError("items"))
    with pytest.raises(KeyError):
        run(indexer(index, FakeClock()).index(doc(1)))


@pytest.mark.parametrize("item, outcome", [
    ({"create": {"status": 201}}, Created()),
    ({"create": {"status": 200}}, Created()),
    ({"create": {"status": 409, "error": {"type": "version_conflict_engine_exception"}}}, Duplicate()),
    ({"create": {"status": 429}}, None),
    ({"create": {"status": 503}}, None),
    ({"create": {"status": 400, "error": {"type": "x", "reason": "y"}}}, Refused("400 x: y")),
    ({"create": {"status": 400, "error": "plain text"}}, Refused("400 : plain text")),
    ({"index": {"status": 201}}, Created()),
])
def test_item_outcome(item: dict[str, Any], outcome: Any) -> None:
    assert item_outcome(item) == outcome


def test_documents_the_index_already_holds_elsewhere_are_duplicates_and_not_sent() -> None:
    index = FakeIndex()
    asked: list[list[str]] = []

    async def already_stored(docs: list[IndexDoc]) -> set[tuple[str, str]]:
        asked.append([d.id for d in docs])
        if len(asked) == 1:
            raise IndexUnavailable("the data stream does not answer")  # asked again, like a request
        return {("botes-ids", "id1"), ("botes-ids", "id2")}

    clock = FakeClock()
    writer = BulkIndexer(index.send, max_actions=100, max_bytes=1_000_000, max_requests=1, linger=0.0,
                         already_stored=already_stored, clock=clock, sleep=clock.async_sleep, jitter=lambda: 1.0)

    async def go() -> list[Any]:
        return await asyncio.gather(*(writer.index(doc(n)) for n in range(4)))

    assert run(go()) == [Created(), Duplicate(), Duplicate(), Created()]
    assert asked == [["id0", "id1", "id2", "id3"]] * 2 and clock.slept == [0.5]
    assert [[s["n"] for s in request] for request in index.requests] == [[0, 3]]
