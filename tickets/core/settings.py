"""Typed settings of the process, and the one reader of the environment and `.env`.

Each capability owns its settings Struct and a `load_*_settings(env)` taking the mapping
`environment()` returns; the composition root (`api/bootstrap.py` `load_configuration`) calls
them all once with the same mapping, so `.env` and the environment count alike everywhere.
"""

from __future__ import annotations

import os
import zoneinfo
from collections.abc import Mapping
from pathlib import Path

import msgspec


class DatabaseSettings(msgspec.Struct, frozen=True):
    """Where tickets live."""

    url: str
    """SQLAlchemy URL; SQLite in the data dir unless `SEDNO_DATABASE_URL` says otherwise."""


class SearchSettings(msgspec.Struct, frozen=True):
    """The search engine: embedded tantivy or a Meilisearch server."""

    url: str | None = None
    """Meilisearch base URL; None means the embedded engine in the data dir."""
    key: str | None = None
    """Meilisearch API key."""
    embeddings: bool = True
    """Re-rank similar tickets by title embeddings when the optional model is installed
    (the Makefile installs it); `SEDNO_SIMILAR_EMBEDDINGS=0` keeps the ranking lexical."""


class ImapSettings(msgspec.Struct, frozen=True):
    """The shared support mailbox."""

    host: str
    port: int = 993
    user: str = ""
    password: str = ""
    ssl: bool = True
    folder: str = "INBOX"


class SmtpSettings(msgspec.Struct, frozen=True):
    """Outgoing mail; None in Settings means mail stays in the outbox."""

    host: str
    port: int = 25
    user: str = ""
    password: str = ""


class DevOpsSettings(msgspec.Struct, frozen=True):
    """Azure DevOps organisation for handoffs."""

    url: str
    project: str
    pat: str
    webhook_secret: str = ""
    ticket_tag: bool = True
    """Tag every work item `sedno[ZS/2026/17]` (`SEDNO_DEVOPS_TICKET_TAG`): each is a new tag, so
    the account needs the project permission "Create tag definition". Off: no per-ticket tag;
    a create that timed out is found again by the `[ZS/2026/17]` its title starts with."""


class Settings(msgspec.Struct, frozen=True):
    """Everything Sedno reads from its environment."""

    data_dir: Path
    database: DatabaseSettings
    search: SearchSettings
    admin_token: str | None = None
    imap: ImapSettings | None = None
    smtp: SmtpSettings | None = None
    mail_from: str = "Sedno <pomoc@sedno.localhost>"
    mail_domain: str = "sedno.localhost"
    """Domain of our own Message-IDs; a mail carrying it is one of ours (loop)."""
    secret_key: str = "sedno-dev-secret"
    """Signs our Message-IDs and UI sessions; set it in production."""
    public_url: str = "http://127.0.0.1:8000"
    """Where users reach the UI; used in links sent out (mail, DevOps)."""
    public_url_explicit: bool = False
    """`SEDNO_PUBLIC_URL` was given; when not, `sedno serve` uses its own host and port."""
    spamd_host: str | None = None
    spamd_port: int = 783
    devops: DevOpsSettings | None = None
    attachment_max_bytes: int = 20 * 1024 * 1024
    request_max_bytes: int = 25 * 1024 * 1024
    trusted_proxies: tuple[str, ...] = ()
    """Addresses or CIDR blocks of reverse proxies whose `X-Forwarded-For` is believed
    (`SEDNO_TRUSTED_PROXIES`, comma-separated); empty: the connection's peer is the client."""
    run_workers: bool = True
    """`sedno serve` also runs the background workers in-process."""
    outbox_poll_s: float = 0.5
    auto_accept_known: bool = True
    """Ham from a known client or partner becomes a ZS ticket at once."""
    spam_drop_threshold: float = 0.9
    sender_max_per_hour: int = 20
    ack_max_per_sender_per_day: int = 5
    outbox_lease_s: float = 120.0
    """How long an outbox worker holds a claimed job before another may take it
    (`SEDNO_OUTBOX_LEASE_S`)."""
    intake_lease_s: float = 30.0
    """How long the mailbox worker's lease lasts (`SEDNO_INTAKE_LEASE_S`); one worker polls."""

    timezone: str = "Europe/Warsaw"
    """The desk's time zone (`SEDNO_TIMEZONE`): the year of ticket numbers, report days."""


