"""The ``wirestream`` command line."""

from __future__ import annotations

import os
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import IO

import click
import orjson

from ..config import LOG_FORMATS, LOG_LEVELS, ConfigError, Settings, unknown_variables


def fail(message: str, code: int = 2) -> None:
    """One line on stderr, no traceback, non-zero exit."""
    click.echo(f"wirestream: {message}", err=True)
    raise SystemExit(code)


def _open_output(path: str, stack: ExitStack) -> IO[bytes]:
    if path == "-":
        return sys.stdout.buffer
    try:
        return stack.enter_context(open(path, "wb"))
    except OSError as exc:
        fail(f"cannot write {path}: {exc.strerror or exc}")
    raise AssertionError("unreachable")


def load_settings(*, warn: bool = True, **overrides) -> Settings:
    """The settings (flags win over variables); a bad one is one line and exit 2. Variables that
    look like settings but are none (typos) are warned about, with a "did you mean"."""
    for warning in unknown_variables() if warn else ():
        click.echo(f"wirestream: warning: {warning}", err=True)
    try:
        return Settings.from_env(**overrides)
    except ConfigError as exc:
        fail(str(exc))
    raise AssertionError("unreachable")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="wirestream")
def main() -> None:
    """wirestream: language, event clustering and story-update alerts for news wire feeds."""


@main.command()
@click.argument("paths", nargs=-1, required=True, metavar="FILE|DIR|-")
@click.option("--alerts", "alerts_path", default="-", show_default=True, metavar="OUT.jsonl",
              help="Where to write one story-update alert per line ('-' = stdout).")
@click.option("--assignments", "assignments_path", default=None, metavar="OUT.jsonl",
              help="Also write one {uri, version, event_id, lang} line per story here ('-' = stdout).")
@click.option("--shard-by", type=click.Choice(["lang", "none"]), default=None,
              help="Cluster per language (default) or across languages [WIRESTREAM_SHARD_BY].")
@click.option("--window-days", type=float, default=None,
              help="How long an idle event stays live [WIRESTREAM_EVENT_WINDOW_DAYS].")
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: on a terminal).")
def replay(paths: tuple[str, ...], alerts_path: str, assignments_path: str | None, shard_by: str | None,
           window_days: float | None, progress: bool | None) -> None:
    """Run the core offline over stories, in file order; alerts go to stdout as JSON lines.

    Reads what `ingest` reads: JSONL, ninjs .json, .txt files, folders of them, '-' for stdin.
    Bad lines are reported as FILE:LINE on stderr and skipped; a JSON summary ends the run.
    Exit 1 when no line was a story, 2 for a file that cannot be read.
    """
    from tqdm import tqdm

    from ..core.pipeline import Pipeline
    from .replay import replay as run_replay
    from .sources import SourceError, check_paths, iter_sources

    settings = load_settings(shard_by=shard_by, event_window_days=window_days)
    try:
        check_paths(paths)
    except SourceError as exc:
        fail(str(exc))
    pipeline = Pipeline(shard_by=settings.shard_by, window_days=settings.event_window_days,
                        max_bytes=settings.max_message_bytes, uri_retention_days=settings.uri_retention_days,
                        limits=settings.work_limits)
    skipped_files: list[str] = []
    with ExitStack() as stack:
        out_alerts = _open_output(alerts_path, stack)
        out_assign = _open_output(assignments_path, stack) if assignments_path else None
        show = sys.stderr.isatty() if progress is None else progress
        sources = iter_sources(paths, on_skip=skipped_files.append)
        bar = stack.enter_context(tqdm(sources, unit=" stories", disable=not show, file=sys.stderr))

        def report_bad(where: str, rejection) -> None:
            bar.write(f"{where}: skipped ({rejection.reason}): {rejection.detail}", file=sys.stderr)

        def write_alert(alert: dict) -> None:
            out_alerts.write(orjson.dumps(alert) + b"\n")
            out_alerts.flush()  # a reader (jq, tail) sees each alert as it comes

        try:
            summary = run_replay(
                bar,
                pipeline=pipeline,
                write_assignment=(lambda row: out_assign.write(orjson.dumps(row) + b"\n")) if out_assign
                else (lambda row: None),
                write_alert=write_alert,
                report_bad=report_bad,
            )
        except BrokenPipeError:  # `wirestream replay f | head`: the reader has what it wanted
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise SystemExit(0) from None
    click.echo(orjson.dumps({"summary": {**summary.to_dict(), "skipped_files": len(skipped_files)}}).decode(),
               err=True)
    if summary.stories == 0:
        fail("no line was a story", code=1)


# --------------------------------------------------------------------------- streaming commands
# (worker, ingest, demo: thin wrappers; the work is in streams.runtime.app, streams.cli.ingest, streams.cli.demo)


