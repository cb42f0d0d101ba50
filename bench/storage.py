"""Storage, measured in one run against baselines from the same run, on the test index server.

    .venv/bin/python bench/storage.py [--documents 6000] [--batch 500]

1. What the ECS template costs at write time: bulk writes (the pipeline's IndexWriter, `--batch` per request)
   into an index made from the full template (every ECS 9.4.0 field mapped, botes.* typed) against the same
   documents into an index with no template (dynamic mapping, the baseline).
2. What the rollover guard costs (pipeline/index/rollover.py): a data stream's two generations are played by
   two plain indices (osmem-server has no data streams, so the one GET _data_stream per batch is not in these
   numbers), the older one holding the first half of the events.
   - the first batch after a rollover: the guard reads the older index's @timestamp range (a refresh and a
     min/max aggregation), once per older index and writer process: its time in seconds;
   - live events (newer than the older index) after that: guard + write against a plain write (the baseline);
   - a replay of the older index's events: guard (all found, nothing written) against writing them unguarded
     (which on a real data stream would store them a second time).

The documents are the bundled sample and the golden inputs, normalised, each repeated with a distinct original
line (so distinct ids) until there are `--documents` of them.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))
sys.path.insert(0, str(REPO))

from services import start_services  # noqa: E402

from pipeline.config import IndexSettings, bundled_data  # noqa: E402
from pipeline.events import Event, Rejected, document_id  # noqa: E402
from pipeline.index.rollover import RolloverGuard  # noqa: E402
from pipeline.index.template import install_templates  # noqa: E402
from pipeline.index.writer import IndexDoc, IndexWriter, open_client  # noqa: E402
from pipeline.normalize import Normalizer, find_botes_files, read_lines  # noqa: E402


def events(count: int) -> list[Event]:
    normalizer = Normalizer()
    inputs = [(f.path, f.source_type) for f in find_botes_files([bundled_data("sample")])]
    inputs += [(p / "input.jsonl", p.name) for p in sorted((REPO / "tests" / "golden").iterdir()) if p.is_dir()]
    base = []
    for path, source_type in inputs:
        for number, line in read_lines(path):
            result = normalizer.normalize_line(line, source_type, f"{path}:{number}")
            if not isinstance(result, Rejected):
                base.append(result)
    made = []
    while len(made) < count:
        for event in base[:count - len(made)]:
            copy = {**event, "event": {**event["event"], "original": f"{event['event']['original']} #{len(made)}"}}
            made.append(copy)
    return made


def shifted(event: Event, by: timedelta) -> Event:
    from datetime import datetime

    when = datetime.fromisoformat(event["@timestamp"]) + by
    return {**event, "@timestamp": when.isoformat().replace("+00:00", "Z"),
            "event": {**event["event"], "original": event["event"]["original"] + " live"}}


def rate(count: int, started: float) -> float:
    return count / (time.perf_counter() - started)


def write_all(writer: IndexWriter, index: str, batch: list[Event], size: int,
              guard: RolloverGuard | None = None) -> float:
    started = time.perf_counter()
    for i in range(0, len(batch), size):
        docs = [IndexDoc(index, document_id(e), e) for e in batch[i:i + size]]
        if guard is not None:
            docs, _ = guard.without_stored(docs)
        if docs:
            result = writer.write(docs)
            assert not result.rejected, result.rejected[:1]
    return rate(len(batch), started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=6000)
    parser.add_argument("--batch", type=int, default=500, help="documents per bulk request (index.bulk_actions)")
    args = parser.parse_args()
    services = start_services(Path(tempfile.mkdtemp(prefix="botes-bench-storage-")))
    try:
        settings = IndexSettings(url=services.env["BOTES_INDEX__URL"], server=services.env["BOTES_INDEX__SERVER"],
                                 prefix=f"bench{uuid.uuid4().hex[:8]}")
        if settings.server != "opensearch":
            raise SystemExit("this benchmark plays a data stream with plain indices: it needs the local servers "
                             "(BOTES_TEST_SERVICES=local)")
        client = open_client(settings)
        install_templates(client, settings)
        writer = IndexWriter(client)
        docs = events(args.documents)
        half = len(docs) // 2
        older, write_index = f"{settings.prefix}-gen-000001", f"{settings.prefix}-gen-000002"
        # The baseline maps every field it meets, as an index without a template does; the golden inputs hold
        # more distinct fields than the default limit of 1,000 (the template maps them all).
        client.indices.create(index=f"dyn{settings.prefix}", settings={"index.mapping.total_fields.limit": 10_000})
        dynamic_rate = write_all(writer, f"dyn{settings.prefix}", docs[:half], args.batch)
        template_rate = write_all(writer, older, docs[:half], args.batch)

        live = [shifted(e, timedelta(days=3650)) for e in docs[half:]]
        guard = RolloverGuard(client, lambda streams: {s: [older, write_index] for s in streams})
        plain_live = write_all(writer, write_index, live[:len(live) // 2], args.batch)
        started = time.perf_counter()
        first = live[len(live) // 2:len(live) // 2 + args.batch]
        guard.already_stored([IndexDoc(write_index, document_id(e), e) for e in first])
        first_range_seconds = time.perf_counter() - started
        guarded_live = write_all(writer, write_index, live[len(live) // 2:], args.batch, guard)
        guarded_replay = write_all(writer, write_index, docs[:half], args.batch, guard)
        client.indices.refresh(index=write_index)
        stored_twice = client.count(index=write_index, query={"ids": {"values": [
            document_id(e) for e in docs[:half]]}})["count"]
        unguarded_replay = write_all(writer, f"{settings.prefix}-replay", docs[:half], args.batch)
        client.indices.delete(index=f"{settings.prefix}-*,dyn{settings.prefix}-*,dyn{settings.prefix}")
    finally:
        services.stop()
    print(f"{len(docs)} documents, {args.batch} per bulk request, on {services.description.split(', ')[-1]}")
    print("1. writes, documents/s:")
    print(f"  no template, dynamic mapping (baseline)   {dynamic_rate:>8.0f}   1.00")
    print(f"  ECS template (every ECS field mapped)     {template_rate:>8.0f}   {template_rate / dynamic_rate:.2f}")
    print("2. rollover guard, documents/s:")
    print(f"  live events, plain write (baseline)       {plain_live:>8.0f}   1.00")
    print(f"  first batch after a rollover: reading the older index's range took {first_range_seconds:.2f} s")
    print(f"  live events, guard + write                {guarded_live:>8.0f}   {guarded_live / plain_live:.2f}")
    print(f"  replay after rollover, unguarded write    {unguarded_replay:>8.0f}   "
          f"{unguarded_replay / plain_live:.2f}   (stores every event again)")
    print(f"  replay after rollover, guard              {guarded_replay:>8.0f}   "
          f"{guarded_replay / plain_live:.2f}   ({stored_twice} stored again)")


if __name__ == "__main__":
    main()