class SettingsError(ValueError):
    """A setting whose value cannot be used; the message starts with the variable's name."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable


def environment(dotenv: Path = Path(".env")) -> dict[str, str]:
    """`.env` (when present) overlaid by the process environment: what every loader reads."""
    return {**_read_dotenv(dotenv), **os.environ}


def env_number(env: Mapping[str, str], name: str, default: float, *, whole: bool = False) -> float:
    """`env[name]` as a non-negative number (a whole one when `whole`), else `default`."""
    value = (env.get(name) or "").strip()
    if not value:
        return default
    try:
        number = int(value) if whole else float(value)
    except ValueError:
        kind = "a whole number" if whole else "a number"
        raise SettingsError(name, f"not {kind}: {value!r}") from None
    if number < 0:
        raise SettingsError(name, f"must not be negative: {number}")
    return number


def _read_dotenv(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        values[key.strip()] = value.strip().strip('"').strip("'")
    return values


def _flag(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Build Settings from `env` (default: `.env` overlaid by the process environment)."""
    if env is None:
        env = environment()

    def whole(name: str, default: int) -> int:
        return int(env_number(env, f"SEDNO_{name}", default, whole=True))

    def get(name: str) -> str | None:
        value = env.get(f"SEDNO_{name}")
        return value if value not in (None, "") else None

    data_dir = Path(get("DATA_DIR") or "./var").resolve()
    db_url = get("DATABASE_URL") or f"sqlite:///{data_dir / 'sedno.db'}"
    imap = None
    if host := get("IMAP_HOST"):
        ssl = _flag(get("IMAP_SSL"), True)
        imap = ImapSettings(
            host=host,
            port=whole("IMAP_PORT", 993 if ssl else 143),
            user=get("IMAP_USER") or "",
            password=get("IMAP_PASSWORD") or "",
            ssl=ssl,
            folder=get("IMAP_FOLDER") or "INBOX",
        )
    smtp = None
    if host := get("SMTP_HOST"):
        smtp = SmtpSettings(
            host=host,
            port=whole("SMTP_PORT", 25),
            user=get("SMTP_USER") or "",
            password=get("SMTP_PASSWORD") or "",
        )
    devops = None
    if (url := get("DEVOPS_URL")) and (project := get("DEVOPS_PROJECT")):
        devops = DevOpsSettings(
            url=url.rstrip("/"),
            project=project,
            pat=get("DEVOPS_PAT") or "",
            webhook_secret=get("DEVOPS_WEBHOOK_SECRET") or "",
            ticket_tag=_flag(get("DEVOPS_TICKET_TAG"), True),
        )
    timezone = get("TIMEZONE") or "Europe/Warsaw"
    try:  # a zone that does not exist fails at start, not at 1 January
        zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise SettingsError("SEDNO_TIMEZONE", f"not a time zone: {timezone!r}") from None
    mail_from = get("MAIL_FROM") or "Sedno <pomoc@sedno.localhost>"
    domain = mail_from.rsplit("@", 1)[-1].strip(">").strip() or "sedno.localhost"
    return Settings(
        data_dir=data_dir,
        database=DatabaseSettings(url=db_url),
        search=SearchSettings(
            url=get("SEARCH_URL"),
            key=get("SEARCH_KEY"),
            embeddings=(get("SIMILAR_EMBEDDINGS") or "1") != "0",
        ),
        admin_token=get("ADMIN_TOKEN"),
        imap=imap,
        smtp=smtp,
        mail_from=mail_from,
        mail_domain=get("MAIL_DOMAIN") or domain,
        secret_key=get("SECRET_KEY") or "sedno-dev-secret",
        public_url=(get("PUBLIC_URL") or "http://127.0.0.1:8000").rstrip("/"),
        public_url_explicit=get("PUBLIC_URL") is not None,
        spamd_host=get("SPAMD_HOST"),
        spamd_port=whole("SPAMD_PORT", 783),
        devops=devops,
        attachment_max_bytes=whole("ATTACHMENT_MAX_BYTES", 20 * 1024 * 1024),
        trusted_proxies=tuple(
            p.strip() for p in (get("TRUSTED_PROXIES") or "").split(",") if p.strip()
        ),
        run_workers=_flag(get("RUN_WORKERS"), True),
        auto_accept_known=_flag(get("AUTO_ACCEPT_KNOWN"), True),
        outbox_lease_s=env_number(env, "SEDNO_OUTBOX_LEASE_S", 120.0),
        intake_lease_s=env_number(env, "SEDNO_INTAKE_LEASE_S", 30.0),
        timezone=timezone,
    )
