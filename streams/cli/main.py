"""The ``wirestream`` command line."""

from __future__ import annotations

import sys
from contextlib import ExitStack
from pathlib import Path
from typing import IO

import click
import orjson

from ..config import ConfigError, Settings


def fail(message: str, code: int = 2) -> None:
    """One line on stderr, no traceback, non-zero exit."""
    click.echo(f"wirestream: {message}", err=True)
    raise SystemExit(code)


def _open_input(path: str, stack: ExitStack) -> IO[bytes]:
    if path == "-":
        return sys.stdin.buffer
    try:
        if Path(path).is_dir():
            fail(f"{path}: is a directory, expected a JSONL file")
        return stack.enter_context(open(path, "rb"))
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror or exc}")
    raise AssertionError("unreachable")


def _open_output(path: str, stack: ExitStack) -> IO[bytes]:
    if path == "-":
        return sys.stdout.buffer
    try:
        return stack.enter_context(open(path, "wb"))
    except OSError as exc:
        fail(f"cannot write {path}: {exc.strerror or exc}")
    raise AssertionError("unreachable")


def load_settings(**overrides) -> Settings:
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
@click.argument("file", metavar="FILE.jsonl")
@click.option("--assignments", "assignments_path", required=True, metavar="OUT.jsonl",
              help="Where to write one {uri, version, event_id, lang} line per story ('-' for stdout).")
@click.option("--alerts", "alerts_path", required=True, metavar="OUT.jsonl",
              help="Where to write one story-update alert per line ('-' for stdout).")
@click.option("--shard-by", type=click.Choice(["lang", "none"]), default=None,
              help="Cluster per language (default) or across languages.")
@click.option("--window-days", type=float, default=None, help="How long an idle event stays live.")
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: on a terminal).")
def replay(file: str, assignments_path: str, alerts_path: str, shard_by: str | None,
           window_days: float | None, progress: bool | None) -> None:
    """Run the core offline over FILE.jsonl ('-' = stdin), in file order."""
    from tqdm import tqdm

    from ..core.pipeline import Pipeline
    from .replay import iter_lines, replay as run_replay

    settings = load_settings(shard_by=shard_by, event_window_days=window_days)
    pipeline = Pipeline(shard_by=settings.shard_by, window_days=settings.event_window_days,
                        max_bytes=settings.max_message_bytes, uri_retention_days=settings.uri_retention_days,
                        limits=settings.work_limits)
    with ExitStack() as stack:
        source = _open_input(file, stack)
        out_assign = _open_output(assignments_path, stack)
        out_alerts = _open_output(alerts_path, stack)
        show = sys.stderr.isatty() if progress is None else progress
        lines = iter_lines(source)
        bar = stack.enter_context(tqdm(lines, unit=" stories", disable=not show, file=sys.stderr))

        def report_bad(number: int, rejection) -> None:
            bar.write(f"{file}:{number}: skipped ({rejection.reason}): {rejection.detail}", file=sys.stderr)

        summary = run_replay(
            bar,
            pipeline=pipeline,
            write_assignment=lambda row: out_assign.write(orjson.dumps(row) + b"\n"),
            write_alert=lambda alert: out_alerts.write(orjson.dumps(alert) + b"\n"),
            report_bad=report_bad,
        )
    click.echo(orjson.dumps({"summary": summary.to_dict()}).decode(), err=True)


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
@click.option("--loglevel", default="info", type=click.Choice(["debug", "info", "warning", "error"]),
              show_default=True, help="Worker log level.")
@click.option("--connect-timeout", type=float, default=30.0, show_default=True, metavar="SECONDS",
              help="How long to wait for the broker at start before giving up.")
def worker(broker, store, web_port, web_host, web_bind, data_dir, topic_prefix, partitions, app_id, loglevel,
           connect_timeout) -> None:
    """Run a stream-processing worker (Faust) until Ctrl-C / SIGTERM."""
    from ..runtime.app import run_worker
    from ..kafka.broker import BrokerError

    settings = load_settings(broker=broker, store=store, web_port=web_port, web_host=web_host, web_bind=web_bind,
                             data_dir=data_dir, topic_prefix=topic_prefix, partitions=partitions,
                             app_id=app_id)
    try:
        run_worker(settings, loglevel=loglevel, connect_timeout=connect_timeout)
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
