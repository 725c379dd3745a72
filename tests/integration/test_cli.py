"""``wirestream ingest | worker | demo`` as a user runs them (subprocesses, real broker)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import orjson
import pytest

from .kafkaio import seed_lines

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

ROOT = Path(__file__).resolve().parents[2]


def cli_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WIRESTREAM_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return env


def wirestream(*args: str, timeout: float = 120, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "streams.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env=cli_env(), cwd=str(ROOT), **kwargs)


async def read_input_topic(settings, expected: int, timeout: float = 20.0) -> list:
    from aiokafka import AIOKafkaConsumer

    from streams.kafka.broker import kafka_client_kwargs

    consumer = AIOKafkaConsumer(settings.topic("stories"), group_id=None, auto_offset_reset="earliest",
                                **kafka_client_kwargs(settings))
    await consumer.start()
    got: list = []
    deadline = time.monotonic() + timeout
    try:
        while len(got) < expected and time.monotonic() < deadline:
            for messages in (await consumer.getmany(timeout_ms=300)).values():
                got.extend(messages)
        for messages in (await consumer.getmany(timeout_ms=500)).values():
            got.extend(messages)
    finally:
        await consumer.stop()
    return got


async def test_ingest_reads_jsonl_ninjs_and_text_and_reports_bad_lines(settings, tmp_path):
    feed = tmp_path / "feed"
    feed.mkdir()
    seeds = seed_lines()
    (feed / "a.jsonl").write_bytes(seeds[0] + b"\n\n" + b"{oops\n" + orjson.dumps({"uri": "urn:no-body"}) + b"\n")
    (feed / "b.json").write_bytes(orjson.dumps({
        "uri": "urn:ninjs:1", "version": "2", "headlines": [{"value": "Ninjs headline"}],
        "bodies": [{"value": "A ninjs body about the harbour of Tamsvik reopening on Monday."}],
    }))
    (feed / "c.txt").write_text("Plain headline\n\nThe first paragraph of a plain text article.\n\nAnother one.\n")
    (feed / "notes.md").write_text("not a story")

    result = wirestream("ingest", str(feed), "--broker", settings.broker, "--topic-prefix", settings.topic_prefix,
                        "--partitions", str(settings.partitions), "--no-progress")
    assert result.returncode == 0, result.stderr
    assert f"{feed / 'a.jsonl'}:3: rejected (not_json)" in result.stderr
    assert f"{feed / 'a.jsonl'}:4: rejected (schema): body_text" in result.stderr
    summary = orjson.loads(result.stderr.strip().splitlines()[-1])["summary"]
    assert (summary["sent"], summary["rejected"], summary["skipped_files"]) == (3, 2, 1)
    assert "Traceback" not in result.stderr

    messages = await read_input_topic(settings, 3)
    by_key = {m.key.decode(): orjson.loads(m.value) for m in messages}
    assert set(by_key) == {"urn:seed:000", "urn:ninjs:1", "urn:txt:c.txt"}
    assert by_key["urn:txt:c.txt"]["headline"] == "Plain headline"
    assert by_key["urn:txt:c.txt"]["body_text"].startswith("The first paragraph")
    assert by_key["urn:ninjs:1"]["headlines"][0]["value"] == "Ninjs headline"


def test_ingest_with_nothing_sendable_fails(settings, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text("not json\n{\"uri\": \"x\"}\n")
    result = wirestream("ingest", str(bad), "--broker", settings.broker, "--topic-prefix", settings.topic_prefix,
                        "--partitions", str(settings.partitions), "--no-progress")
    assert result.returncode == 1
    assert f"{bad}:1: rejected (not_json)" in result.stderr
    assert "nothing was sent" in result.stderr


@pytest.mark.parametrize("command", ["worker", "ingest"])
def test_unreachable_broker_is_one_clear_line(command, tmp_path):
    from streams.kafka.broker import free_port

    url = f"kafka://127.0.0.1:{free_port()}"
    if command == "worker":
        args = ["worker", "--broker", url, "--connect-timeout", "2", "--data-dir", str(tmp_path),
                "--web-port", str(free_port())]  # the port is checked first: 6066 may be taken here
    else:
        story = tmp_path / "s.jsonl"
        story.write_bytes(seed_lines()[0] + b"\n")
        args = ["ingest", str(story), "--broker", url, "--no-progress", "--connect-timeout", "2"]
    result = wirestream(*args, timeout=60)
    assert result.returncode == 2
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert "Traceback" not in result.stderr
    assert lines[-1].startswith("wirestream: ") and "unreachable" in lines[-1], result.stderr


def _no_process_matching(pattern: str) -> bool:
    out = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True)
    return out.stdout.strip() == ""


def test_demo_shows_alerts_and_stops_cleanly_on_ctrl_c():
    proc = subprocess.Popen([sys.executable, "-u", "-m", "streams.cli", "demo", "--delay", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli_env(),
                            cwd=str(ROOT))
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 150
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "keeps running" in line:
                break
        text = "".join(lines)
        assert "keeps running" in text, text + proc.stderr.read() if proc.poll() is not None else text
        # the newsroom page is up while the demo runs, at the URL it printed
        page = re.search(r"newsroom page: (http://\S+/)", text).group(1)
        with urllib.request.urlopen(page, timeout=10) as resp:
            assert resp.status == 200 and resp.headers.get_content_type() == "text/html"
        with urllib.request.urlopen(page + "events", timeout=10) as resp:
            assert json.loads(resp.read())["count"] >= 4
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text += out
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "Traceback" not in text
    assert "STORY UPDATE" in text
    assert "urn:seed:003 v1" in text
    assert "stopped." in text
    port = re.search(r"broker 127\.0\.0\.1:(\d+)", text).group(1)
    workdir = re.search(r"log: (\S+)/worker\.log", text).group(1)
    assert _no_process_matching(f"tansu.*127.0.0.1:{port}"), "the demo left its broker running"
    assert _no_process_matching(workdir), "the demo left its worker running"
    assert not Path(workdir).exists()