@main.command()
@click.option("--broker", default=None, metavar="URL", help="Kafka bootstrap URL, e.g. kafka://127.0.0.1:9092 [WIRESTREAM_BROKER].")
@click.option("--store", default=None, metavar="URL", help="Table store: memory:// or rocksdb:// [WIRESTREAM_STORE].")
@click.option("--web-port", type=int, default=None, metavar="N", help="HTTP port of the worker [WIRESTREAM_WEB_PORT].")
@click.option("--web-host", default=None, metavar="HOST",
              help="Host name other workers reach this one at, for table routing [WIRESTREAM_WEB_HOST].")
@click.option("--web-bind", default=None, metavar="ADDR",
              help="Address the HTTP server listens on (default: the web host) [WIRESTREAM_WEB_BIND].")
@click.option("--data-dir", type=click.Path(path_type=Path), default=None, metavar="DIR",
              help="Local state directory [WIRESTREAM_DATA_DIR].")
@click.option("--topic-prefix", default=None, metavar="P", help="Topic name prefix, default 'wire.' [WIRESTREAM_TOPIC_PREFIX].")
@click.option("--partitions", type=int, default=None, metavar="N", help="Partitions per topic [WIRESTREAM_PARTITIONS].")
@click.option("--app-id", default=None, metavar="ID", help="Consumer group / changelog prefix [WIRESTREAM_APP_ID].")
@click.option("--log-level", "--loglevel", "log_level", default=None, type=click.Choice(LOG_LEVELS),
              help="Log level; debug adds Faust's start-up detail [WIRESTREAM_LOG_LEVEL, default info].")
@click.option("--log-format", default=None, type=click.Choice(LOG_FORMATS),
              help="text, or json: one object per line [WIRESTREAM_LOG_FORMAT, default text].")
@click.option("--connect-timeout", type=float, default=30.0, show_default=True, metavar="SECONDS",
              help="How long to wait for the broker at start before giving up.")
def worker(broker, store, web_port, web_host, web_bind, data_dir, topic_prefix, partitions, app_id, log_level,
           log_format, connect_timeout) -> None:
    """Run a stream-processing worker (Faust) until Ctrl-C / SIGTERM."""
    from ..runtime.app import run_worker
    from ..kafka.broker import BrokerError

    settings = load_settings(broker=broker, store=store, web_port=web_port, web_host=web_host, web_bind=web_bind,
                             data_dir=data_dir, topic_prefix=topic_prefix, partitions=partitions,
                             app_id=app_id, log_level=log_level, log_format=log_format)
    try:
        run_worker(settings, connect_timeout=connect_timeout)
    except (BrokerError, ConfigError) as exc:  # ConfigError: e.g. a webhook URL that is not http(s)
        fail(str(exc))
    except KeyboardInterrupt:
        raise SystemExit(130) from None


@main.command()
@click.argument("paths", nargs=-1, required=True, metavar="FILE|DIR|-")
@click.option("--broker", default=None, metavar="URL", help="Kafka bootstrap URL [WIRESTREAM_BROKER].")
@click.option("--topic-prefix", default=None, metavar="P", help="Topic name prefix [WIRESTREAM_TOPIC_PREFIX].")
@click.option("--partitions", type=int, default=None, metavar="N",
              help="Partitions when the topics must be created [WIRESTREAM_PARTITIONS].")
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: on a terminal).")
@click.option("--raw", is_flag=True, help="Send JSON lines as they are, without checking them first.")
@click.option("--connect-timeout", type=float, default=10.0, show_default=True, metavar="SECONDS",
              help="How long to wait for the broker before giving up.")
def ingest(paths, broker, topic_prefix, partitions, progress, raw, connect_timeout) -> None:
    """Send stories to wire.stories: JSONL, ninjs/JSON files, plain .txt articles, or '-' (stdin JSONL)."""
    from .ingest import run_ingest

    settings = load_settings(broker=broker, topic_prefix=topic_prefix, partitions=partitions)
    code = run_ingest(settings, list(paths), progress=progress, validate=not raw,
                      connect_timeout=connect_timeout)
    raise SystemExit(code)


@main.command()
@click.option("--data", "data_path", default=None, metavar="FILE|DIR",
              help="Stories to feed instead of the bundled samples.")
@click.option("--delay", type=float, default=0.5, show_default=True, help="Seconds between stories.")
@click.option("--exit-when-done/--keep-running", default=False,
              help="Stop after the last story was processed (default: run until Ctrl-C).")
@click.option("--json", "as_json", is_flag=True, help="Print alerts as JSON lines instead of text blocks.")
def demo(data_path, delay, exit_when_done, as_json) -> None:
    """Embedded broker + worker, feed sample stories, print story-update alerts as they arrive."""
    from .demo import run_demo

    settings = load_settings()
    raise SystemExit(run_demo(settings, data_path=data_path, delay=delay,
                              exit_when_done=exit_when_done, as_json=as_json))


