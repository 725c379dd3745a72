"""Story-update accuracy on version cases built from the real dev articles (issue 5 targets:
≥ 95% recall of added facts, ≥ 95% precision of reported facts, ≤ 1% false alerts).

Skipped when ../shared/data is absent. A subset keeps it fast; the full figures come from
`wirestream eval novelty ../shared/data/cluster-dev.jsonl`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from streams.eval.novelty import build_cases, evaluate_novelty

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
MARGIN = 0.01


@pytest.mark.devdata
@pytest.mark.skipif(not (DATA / "cluster-dev.jsonl").exists(), reason="needs ../shared/data")
def test_novelty_targets_hold_on_dev_cases():
    with open(DATA / "cluster-dev.jsonl", encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    result = evaluate_novelty(build_cases(rows, 0, limit=600))
    for split in ("tune", "holdout"):
        figures = result[split]
        assert figures["update_cases"] > 300 and figures["rewrite_cases"] > 600
        assert figures["recall"] >= 0.95 - MARGIN, figures
        assert figures["precision"] >= 0.95 - MARGIN, figures
        assert figures["false_alert_rate"] <= 0.01 + MARGIN / 2, figures
