"""Settings: every knob of the service, read from INBOX_* environment variables and `.env`.

Built once in `create_app(settings)` or by the CLI and passed down; never at import time.
"""

from __future__ import annotations

import math
import re
import string
from datetime import timedelta
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_DIR = PACKAGE_DIR.parent

_RATE = re.compile(r"^\s*(\d+)\s*/\s*(second|minute|hour|day)\s*$")
_PERIOD_SECONDS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")
_DURATION_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(value: str) -> tuple[int, int]:
    """'5/minute' -> (5, 60); '0' -> (0, 0), meaning no limit."""
    if str(value).strip() == "0":
        return (0, 0)
    found = _RATE.match(str(value))
    if not found:
        raise ValueError(f"rate {value!r} is not of the form N/second|minute|hour|day or 0")
    return int(found.group(1)), _PERIOD_SECONDS[found.group(2)]


def parse_duration(value: str) -> timedelta:
    """'7d' -> 7 days; '90m', '36h', '30s' likewise."""
    found = _DURATION.match(str(value))
    if not found:
        raise ValueError(f"duration {value!r} is not of the form N[s|m|h|d]")
    return timedelta(seconds=float(found.group(1)) * _DURATION_SECONDS[found.group(2)])


def parse_quiet_hours(value: str) -> tuple[int, int] | None:
    """'21-08' -> (21, 8): start and end hour, local time; '' or 'off' -> None (no quiet hours)."""
    text = str(value).strip().lower()
    if text in ("", "off", "none"):
        return None
    found = re.match(r"^(\d{1,2})(?::00)?\s*-\s*(\d{1,2})(?::00)?$", text)
    if not found or int(found.group(1)) > 23 or int(found.group(2)) > 23:
        raise ValueError(f"quiet hours {value!r} are not of the form HH-HH (e.g. 21-08) or off")
    start, end = int(found.group(1)), int(found.group(2))
    return None if start == end else (start, end)


