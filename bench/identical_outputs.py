"""Do two revisions of the core give byte-identical outputs? (a check for speed work, not a benchmark)

Runs the core (``Pipeline.process_story``, what ``wirestream replay`` runs) over the dev streams,
the seeds, the language dev files (as stories) and the generated corpus of ``bench/core.py``
(each in a fresh pipeline, the bench corpus with ``shard_by`` lang and none), and writes one line
per story: where it came from and a digest of everything the story produced, serialized with
orjson (so dict order and float bits count) — the enriched story, the assignment, the
``wire.stories.clustered`` record, the alert, the event snapshot, the new facts, the expiries —
or of its rejection; then one line per feed with a digest of the final state (event records,
clustering profiles, idempotency and uri records, in their order).

    python bench/identical_outputs.py --out /tmp/new.tsv                  # this checkout
    python bench/identical_outputs.py --against main                      # compare with a git revision

``--against REV`` checks REV out in a temporary git worktree, runs this same script there (with
that worktree first on the path) and here, and prints the first differing line, if any; exit 1
when the outputs differ.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import orjson

HERE = Path(__file__).resolve()
DATA = HERE.parents[2] / "shared" / "data"
OPTS = orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY


def _default(obj: Any) -> Any:
    if isinstance(obj, (set, frozenset)):
        return sorted(obj, key=repr)
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    return repr(obj)


def _digest(obj: Any) -> str:
    return hashlib.blake2b(orjson.dumps(obj, default=_default, option=OPTS), digest_size=16).hexdigest()


def _feeds(limit_lang: int) -> list[tuple[str, str, list[tuple[str, Any]]]]:
    """(name, shard_by, [(where, source)]) of every feed."""
    sys.path.insert(0, str(HERE.parent))
    from corpus import generate, load_rows

    from streams.cli.sources import iter_sources

    feeds = []
    for name in ("cluster-dev-stream.jsonl", "cluster-dev.jsonl", "cluster-dev-multinews.jsonl"):
        feeds.append((name, "lang", list(iter_sources([str(DATA / name)]))))
    feeds.append(("seeds", "lang", list(iter_sources([str(DATA / "seeds.jsonl"), str(DATA / "seeds")]))))
    for name in ("langid-dev.jsonl", "langid-dev-papluca.jsonl"):
        rows = [orjson.loads(line) for line in (DATA / name).read_bytes().splitlines() if line.strip()]
        step = max(1, len(rows) // limit_lang)
        docs = [(f"{name}:{i}", orjson.dumps({
            "uri": f"urn:{name}:{i}", "headline": "", "body_text": row["text"],
            "versioncreated": f"2024-01-01T00:{(i // 60) % 60:02d}:{i % 60:02d}Z"}))
            for i, row in enumerate(rows[::step][:limit_lang])]
        feeds.append((name, "lang", docs))
    corpus = [(f"bench:{i}", orjson.dumps(s)) for i, s in
              enumerate(generate(load_rows(DATA / "cluster-dev.jsonl"), 2000, target_bytes=3000))]
    feeds.append(("bench-corpus", "lang", corpus))
    feeds.append(("bench-corpus", "none", corpus))
    return feeds


def run(out, limit_lang: int) -> None:
    from streams.cli.sources import read_story
    from streams.core.pipeline import Pipeline, Rejected

    for name, shard_by, sources in _feeds(limit_lang):
        pipeline = Pipeline(shard_by=shard_by)
        results: list = []
        stage = pipeline.event_stage
        process = stage.process

        def recording(assigned, _process=process, _results=results):
            result = _process(assigned)
            _results.append(result)
            return result

        stage.process = recording  # to see the clustered record, which Outcome does not carry
        last_time = 0.0
        for where, source in sources:
            try:
                story = read_story(source, max_bytes=pipeline.max_bytes, arrival=last_time)
                outcome = pipeline.process_story(story)
            except Rejected as exc:
                out.write(f"{shard_by}\t{where}\trejected\t{_digest(exc.rejection.to_dict())}\n")
                continue
            last_time = outcome.enriched.story.versioncreated
            result = results.pop()
            digest = _digest([
                outcome.enriched.to_dict(), outcome.assignment.to_dict(), result.clustered, outcome.alert,
                outcome.event, [f.to_dict() for f in outcome.new_facts], result.repeated,
                [e.to_dict() for e in pipeline.cluster_stage.expired]])
            out.write(f"{shard_by}\t{where}\t{digest}\n")
        final = _digest([pipeline.events, pipeline.profiles, pipeline.assignments, pipeline.uri_events])
        out.write(f"{shard_by}\t{name}\tfinal\t{final}\n")
        out.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, help="write the digests here (default: stdout)")
    parser.add_argument("--against", metavar="REV", help="compare this checkout with git revision REV")
    parser.add_argument("--lang-stories", type=int, default=3000, help="texts taken from each language dev file")
    args = parser.parse_args()
    if not args.against:
        if args.out:
            with open(args.out, "w") as out:
                run(out, args.lang_stories)
        else:
            run(sys.stdout, args.lang_stories)
        return
    repo = HERE.parents[1]
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "ref"
        subprocess.run(["git", "-C", str(repo), "worktree", "add", "--detach", str(tree), args.against],
                       check=True, capture_output=True)
        try:
            outs = {}
            for label, root in (("reference", tree), ("this checkout", repo)):
                path = Path(tmp) / f"{label.replace(' ', '_')}.tsv"
                env = {**os.environ, "PYTHONPATH": str(root)}
                subprocess.run([sys.executable, str(HERE), "--out", str(path), "--lang-stories",
                                str(args.lang_stories)], check=True, env=env, cwd=root)
                outs[label] = path.read_text().splitlines()
        finally:
            subprocess.run(["git", "-C", str(repo), "worktree", "remove", "--force", str(tree)], check=False)
    ref, new = outs["reference"], outs["this checkout"]
    for i, (a, b) in enumerate(zip(ref, new)):
        if a != b:
            print(f"DIFFERENT at line {i + 1}:\n  {args.against}: {a}\n  this checkout: {b}")
            raise SystemExit(1)
    if len(ref) != len(new):
        print(f"DIFFERENT: {len(ref)} lines for {args.against}, {len(new)} here")
        raise SystemExit(1)
    print(orjson.dumps({"identical": True, "against": args.against, "lines": len(ref),
                        "stories": sum(1 for line in ref if "\tfinal\t" not in line)}).decode())


if __name__ == "__main__":
    main()
