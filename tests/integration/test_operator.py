"""Operator experience (issue 18), each item shown by running the real ``wirestream`` command
(``python -m streams.cli`` in a subprocess), on a real broker where one is needed."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import orjson
import pytest

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "streams" / "data" / "samples.jsonl"


def env_with(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WIRESTREAM_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env.update(extra)
    return env


def wirestream(*args: str, env: dict[str, str] | None = None, timeout: float = 120,
               **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "streams.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env=env or env_with(), cwd=str(ROOT), **kwargs)


def one_line_error(result: subprocess.CompletedProcess, code: int = 2) -> str:
    """The command failed with ``code`` and said why in exactly one line, without a traceback."""
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr and len(lines) == 1, result.stderr
    assert lines[0].startswith("wirestream: ")
    return lines[0]


def free_port() -> int:
    from streams.kafka.broker import free_port as free

    return free()


def sample_alerts() -> list[dict]:
    """Real alerts: the bundled samples replayed through the core."""
    result = wirestream("replay", str(SAMPLES))
    assert result.returncode == 0, result.stderr
    return [orjson.loads(line) for line in result.stdout.splitlines()]


# --------------------------------------------------------------------------- 1. RocksDB binding


def test_rocksdb_store_without_the_binding_is_one_line_naming_the_setting_and_the_fix(tmp_path):
    blocker = tmp_path / "block" / "rocksdict"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text("raise ImportError('not installed (test)')\n")
    env = env_with(PYTHONPATH=os.pathsep.join([str(blocker.parent), str(ROOT)]))
    result = wirestream("worker", "--store", "rocksdb://", "--broker", "kafka://127.0.0.1:1",
                        "--data-dir", str(tmp_path / "d"), env=env)
    line = one_line_error(result)
    assert "WIRESTREAM_STORE" in line and "--store" in line and "pip install -e '.[rocksdb]'" in line


def test_readme_install_line_for_your_kafka_has_the_rocksdb_extra():
    readme = (ROOT / "README.md").read_text("utf-8")
    section = readme.split("## Run it on your Kafka", 1)[1].split("\n## ", 1)[0]
    block = section.split("```bash", 1)[1].split("```", 1)[0]
    assert "WIRESTREAM_STORE=rocksdb://" in block or "--store rocksdb://" in block
    install = next(line for line in block.splitlines() if "pip install" in line)
    assert "[rocksdb]" in install and block.index("pip install") < block.index("wirestream worker")


# --------------------------------------------------------------------------- 2. busy web port


def test_busy_web_port_is_one_line_naming_the_setting_and_exit_2(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = wirestream("worker", "--web-port", str(port), "--broker", "kafka://127.0.0.1:1",
                            "--data-dir", str(tmp_path / "d"))
    line = one_line_error(result)
    assert f"web port {port}" in line and "WIRESTREAM_WEB_PORT" in line and "--web-port" in line


# --------------------------------------------------------------------------- 4. broker URLs, typos


@pytest.mark.parametrize("url", ["http://127.0.0.1:39092", "https://kafka.example:9093"])
def test_http_broker_url_is_refused_with_did_you_mean(url, tmp_path):
    result = wirestream("worker", "--broker", url, "--data-dir", str(tmp_path))
    line = one_line_error(result)
    rest = url.split("://", 1)[1]
    assert "WIRESTREAM_BROKER" in line and f"did you mean kafka://{rest}?" in line


def test_bare_host_port_is_read_as_kafka_and_reaches_the_broker(broker_url):
    bare = broker_url.split("://", 1)[1]
    shown = wirestream("config", "--json", env=env_with(WIRESTREAM_BROKER=bare))
    assert shown.returncode == 0, shown.stderr
    assert orjson.loads(shown.stdout)["WIRESTREAM_BROKER"] == {"value": f"kafka://{bare}", "source": "env"}
    checked = wirestream("check", "--broker", bare, "--skip-web-port", "--connect-timeout", "10")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert re.search(r"^ok\s+broker: Kafka at ", checked.stdout, re.M), checked.stdout


def test_unknown_wirestream_variable_is_warned_about_with_did_you_mean():
    result = wirestream("config", env=env_with(WIRESTREAM_BROKR="kafka://x:9092", WIRESTREAM_PARTITIONS="3"))
    assert result.returncode == 0
    assert ("wirestream: warning: WIRESTREAM_BROKR is not a wirestream setting and is ignored; "
            "did you mean WIRESTREAM_BROKER?") in result.stderr
    assert re.search(r"^WIRESTREAM_PARTITIONS\s+3\s+\(env\)$", result.stdout, re.M), result.stdout


# --------------------------------------------------------------------------- config / check


def test_config_masks_secrets_and_url_credentials():
    env = env_with(WIRESTREAM_SASL_PASSWORD="hunter2", WIRESTREAM_WEBHOOK_SECRET="whsec_c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0",
                   WIRESTREAM_WEBHOOKS="https://user:pw@hooks.example/in?token=abc",
                   WIRESTREAM_SECURITY_PROTOCOL="SASL_PLAINTEXT", WIRESTREAM_SASL_USERNAME="wire",
                   WIRESTREAM_API_TOKEN="api-token-0123456789")
    for args in (["config"], ["config", "--json"]):
        result = wirestream(*args, env=env)
        assert result.returncode == 0, result.stderr
        for secret in ("hunter2", "c2VjcmV0", "user:pw", "abc", "api-token"):
            assert secret not in result.stdout + result.stderr
    shown = orjson.loads(result.stdout)
    assert shown["WIRESTREAM_SASL_PASSWORD"]["value"] == "***"
    assert shown["WIRESTREAM_API_TOKEN"]["value"] == "***"
    assert shown["WIRESTREAM_WEBHOOKS"]["value"] == ["https://***@hooks.example/in?token=***"]
    assert shown["WIRESTREAM_SASL_USERNAME"] == {"value": "wire", "source": "env"}


def test_check_passes_on_a_good_setup_and_exits_2_naming_each_problem(broker_url):
    good = wirestream("check", "--broker", broker_url, "--web-port", str(free_port()))
    assert good.returncode == 0, good.stdout + good.stderr
    assert "all checks passed" in good.stdout
    bad = wirestream("check", "--broker", f"kafka://127.0.0.1:{free_port()}", "--connect-timeout", "1",
                     env=env_with(WIRESTREAM_WEBHOOKS="ftp://hooks.example/in"))
    assert bad.returncode == 2, bad.stdout
    assert re.search(r"^fail\s+broker: cannot reach Kafka", bad.stdout, re.M), bad.stdout
    assert re.search(r"^fail\s+webhooks: WIRESTREAM_WEBHOOKS entry #1", bad.stdout, re.M), bad.stdout
    assert "2 checks failed" in bad.stdout and "Traceback" not in bad.stdout + bad.stderr


# --------------------------------------------------------------------------- 5. tail


async def _produce(settings, topic: str, values: list[bytes]) -> None:
    from aiokafka import AIOKafkaProducer

    from streams.kafka.broker import create_topics, kafka_client_kwargs

    await create_topics(settings)
    producer = AIOKafkaProducer(**kafka_client_kwargs(settings))
    await producer.start()
    try:
        for value in values:
            await producer.send_and_wait(settings.topic(topic), value, key=b"k")
    finally:
        await producer.stop()


async def test_tail_prints_alerts_as_text_or_json_and_stops_on_ctrl_c(settings):
    alerts = sample_alerts()
    assert len(alerts) >= 2
    await _produce(settings, "story-updates", [orjson.dumps(a) for a in alerts])
    where = ["--broker", settings.broker, "--topic-prefix", settings.topic_prefix]

    as_json = wirestream("tail", "--from-beginning", "--until-end", "--json", *where)
    assert as_json.returncode == 0, as_json.stderr
    assert [orjson.loads(line) for line in as_json.stdout.splitlines()] == alerts

    as_text = wirestream("tail", "alerts", "--from-beginning", "-n", "1", *where)
    assert as_text.returncode == 0, as_text.stderr
    assert as_text.stdout.count("STORY UPDATE") == 1 and alerts[0]["alert_id"] in as_text.stdout
    assert alerts[0]["new_facts"][0]["text"].split()[0] in as_text.stdout

    # follow: new alerts appear as they come; Ctrl-C ends it cleanly
    proc = subprocess.Popen([sys.executable, "-u", "-m", "streams.cli", "tail", *where], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env_with(), cwd=str(ROOT))
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    try:
        seen = ""
        deadline = time.monotonic() + 60
        while "STORY UPDATE" not in seen and time.monotonic() < deadline:
            await _produce(settings, "story-updates", [orjson.dumps(alerts[-1])])  # until tail has joined
            await asyncio.sleep(1.0)
            while not lines.empty():
                seen += lines.get()
        assert "STORY UPDATE" in seen and alerts[-1]["alert_id"] in seen
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0 and "Traceback" not in err, err


def test_tail_from_an_unreachable_broker_is_one_line_and_exit_2():
    result = wirestream("tail", "--broker", f"kafka://127.0.0.1:{free_port()}", "--connect-timeout", "1")
    assert "cannot reach Kafka" in one_line_error(result)


# --------------------------------------------------------------------------- 6 + 10. logs, /livez, process metrics


async def test_worker_logs_json_one_start_line_and_serves_livez_and_process_metrics(settings, tmp_path):
    from streams.kafka.broker import spawn_group, stop_group

    port = free_port()
    secret = "whsec_" + base64.b64encode(b"k" * 32).decode()
    env = env_with(WIRESTREAM_LOG_FORMAT="json", WIRESTREAM_WEBHOOK_SECRET=secret,
                   WIRESTREAM_WEBHOOKS="https://user:pw@hooks.example/in?token=abc")
    log_path = tmp_path / "worker.log"
    with open(log_path, "wb") as log:
        proc = spawn_group([sys.executable, "-m", "streams.cli", "worker", "--broker", settings.broker,
                            "--web-port", str(port), "--data-dir", str(tmp_path / "d"),
                            "--topic-prefix", settings.topic_prefix, "--partitions", "2",
                            "--app-id", settings.app_id], stdout=log, stderr=subprocess.STDOUT, env=env,
                           cwd=str(ROOT))
    try:
        deadline = time.monotonic() + 120
        while "recovered" not in log_path.read_text("utf-8", "replace"):
            assert proc.poll() is None, log_path.read_text("utf-8", "replace")
            assert time.monotonic() < deadline, log_path.read_text("utf-8", "replace")
            await asyncio.sleep(0.5)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/livez", timeout=5) as response:
            assert response.status == 200 and json.loads(response.read()) == {"status": "alive"}
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            metrics = response.read().decode()
    finally:
        stop_group(proc, timeout=30)

    for name in ("process_cpu_seconds_total", "process_resident_memory_bytes", "process_open_fds", "python_info"):
        assert re.search(rf"^{name}\b", metrics, re.M), name
    assert "wirestream_stories_in_total" in metrics or "wirestream_alerts_emitted_total" in metrics

    text = log_path.read_text("utf-8")
    records = [json.loads(line) for line in text.splitlines() if line.strip()]  # every line is one object
    assert all(set(r) >= {"time", "level", "logger", "message", "fields"} for r in records)
    assert all(re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", r["time"]) for r in records)
    start = next(r for r in records if r["message"].startswith("wirestream: worker "))
    fields = start["fields"]
    assert fields["broker"] == settings.broker and fields["store"] == "memory://"
    assert fields["web"] == f"http://127.0.0.1:{port}" and fields["partitions"] == 2
    assert fields["input"] == settings.topic("stories") and fields["alerts"] == settings.topic("story-updates")
    assert fields["webhooks"] == ["https://***@hooks.example/in?token=***"]
    assert "user:pw" not in text and "token=abc" not in text and secret not in text
    # Faust's start-up detail (every service "Starting...", subscription tables) only at debug
    assert not any("Starting..." in r["message"] or "Subscription" in r["message"] for r in records), text
    assert len(records) < 20, text


# --------------------------------------------------------------------------- 7. replay


def test_replay_file_alone_prints_alerts_as_json_lines_and_assignments_only_when_asked(tmp_path):
    result = wirestream("replay", str(SAMPLES))
    assert result.returncode == 0, result.stderr
    alerts = [orjson.loads(line) for line in result.stdout.splitlines()]
    assert alerts and all(a["type"] == "story_update" for a in alerts)
    summary = orjson.loads(result.stderr.strip().splitlines()[-1])["summary"]
    assert summary["alerts"] == len(alerts) and summary["stories"] == 10

    out = tmp_path / "assignments.jsonl"
    with_assignments = wirestream("replay", str(SAMPLES), "--assignments", str(out), "--alerts", str(tmp_path / "a"))
    assert with_assignments.returncode == 0 and with_assignments.stdout == ""
    assert len(out.read_text().splitlines()) == 10


def test_replay_reads_what_ingest_reads_ninjs_json_and_txt(tmp_path):
    feed = tmp_path / "feed"
    feed.mkdir()
    body = ("Storm Elin cut power to 120,000 homes in western Norway on Tuesday, the grid operator "
            "Vestnett said.\n\nFerries between Bergen and Stavanger were cancelled.")
    (feed / "a.txt").write_text("Storm Elin cuts power in Norway\n\n" + body + "\n")
    (feed / "b.json").write_text(json.dumps({
        "uri": "urn:ninjs:elin", "version": "1", "headlines": [{"value": "Storm Elin: power cuts"}],
        "bodies": [{"value": body}], "versioncreated": "2023-05-24T10:00:00Z"}))
    (feed / "notes.md").write_text("not a story")
    assignments = tmp_path / "assign.jsonl"
    result = wirestream("replay", str(feed), "--assignments", str(assignments))
    assert result.returncode == 0, result.stderr
    rows = [orjson.loads(line) for line in assignments.read_text().splitlines()]
    assert [r["uri"] for r in rows] == ["urn:txt:a.txt", "urn:ninjs:elin"]
    assert rows[0]["event_id"] == rows[1]["event_id"]  # the same story twice: one event
    assert orjson.loads(result.stderr.strip().splitlines()[-1])["summary"]["skipped_files"] == 1


def test_replay_with_no_story_exits_1(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text("not json\n{\"uri\": \"no body\"}\n")
    result = wirestream("replay", str(bad))
    assert result.returncode == 1
    assert f"{bad}:1: skipped (not_json)" in result.stderr and f"{bad}:2: skipped (schema)" in result.stderr
    assert result.stderr.strip().splitlines()[-1] == "wirestream: no line was a story"


@pytest.mark.parametrize("command", ["replay", "ingest"])
def test_a_missing_file_is_one_line_and_exit_2_for_replay_and_ingest(command, tmp_path):
    missing = tmp_path / "nope.jsonl"
    args = [command, str(missing)] + (["--broker", f"kafka://127.0.0.1:{free_port()}"] if command == "ingest" else [])
    line = one_line_error(wirestream(*args))
    assert str(missing) in line and "no such file" in line


# --------------------------------------------------------------------------- 8. demo


def test_demo_json_keeps_stdout_pure_json_and_prints_its_api_address():
    result = wirestream("demo", "--delay", "0", "--exit-when-done", "--json", timeout=200)
    assert result.returncode == 0, result.stderr
    alerts = [orjson.loads(line) for line in result.stdout.splitlines()]  # nothing else on stdout
    assert len(alerts) == 4 and all(a["type"] == "story_update" for a in alerts)
    assert re.search(r"HTTP API of the worker: http://127\.0\.0\.1:\d+/events", result.stderr), result.stderr
    assert "10 stories fed · 4 story-update alerts · 0 dead letters" in result.stderr
    assert "(no headline)" not in result.stderr and "unknown source" not in result.stderr


def test_readme_example_alert_is_what_the_demo_shows():
    from streams.cli.format import format_alert

    readme = (ROOT / "README.md").read_text("utf-8")
    example = readme.split("<!-- demo-alert -->", 1)[1].split("```text", 1)[1].split("```", 1)[0]
    shown = "\n".join(format_alert(a) for a in sample_alerts())
    lines = [line for line in example.splitlines() if line.strip() and line.strip() != "│ …"]
    assert len(lines) >= 5
    for line in lines:
        assert line in shown, line


# --------------------------------------------------------------------------- 9. webhook receiver


def test_webhook_receiver_summary_prints_the_alert_of_a_real_delivery():
    from streams.core.webhooks import body_bytes, decode_secret, signed_headers

    alert = sample_alerts()[1]
    secret = "whsec_" + base64.b64encode(b"r" * 32).decode()
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-u", str(ROOT / "deploy" / "webhook_receiver.py"), "--host", "127.0.0.1",
                             "--port", str(port), "--secret", secret, "--summary"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2).close()
                break
            except OSError:
                assert time.monotonic() < deadline
                time.sleep(0.2)
        body = body_bytes(alert)
        headers = signed_headers([decode_secret(secret, "test")], alert["alert_id"], int(time.time()), body)
        request = urllib.request.Request(f"http://127.0.0.1:{port}/hook", data=body, method="POST",
                                         headers={**headers, "content-type": "application/cloudevents+json"})
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.status == 204
        first = proc.stdout.readline()
        facts = [proc.stdout.readline() for _ in alert["new_facts"]]
    finally:
        proc.terminate()
        proc.wait(10)
    story = alert["story"]
    assert "?" not in first.split(":")[0], first
    assert alert["alert_id"] in first and f"event={alert['event_id']}" in first
    assert f"story={story['uri']} v{story['version']}" in first and story["headline"] in first
    assert f"{len(alert['new_facts'])} new facts" in first
    assert [f.strip() for f in facts] == [f"+ {fact['text']}" for fact in alert["new_facts"]]
