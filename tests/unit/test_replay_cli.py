"""``wirestream replay`` end to end through the real CLI (click's runner, real files)."""

from __future__ import annotations

import orjson
from click.testing import CliRunner

from streams.cli.main import main
from streams.core.validate import validator

from .articles import ELECTION, FLOOD_V1, FLOOD_V3_NEWS


def write_jsonl(path, lines):
    path.write_bytes(b"".join((line if isinstance(line, bytes) else orjson.dumps(line)) + b"\n" for line in lines))


def test_replay_writes_assignments_and_alerts_and_counts_bad_lines(tmp_path):
    src = tmp_path / "in.jsonl"
    write_jsonl(src, [FLOOD_V1, b"{broken", ELECTION, b"\xff\xfe", {"uri": "no-body"}, FLOOD_V3_NEWS, b"", FLOOD_V1])
    result = CliRunner().invoke(main, ["replay", str(src), "--assignments", str(tmp_path / "a.jsonl"),
                                       "--alerts", str(tmp_path / "b.jsonl")])
    assert result.exit_code == 0, result.output
    assignments = [orjson.loads(x) for x in (tmp_path / "a.jsonl").read_bytes().splitlines()]
    assert [a["uri"] for a in assignments] == ["urn:test:flood", "urn:test:election", "urn:test:flood", "urn:test:flood"]
    assert set(assignments[0]) == {"uri", "version", "event_id", "lang"}
    assert assignments[0]["event_id"] == assignments[2]["event_id"] == assignments[3]["event_id"]
    alerts = [orjson.loads(x) for x in (tmp_path / "b.jsonl").read_bytes().splitlines()]
    assert len(alerts) == 1 and alerts[0]["story"]["version"] == 3
    validator("story-update").validate(alerts[0])
    err = result.stderr
    assert "in.jsonl:2: skipped (not_json)" in err
    assert "in.jsonl:4: skipped (not_json)" in err or "in.jsonl:4: skipped (not_utf8)" in err
    assert "in.jsonl:5: skipped (schema): body_text" in err
    summary = orjson.loads(err.strip().splitlines()[-1])["summary"]
    assert summary["rejected"] == 3 and summary["stories"] == 4 and summary["duplicates"] == 1
    assert "Traceback" not in result.output


def test_replay_reads_stdin(tmp_path):
    payload = orjson.dumps(FLOOD_V1) + b"\n"
    result = CliRunner().invoke(main, ["replay", "-", "--assignments", "-", "--alerts", str(tmp_path / "b")],
                                input=payload)
    assert result.exit_code == 0
    assert b'"uri":"urn:test:flood"' in result.stdout_bytes


def test_missing_file_is_one_line_and_exit_2(tmp_path):
    result = CliRunner().invoke(main, ["replay", str(tmp_path / "nope.jsonl"), "--assignments", "-", "--alerts", "-"])
    assert result.exit_code == 2
    assert result.stderr.strip().count("\n") == 0
    assert "nope.jsonl" in result.stderr and "Traceback" not in result.output


def test_a_folder_without_stories_is_exit_1(tmp_path):
    (tmp_path / "notes.md").write_text("not a story")
    result = CliRunner().invoke(main, ["replay", str(tmp_path)])
    assert result.exit_code == 1 and "no line was a story" in result.stderr
    summary = orjson.loads(result.stderr.strip().splitlines()[-2])["summary"]
    assert summary["stories"] == 0 and summary["skipped_files"] == 1