def _split_list(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="INBOX_", env_file=".env", extra="ignore")

    # --- serving and storage
    database_url: str = "sqlite:///var/inbox.db"
    host: str = "127.0.0.1"
    port: int = 8000
    access_log: bool = True  # one JSON line a request, without the query string
    max_connections: int = 4096  # open client connections per web process; past it a 503
    # a request not answered by then (a stalled database) gets a 503 with Retry-After
    answer_within_seconds: float = 4.5
    public_url: str = "http://127.0.0.1:8000"
    secret_key: str = ""  # 32+ random bytes; `make run` writes one to var/secret-key
    dev_mode: bool = False  # a laptop: a weak secret key is accepted (never in production)
    allowed_hosts: Annotated[list[str], NoDecode] = []  # besides the public URL's host
    # reverse proxies whose X-Forwarded-For / -Proto is believed (addresses or networks);
    # none by default: the connecting address is the client
    trusted_proxies: Annotated[list[str], NoDecode] = []
    metrics_token: str = ""  # /metrics wants `Authorization: Bearer <token>`; unset: closed
    migrate_on_start: bool = True
    log_level: str = "INFO"
    db_pool_size: int = 10
    # `inbox serve`: the thank-you page's urgency check in a helper process (intake.first_look)
    first_look_helper: bool = True

    # --- intake
    allowed_origins: Annotated[list[str], NoDecode] = ["http://127.0.0.1:8000"]
    max_name_length: int = 100
    max_subject_length: int = 200
    max_message_length: int = 5000
    max_body_bytes: int = 65536
    check_email_deliverability: bool = False
    min_fill_seconds: float = 3.0
    rate_limit_ip: str = "5/minute"
    rate_limit_address: str = "10/hour"
    # submissions through one trusted proxy (all its clients together), or from one IPv6 /48
    # (all its /64s together)
    rate_limit_proxy: str = "300/minute"
    duplicate_window_minutes: int = 10
    store_client_ip: str = "hash"  # "hash" (keyed HMAC) or "plain"

    # --- knowledge and drafting
    site_base_url: str = "https://www.kidney-hospital.example"
    articles_dir: Path | None = None
    email_templates_dir: Path | None = None
    hospital_name: str = "Kidney Disease Hospital"
    hospital_contact: str = "patient-service@kidney-hospital.example"
    signature: str = "The Patient Service Team"
    emergency_number: str = "999"  # named in the emergency line of every page and mail to patients

    # --- live pages (server-sent events): how often a stream looks for changes, how many
    # streams one process keeps open, and how long one lasts before the browser reconnects
    live_poll_seconds: float = 2.0
    live_max_streams: int = 200
    live_stream_seconds: float = 300.0
    presence_seconds: float = 45.0  # "Anna is viewing" until her page is silent this long

    # --- delivery
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_starttls: bool | None = None  # None: whenever the relay offers it; false: never
    smtp_tls: bool = False  # implicit TLS (port 465)
    smtp_require_tls: bool = False  # send nothing over a connection that stays in the clear
    smtp_ca_file: str = ""  # CA bundle for a relay's certificate (default: the system's)
    smtp_timeout: float = 30.0  # connect and each SMTP command
    smtp_send_timeout: float = 60.0  # one whole mail up to its end of data, connecting included
    smtp_data_timeout: float = 600.0  # the reply to the end of data (RFC 5321 4.5.3.2.6)
    mail_from: str = "Kidney Disease Hospital <patient-service@kidney-hospital.example>"
    mail_reply_to: str = ""
    mail_domain: str = "kidney-hospital.example"
    run_worker: bool = True
    mail_catcher: bool = True
    mail_catcher_port: int = 0  # 0: a free port
    worker_concurrency: int = 4
    worker_batch_size: int = 50
    worker_batch_seconds: float = 0.1  # a periodic job's work per turn before the worker rests
    worker_poll_seconds: float = 1.0
    worker_lease_seconds: int = 120
    mails_per_connection: int = 100
    retry_budget: str = "24h"
    retry_base_seconds: float = 30.0
    retry_max_seconds: float = 3600.0

    # --- inbound mail (replies, automatic replies, bounces) and DKIM
    inbound: str = "off"  # lmtp | smtp | imap | off; the pipe (`inbox inbound deliver`) always
    inbound_host: str = "127.0.0.1"
    inbound_port: int = 8024
    inbound_domain: str = ""  # the domain of reply+… and bounces+… addresses; "" = mail_domain
    inbound_max_bytes: int = 10 * 1024 * 1024
    inbound_raw_retention_days: int = 30
    inbound_rate_limit: str = "30/hour"  # mails per sender that may reopen and alert
    imap_host: str = ""
    imap_port: int = 993
    imap_tls: bool = True
    imap_username: str = ""
    imap_password: str = ""
    imap_folder: str = "INBOX"
    imap_poll_seconds: float = 60.0
    dkim_selector: str = ""
    dkim_domain: str = ""
    dkim_key_file: Path | None = None

    # --- follow-ups, acknowledgements, alerts
    acknowledge: bool = True
    # acknowledgements and follow-ups, all addresses together, per clock hour; past it they are
    # held for staff (the outbox's failures page); 0: no cap. Staff alerts are never held.
    automatic_mails_per_hour: int = 200
    followup_delays: Annotated[list[str], NoDecode] = ["7d"]
    quiet_hours: str = "21-08"
    timezone: str = "Europe/London"
    staff_alert_to: str = ""
    phone_region: str = "GB"  # how a phone number given without +country is read
    # an urgent (or check-now) conversation nobody opened this long after it came in: staff
    # are alerted again; as long again after that, it goes to the escalation address (0: off)
    urgent_escalate_minutes: int = 15
    escalation_email: str = ""
    digest_after_hours: int = 24
    acknowledge_reply_within: str = "two working days"  # the promise in the acknowledgement

    # --- retention
    spam_retention_days: int = 30
    closed_retention_days: int = 365
    sent_body_retention_days: int = 365

    # --- staff sessions and sign-in
    session_idle_minutes: int = 60
    session_absolute_hours: float = 12  # a session ends this long after sign-in, however busy
    login_attempts_per_15min: int = 5  # per account and client; an IP gets four times as many
    require_2fa: bool = False  # admins always need an authenticator app; with true, everyone
    demo_seed: bool = False

    @field_validator(
        "allowed_origins", "followup_delays", "allowed_hosts", "trusted_proxies", mode="before"
    )
    @classmethod
    def _lists(cls, value: object) -> object:
        return _split_list(value)

    @field_validator(
        "rate_limit_ip", "rate_limit_address", "rate_limit_proxy", "inbound_rate_limit"
    )
    @classmethod
    def _rates(cls, value: str) -> str:
        parse_rate(value)
        return value

    @field_validator("followup_delays")
    @classmethod
    def _delays(cls, value: list[str]) -> list[str]:
        for item in value:
            parse_duration(item)
        return value

    @field_validator("inbound")
    @classmethod
    def _inbound(cls, value: str) -> str:
        value = value.strip().lower()
        if value not in ("lmtp", "smtp", "imap", "off"):
            raise ValueError(f"INBOX_INBOUND {value!r} is not one of lmtp, smtp, imap, off")
        return value

    @field_validator("quiet_hours")
    @classmethod
    def _quiet_hours(cls, value: str) -> str:
        parse_quiet_hours(value)
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo

        try:
            ZoneInfo(value)
        except (KeyError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (e.g. Europe/London)") from exc
        return value

    @property
    def takes_replies(self) -> bool:
        """Whether replies and bounces reach the service (an inbound listener or IMAP, or the
        embedded catcher): only then do outgoing mails carry signed reply and VERP addresses."""
        return self.inbound != "off" or (not self.smtp_host and self.mail_catcher)

    @property
    def secure_cookies(self) -> bool:
        return self.public_url.startswith("https://")

    def api_origins(self) -> frozenset[str]:
        """Origins whose pages may post to the JSON API: the service's own and
        INBOX_ALLOWED_ORIGINS (lower case, no trailing slash)."""
        parts = urlsplit(self.public_url)
        own = f"{parts.scheme}://{parts.netloc}"
        return frozenset(item.rstrip("/").lower() for item in [own, *self.allowed_origins])

    def trusted_hosts(self) -> list[str]:
        """Host names the service answers to: the public URL's, the extra ones, and on a
        loopback public URL both names of the loopback."""
        host = (urlsplit(self.public_url).hostname or "").lower()
        hosts = [host, *(name.lower() for name in self.allowed_hosts)]
        if host in ("127.0.0.1", "localhost", "::1"):
            hosts += ["127.0.0.1", "localhost"]
        return sorted(set(filter(None, hosts)))

    def require_strong_secret(self) -> None:
        """Raise WeakSecret unless the secret key holds 32 random bytes or more (a weak one is
        accepted in development mode only: with it anyone could forge sessions and links)."""
        problem = secret_key_problem(self.secret_key)
        if problem and not (self.dev_mode and self.secret_key):
            raise WeakSecret(problem)

    def templates_dir(self) -> Path:
        return self.email_templates_dir or REPO_DIR / "email_templates"

    def knowledge_dir(self) -> Path:
        return self.articles_dir or PACKAGE_DIR / "knowledge" / "articles"


class WeakSecret(ValueError):
    """INBOX_SECRET_KEY is missing or too weak to sign sessions, form tokens and links."""


_BASE64ISH = frozenset(string.ascii_letters + string.digits + "-_+/=")


def secret_key_problem(key: str) -> str | None:
    """Why `key` cannot sign anything that matters, or None when it has 256 bits or more.

    Its strength is estimated from its length and the alphabet it is drawn from (hex,
    base64, or any printable character), and a key of few distinct characters is refused."""
    hint = 'make one with: python -c "import secrets; print(secrets.token_urlsafe(32))"'
    if not key:
        return f"INBOX_SECRET_KEY is not set; {hint}"
    if all(char in string.hexdigits for char in key):
        alphabet = 16
    elif all(char in _BASE64ISH for char in key):
        alphabet = 64
    else:
        alphabet = 94
    if len(key) * math.log2(alphabet) < 256 or len(set(key)) < 12:
        return f"INBOX_SECRET_KEY is weaker than 32 random bytes; {hint}"
    return None
