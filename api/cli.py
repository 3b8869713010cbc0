"""The `sedno` command."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from pathlib import Path
from typing import cast

import click

from tickets.core.settings import load_settings


def _setup_logging(verbose: bool = False) -> None:
    from api.logs import configure_logging

    configure_logging(logging.DEBUG if verbose else logging.INFO)


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Debug logging.")
def main(verbose: bool) -> None:
    """Sedno: a support desk built around knowledge."""
    _setup_logging(verbose)


@main.group()
def config() -> None:
    """The effective settings."""


@config.command(name="show")
def config_show() -> None:
    """Print every setting (environment and `.env` alike) as JSON, secrets as `***`."""
    import json

    from api.bootstrap import load_configuration, redacted

    try:
        configuration = load_configuration()
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(json.dumps(redacted(configuration), indent=2, ensure_ascii=False, default=str))


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers/--no-workers", default=None, help="Run background workers in-process.")
@click.option(
    "--demo-devops",
    is_flag=True,
    help="When no Azure DevOps is configured, start the local stand-in and hand off to it.",
)
def serve(host: str, port: int, workers: bool | None, demo_devops: bool) -> None:
    """API + UI (+ in-process workers on the embedded default)."""
    import msgspec
    import uvicorn

    from api.app import create_app
    from api.routes.protocol import warm_up_printing
    from api.serving import default_public_url, free_port, start_child, stop_child
    from tickets.core.settings import DevOpsSettings

    settings = load_settings()
    if not settings.public_url_explicit:
        settings = msgspec.structs.replace(settings, public_url=default_public_url(host, port))
    standin = None
    if demo_devops and settings.devops is None:
        standin_port, secret = free_port(8765), "demo-webhook-secret"
        standin = start_child(
            [
                sys.executable,
                "-m",
                "api.cli",
                "devops",
                "standin",
                "--port",
                str(standin_port),
                "--hook-url",
                f"http://127.0.0.1:{port}/api/devops/webhook",
                "--hook-secret",
                secret,
            ]
        )
        devops = DevOpsSettings(
            url=f"http://127.0.0.1:{standin_port}/standin",
            project="Sedno",
            pat="standin-pat",
            webhook_secret=secret,
        )
        settings = msgspec.structs.replace(settings, devops=devops)
        click.echo(f"Azure DevOps stand-in on http://127.0.0.1:{standin_port}/_standin/workitems")
    click.echo(f"Sedno on {settings.public_url}/ (links in mail and work items point here)")
    try:
        app = create_app(settings, run_workers=workers)
        warm_up_printing()
        # uvicorn logs through our handler (one format) and leaves request lines to
        # `sedno.access`, which has the request id: one line a request.
        uvicorn.run(
            app, host=host, port=port, log_config=None, access_log=False, proxy_headers=False
        )
    finally:
        if standin is not None:
            stop_child(standin)


@main.command()
@click.argument("kind", type=click.Choice(["intake", "outbox", "all"]))
def worker(kind: str) -> None:
    """Workers alone, for the scaled-out layout."""
    from sqlalchemy.exc import InterfaceError, OperationalError

    from api.bootstrap import build_container, make_outbox_worker

    settings = load_settings()
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    # A worker started while the database is away waits for it instead of exiting.
    delay = 1.0
    while True:
        try:
            container = build_container(settings, prepare="none")
            break
        except (OperationalError, InterfaceError) as exc:
            logging.getLogger("sedno.worker").warning(
                "database not reachable (%s); retrying in %.0fs", type(exc).__name__, delay
            )
            if stop.wait(delay):
                return
            delay = min(delay * 2, 30.0)
    threads: list[threading.Thread] = []
    if kind in ("outbox", "all"):
        from api.bootstrap import scheduled_jobs
        from api.scheduler import run_scheduler

        jobs = scheduled_jobs()
        threads.append(threading.Thread(target=run_scheduler, args=(container, stop, jobs)))
        outbox = make_outbox_worker(container)
        # How long a claimed job stays with a worker that died before another may redo it.
        outbox.lease_s = settings.outbox_lease_s
        threads.append(
            threading.Thread(target=outbox.run_forever, args=(stop, settings.outbox_poll_s))
        )
    if kind in ("intake", "all"):
        if settings.imap is None:
            raise click.ClickException("no mailbox configured (SEDNO_IMAP_HOST)")
        from intake.worker import run_intake_worker

        threads.append(
            threading.Thread(
                target=run_intake_worker, args=(settings, container.db, stop, container.intake)
            )
        )
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        for t in threads:
            t.join(timeout=0.5)


@main.command()
def migrate() -> None:
    """Apply database migrations (Alembic)."""
    from api.bootstrap import build_container

    # The one command whose Alembic lines (its plugins, each upgrade) are worth reading.
    alembic_log = logging.getLogger("alembic")
    alembic_log.setLevel(min(alembic_log.getEffectiveLevel(), logging.INFO))
    settings = load_settings()
    build_container(settings, prepare="migrate")
    click.echo(f"database at head: {settings.database.url.split('@')[-1]}")


@main.command(name="backup")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def backup_cmd(directory: Path) -> None:
    """Back up the embedded database and files (the server may keep running)."""
    from api.backup import BackupError, backup

    try:
        manifest = backup(load_settings(), directory)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"backup written to {directory}: {manifest['blobs']} files")


@main.command(name="restore")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
def restore_cmd(directory: Path) -> None:
    """Restore a backup into the data dir (stop the server first) and rebuild the index."""
    from api.backup import BackupError, restore
    from api.bootstrap import build_container
    from search.sync import reindex_all

    settings = load_settings()
    try:
        restore(settings, directory)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    container = build_container(settings)
    count = reindex_all(container, progress=True)
    click.echo(f"restored from {directory}; search index rebuilt with {count} tickets")


@main.group(name="import")
def import_group() -> None:
    """Import historical data."""


@import_group.command(name="tickets")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_tickets_cmd(file: Path) -> None:
    """Import tickets from JSON lines; idempotent on external_id."""
    from api.bootstrap import build_container
    from tickets.core.importer import import_file

    container = build_container(load_settings())
    summary = import_file(container.db, file, progress=True)
    click.echo(summary.describe())
    if summary.failed:
        for line_no, error in summary.errors[:50]:
            click.echo(f"line {line_no}: {error}", err=True)


@main.command()
def reindex() -> None:
    """Rebuild the search index from the database."""
    from api.bootstrap import build_container
    from search.sync import reindex_all

    container = build_container(load_settings())
    count = reindex_all(container, progress=True)
    click.echo(f"indexed {count} completed tickets")


@main.group()
def user() -> None:
    """Users and tokens."""


@user.command(name="add")
@click.argument("login")
@click.option("--name", default=None)
@click.option("--role", type=click.Choice(["consultant", "curator", "admin"]), default="consultant")
@click.option("--email", default=None)
@click.option("--password", default=None, help="Also allow UI login with a password.")
def user_add(
    login: str, name: str | None, role: str, email: str | None, password: str | None
) -> None:
    """Add a user and print their API token (shown once)."""
    from api.bootstrap import build_container
    from tickets.accounts.auth import create_user

    container = build_container(load_settings())
    with container.db.transaction() as s:
        _, token = create_user(
            s, login=login, name=name or login, role=role, email=email, password=password
        )
    click.echo(token)


@main.command()
def demo() -> None:
    """Load the demo data (partners, clients, a few hundred resolved tickets)."""
    from api.bootstrap import build_container
    from tools.demo import load_demo

    container = build_container(load_settings())
    click.echo(load_demo(container))
    from tools.telephony_demo import load_telephony_demo

    click.echo(load_telephony_demo(container.db))


@main.group()
def search() -> None:
    """Knowledge search tools."""


@search.command(name="eval")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--embeddings/--no-embeddings",
    default=True,
    show_default=True,
    help="re-rank by title and text embeddings when the optional model is installed",
)
def search_eval(directory: Path, embeddings: bool) -> None:
    """Similar-tickets quality on a BEIR-style folder; last line `ndcg@10 recall@10 mrr`."""
    from search.evaluation import run_eval

    run_eval(directory, embeddings=embeddings)


@search.command(name="bench")
@click.option("--docs", default=100_000, show_default=True, type=int)
@click.option("--queries", default=1000, show_default=True, type=int)
@click.option(
    "--relevance-docs", default=20_000, show_default=True, type=int, help="0 skips relevance"
)
def search_bench(docs: int, queries: int, relevance_docs: int) -> None:
    """Indexing speed, latency in-process and over HTTP beside SQLite FTS5, relevance top-10."""
    from tools.search_benchcli import run_bench_main

    run_bench_main(docs, queries, relevance_docs)


@main.group()
def intake() -> None:
    """Intake tools."""


_FOLDER = click.Path(exists=True, file_okay=False, path_type=Path)


@intake.command(name="spam-eval")
@click.option("--train-ham", type=_FOLDER)
@click.option("--train-spam", type=_FOLDER)
@click.option("--test-ham", type=_FOLDER)
@click.option("--test-spam", type=_FOLDER)
@click.option(
    "--splits",
    type=_FOLDER,
    help="Corpora folder (spamassassin-dev/, enron-ham/): cross-source and time splits.",
)
@click.option("--spamd", default=None, help="HOST:PORT of spamd: its rule hits become features.")
@click.option(
    "--rules",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="spamd's verdicts kept by `sedno intake spam-rules` (with --splits).",
)
@click.option(
    "--feedback",
    is_flag=True,
    help="Learn each test mail's label after scoring it, as the queue's decisions teach it.",
)
def spam_eval(
    train_ham: Path | None,
    train_spam: Path | None,
    test_ham: Path | None,
    test_spam: Path | None,
    splits: Path | None,
    spamd: str | None,
    rules: Path | None,
    feedback: bool,
) -> None:
    """Train the classifier and score the test folders; last line `precision recall f1 fpr`
    (with --splits: the worst case over the splits)."""
    from intake.spam_eval import print_splits, run_splits
    from intake.spam_eval import spam_eval_main as spam_main
    from intake.spamd import SpamdClient

    client = None
    if spamd:
        host, _, port = spamd.rpartition(":")
        client = SpamdClient(host or "127.0.0.1", int(port), timeout_s=30.0)
    if splits is not None:
        from intake.spam_rule_cache import load_rule_cache

        verdicts = load_rule_cache(rules) if rules is not None else None
        print_splits(run_splits(splits, client, verdicts=verdicts, feedback=feedback))
        return
    if None in (train_ham, train_spam, test_ham, test_spam):
        raise click.UsageError("give --splits DIR, or all of --train-ham/--train-spam/--test-*")
    assert train_ham and train_spam and test_ham and test_spam
    spam_main(train_ham, train_spam, test_ham, test_spam, spamd=client, feedback=feedback)


@intake.command(name="spam-rules")
@click.option("--corpora", required=True, type=_FOLDER, help="e.g. ../shared/data")
@click.option("--spamd", required=True, help="HOST:PORT of a running spamd.")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
def spam_rules(corpora: Path, spamd: str, out: Path) -> None:
    """Ask spamd once about every corpus mail and keep its verdicts in OUT (resumable), for
    `spam-eval --splits … --rules OUT`."""
    from intake.spam_eval import corpus_files
    from intake.spam_rule_cache import build_rule_cache
    from intake.spamd import SpamdClient

    host, _, port = spamd.rpartition(":")
    build_rule_cache(corpus_files(corpora), SpamdClient(host or "127.0.0.1", int(port), 60.0), out)


@intake.command(name="build-prior")
@click.option("--corpora", required=True, type=_FOLDER, help="e.g. ../shared/data")
def build_prior(corpora: Path) -> None:
    """Rebuild the shipped spam prior (intake/data/spam_prior.npz) from the public corpora."""
    from intake.prior import build_prior as build

    build(corpora)


@main.group()
def curation() -> None:
    """Knowledge-base curation."""


@curation.command(name="report")
@click.option("--week", default=None, help="ISO week, e.g. 2026-W47; default: the last full week.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "csv", "html"]), default="text")
def curation_report(week: str | None, fmt: str) -> None:
    """The weekly knowledge-base curation report (text, json, csv or html)."""
    import msgspec

    from api.bootstrap import build_container
    from tickets.curation.chart import report_csv, report_html, report_text
    from tickets.curation.service import build_report
    from tickets.curation.weeks import last_full_week

    container = build_container(load_settings())
    try:
        week = week or last_full_week()
        with container.db.read() as s:
            report = build_report(s, week)
    finally:
        container.close()
    link = f"{container.settings.public_url}/curation/week?week={week}"
    if fmt == "json":
        out = msgspec.json.format(msgspec.json.encode(report)).decode()
    elif fmt == "csv":
        out = report_csv(report)
    elif fmt == "html":
        out = report_html(report)
    else:
        out = report_text(report, link)
    print(out)


@search.command(name="check")
def search_check() -> None:
    """Read-only: version, key, index settings and document count of the Meilisearch server."""
    from sqlalchemy import func, select

    from search.meili import MeiliSearchEngine
    from search.meili_check import check_meili
    from tickets.core.db import Database
    from tickets.core.orm import TicketRow

    settings = load_settings()
    if not settings.search.url:
        click.echo("search: the embedded engine (SEDNO_SEARCH_URL is empty); nothing to check")
        return
    db = Database(settings.database.url)
    try:
        with db.read() as s:
            completed = int(
                s.scalar(select(func.count()).where(TicketRow.state == "completed")) or 0
            )
    finally:
        db.dispose()
    engine = MeiliSearchEngine(settings.search.url, settings.search.key)
    try:
        lines = check_meili(engine, completed)
    finally:
        engine.close()
    width = max(len(what) for _, what, _ in lines)
    for level, what, detail in lines:
        click.echo(f"{level.upper():4} {what:<{width}}  {detail}")
    failed = sum(level == "fail" for level, _, _ in lines)
    click.echo(f"{failed} problem(s) would break search" if failed else "ready for search")
    sys.exit(1 if failed else 0)


@main.group()
def devops() -> None:
    """Azure DevOps tools."""


@devops.command(name="standin")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8765, show_default=True, type=int)
@click.option("--hook-url", default="http://127.0.0.1:8000/api/devops/webhook", show_default=True)
@click.option("--hook-secret", default=None)
def devops_standin(host: str, port: int, hook_url: str, hook_secret: str | None) -> None:
    """A local stand-in for Azure DevOps (documented REST API 7.1 subset)."""
    from tools.devops_standin import run_standin

    settings = load_settings()
    secret = hook_secret or (settings.devops.webhook_secret if settings.devops else None)
    run_standin(host, port, hook_url, secret)


@main.group()
def telephony() -> None:
    """Telephony tools."""


@telephony.command(name="import-cdr")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["asterisk", "3cx"]), required=True)
@click.option(
    "--timezone",
    "tz",
    default="Europe/Warsaw",
    show_default=True,
    help="Time zone of the log's times (UTC when Asterisk has usegmtime=yes).",
)
def telephony_import_cdr(file: Path, fmt: str, tz: str) -> None:
    """Import a PBX call log (Asterisk/FreePBX Master.csv, 3CX CDR); idempotent on call id."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from api.bootstrap import build_container
    from tickets.telephony.cdr import CdrFormat
    from tickets.telephony.importer import import_cdr_file

    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise click.BadParameter(f"unknown time zone {tz!r}", param_hint="--timezone") from exc
    settings = load_settings()
    container = build_container(settings)
    summary = import_cdr_file(container.db, file, cast(CdrFormat, fmt), container.telephony, zone)
    for line_no, error in summary.errors[:50]:
        click.echo(f"line {line_no}: {error}", err=True)
    click.echo(summary.describe())


@devops.command(name="check")
def devops_check() -> None:
    """Read-only: credentials, process, states, areas and users of the configured project."""
    from tickets.core.db import Database
    from tickets.handoff.check import check_devops, render
    from tickets.handoff.service import make_client

    settings = load_settings()
    if settings.devops is None:
        raise click.ClickException("Azure DevOps is not configured (SEDNO_DEVOPS_URL, _PROJECT)")
    db = Database(settings.database.url)
    try:
        with make_client(settings.devops, db=db) as client:
            lines = check_devops(
                db,
                client,
                webhook_secret=settings.devops.webhook_secret,
                public_url=settings.public_url,
            )
    finally:
        db.dispose()
    click.echo(render(lines))
    failed = sum(line.level == "fail" for line in lines)
    click.echo(f"{failed} problem(s) would stop handoffs" if failed else "ready for handoffs")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
