"""Typed settings, read once at the composition root from the environment and `.env`."""

from __future__ import annotations

import os
from pathlib import Path

import msgspec

from tickets.protocol.settings import ProtocolSettings, load_protocol_settings
from tickets.telephony.settings import TelephonySettings, load_telephony_settings


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
    telephony: TelephonySettings = TelephonySettings()
    protocol: ProtocolSettings = ProtocolSettings()


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


def load_settings(env: dict[str, str] | None = None) -> Settings:
    """Build Settings from `env` (default: `.env` overlaid by the process environment)."""
    if env is None:
        env = {**_read_dotenv(Path(".env")), **os.environ}

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
            port=int(get("IMAP_PORT") or (993 if ssl else 143)),
            user=get("IMAP_USER") or "",
            password=get("IMAP_PASSWORD") or "",
            ssl=ssl,
            folder=get("IMAP_FOLDER") or "INBOX",
        )
    smtp = None
    if host := get("SMTP_HOST"):
        smtp = SmtpSettings(
            host=host,
            port=int(get("SMTP_PORT") or 25),
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
        )
    mail_from = get("MAIL_FROM") or "Sedno <pomoc@sedno.localhost>"
    domain = mail_from.rsplit("@", 1)[-1].strip(">").strip() or "sedno.localhost"
    return Settings(
        data_dir=data_dir,
        database=DatabaseSettings(url=db_url),
        search=SearchSettings(url=get("SEARCH_URL"), key=get("SEARCH_KEY")),
        admin_token=get("ADMIN_TOKEN"),
        imap=imap,
        smtp=smtp,
        mail_from=mail_from,
        mail_domain=get("MAIL_DOMAIN") or domain,
        secret_key=get("SECRET_KEY") or "sedno-dev-secret",
        public_url=(get("PUBLIC_URL") or "http://127.0.0.1:8000").rstrip("/"),
        spamd_host=get("SPAMD_HOST"),
        spamd_port=int(get("SPAMD_PORT") or 783),
        devops=devops,
        attachment_max_bytes=int(get("ATTACHMENT_MAX_BYTES") or 20 * 1024 * 1024),
        trusted_proxies=tuple(
            p.strip() for p in (get("TRUSTED_PROXIES") or "").split(",") if p.strip()
        ),
        run_workers=_flag(get("RUN_WORKERS"), True),
        auto_accept_known=_flag(get("AUTO_ACCEPT_KNOWN"), True),
        telephony=load_telephony_settings(env),
        protocol=load_protocol_settings(env),
    )