@main.command()
@click.argument("what", required=False, default="alerts",
                type=click.Choice(["alerts", "events", "clustered", "dead-letter", "webhook-dead-letter"]))
@click.option("--from-beginning", is_flag=True, help="Start at the oldest message kept (default: only new ones).")
@click.option("--json", "as_json", is_flag=True, help="One JSON message per line (for jq) instead of text.")
@click.option("-n", "--count", type=click.IntRange(min=1), default=None, metavar="N", help="Stop after N messages.")
@click.option("-e", "--until-end", is_flag=True,
              help="Stop at the end of the topic (with --from-beginning: print what is there, then exit).")
@click.option("--broker", default=None, metavar="URL", help="Kafka bootstrap URL [WIRESTREAM_BROKER].")
@click.option("--topic-prefix", default=None, metavar="P", help="Topic name prefix [WIRESTREAM_TOPIC_PREFIX].")
@click.option("--connect-timeout", type=float, default=10.0, show_default=True, metavar="SECONDS",
              help="How long to wait for the broker before giving up.")
def tail(what, from_beginning, as_json, count, until_end, broker, topic_prefix, connect_timeout) -> None:
    """Follow a topic: alerts (default), events, clustered, dead-letter or webhook-dead-letter.

    Text as the demo prints it, or JSON lines with --json. Same connection settings as the
    worker (WIRESTREAM_BROKER, WIRESTREAM_SECURITY_PROTOCOL, WIRESTREAM_SASL_*, WIRESTREAM_SSL_*).
    Ctrl-C stops it (exit 0); an unreachable broker or refused credentials is exit 2.
    """
    from .tail import TailOptions, run_tail

    settings = load_settings(broker=broker, topic_prefix=topic_prefix)
    raise SystemExit(run_tail(settings, TailOptions(what=what, from_beginning=from_beginning, as_json=as_json,
                                                    count=count, until_end=until_end,
                                                    connect_timeout=connect_timeout)))


@main.command("config")
@click.option("--json", "as_json", is_flag=True, help="One JSON object: variable -> {value, source}.")
def config_cmd(as_json: bool) -> None:
    """Print the effective settings (secrets masked) and where each came from."""
    from .check import effective_settings, print_settings

    rows = effective_settings(load_settings())
    if as_json:
        click.echo(orjson.dumps({r["variable"]: {"value": r["value"], "source": r["source"]} for r in rows},
                                option=orjson.OPT_INDENT_2).decode())
    else:
        print_settings(rows, sys.stdout)


@main.command()
@click.option("--broker", default=None, metavar="URL", help="Kafka bootstrap URL [WIRESTREAM_BROKER].")
@click.option("--store", default=None, metavar="URL", help="Table store [WIRESTREAM_STORE].")
@click.option("--web-port", type=int, default=None, metavar="N", help="HTTP port [WIRESTREAM_WEB_PORT].")
@click.option("--skip-web-port", is_flag=True, help="Do not check the web port (e.g. a worker already runs here).")
@click.option("--connect-timeout", type=float, default=10.0, show_default=True, metavar="SECONDS",
              help="How long to wait for the broker.")
def check(broker, store, web_port, skip_web_port, connect_timeout) -> None:
    """Check the settings, the store binding, the web port, webhook URLs, the broker and the
    credentials, as a worker's start would; exit 0 when all pass, 2 otherwise."""
    import asyncio

    from .check import print_findings, run_checks

    settings = load_settings(warn=False, broker=broker, store=store, web_port=web_port)  # warnings: below
    found = asyncio.run(run_checks(settings, connect_timeout=connect_timeout, web_port=not skip_web_port))
    raise SystemExit(print_findings(found, sys.stdout))


_EVALS = {"langid": "streams.eval.langid", "clustering": "streams.eval.clustering",
          "novelty": "streams.eval.novelty"}


@main.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True,
                                "help_option_names": []})
@click.argument("kind", metavar="{" + "|".join(sorted(_EVALS)) + "}", required=False)
@click.pass_context
def eval(ctx: click.Context, kind: str | None) -> None:  # noqa: A001 - the command's name
    """Measure accuracy on a labelled JSONL and print JSON figures.

    KIND is langid (fields text, lang), clustering (story fields + _gold) or novelty (story
    fields; version cases are built from them). Arguments after KIND go to the evaluator:
    `wirestream eval clustering FILE --help` lists them.
    """
    import importlib

    if kind in (None, "-h", "--help"):
        click.echo(ctx.get_help())
        raise SystemExit(0 if kind else 2)
    if kind not in _EVALS:
        fail(f"eval: unknown kind {kind!r}; choose one of {', '.join(sorted(_EVALS))}")
    module = importlib.import_module(_EVALS[kind])
    raise SystemExit(module.main(list(ctx.args)))


if __name__ == "__main__":  # pragma: no cover
    main()
