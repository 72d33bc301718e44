"""Where the digest goes: stdout, a file, a webhook (an HTTP POST of its JSON), e-mail over SMTP.

Settings come from `alerts.toml` in the data directory, and environment variables over it (docs/alerts.md
lists both). Which channels are used is a list (`channels`, SCM_ALERTS_CHANNELS), stdout alone by default:
a channel named there without what it needs (a webhook without a URL) fails with a line saying what to set,
rather than being left out in silence. Each channel is tried whatever happened to the ones before it; a
failure is one line naming the channel. Error lines name a webhook by its scheme and host only: the path of
a chat webhook URL is its secret.
"""

from __future__ import annotations

import os
import smtplib
import sys
import tomllib
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import TextIO
from urllib.parse import urlsplit

from pipelines.alerts.digest import DEFAULT_LIMIT, Digest
from pipelines.settings import paths

CHANNELS = ("stdout", "file", "webhook", "email")
TIMEOUT_SECONDS = 10.0

# Environment variables over the file: (section, key, type).
ENV = {
    "SCM_ALERTS_CHANNELS": ("", "channels", "list"),
    "SCM_ALERTS_LIMIT": ("", "limit", "int"),
    "SCM_ALERTS_SKIP_EMPTY": ("", "skip_empty", "bool"),
    "SCM_ALERTS_FORMAT": ("stdout", "format", "str"),
    "SCM_ALERTS_FILE": ("file", "path", "str"),
    "SCM_ALERTS_WEBHOOK_URL": ("webhook", "url", "str"),
    "SCM_ALERTS_SMTP_HOST": ("email", "host", "str"),
    "SCM_ALERTS_SMTP_PORT": ("email", "port", "int"),
    "SCM_ALERTS_SMTP_USER": ("email", "username", "str"),
    "SCM_ALERTS_SMTP_PASSWORD": ("email", "password", "str"),
    "SCM_ALERTS_SMTP_STARTTLS": ("email", "starttls", "bool"),
    "SCM_ALERTS_SMTP_SSL": ("email", "ssl", "bool"),
    "SCM_ALERTS_EMAIL_FROM": ("email", "sender", "str"),
    "SCM_ALERTS_EMAIL_TO": ("email", "to", "list"),
}


class SettingsError(Exception):
    """Settings that cannot be used; the message names the file or variable."""


class ChannelError(Exception):
    """A channel that could not send; the message says why in one line."""


@dataclass(frozen=True)
class Settings:
    channels: tuple[str, ...] = ("stdout",)
    limit: int = DEFAULT_LIMIT
    skip_empty: bool = False  # send nothing when nothing needs a look
    options: dict[str, dict] = field(default_factory=dict)  # per channel: its section of the settings

    def of(self, channel: str) -> dict:
        return self.options.get(channel, {})


@dataclass(frozen=True)
class Outcome:
    channel: str
    error: str | None = None  # None: sent

    @property
    def ok(self) -> bool:
        return self.error is None

    def line(self) -> str:
        return f"alerts sent to {self.channel}" if self.ok else f"alerts channel {self.channel} failed: {self.error}"


def settings_path() -> Path:
    return paths().alerts_settings


def load_settings(path: Path | None = None, environ: dict[str, str] | None = None) -> Settings:
    path = settings_path() if path is None else path
    environ = os.environ if environ is None else environ
    data: dict = {}
    if path.is_file():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise SettingsError(f"{path}: {exc}") from None
    options = {c: dict(data.get(c, {})) for c in CHANNELS}
    top = {k: v for k, v in data.items() if k not in CHANNELS}
    for name, (section, key, kind) in ENV.items():
        if environ.get(name, "") != "":
            value = _from_env(name, environ[name], kind)
            (options[section] if section else top)[key] = value
    channels = top.get("channels", ["stdout"])
    if isinstance(channels, str):
        channels = [channels]
    unknown = [c for c in channels if c not in CHANNELS]
    if unknown:
        raise SettingsError(
            f"unknown alert channel {', '.join(map(str, unknown))} (channels are {', '.join(CHANNELS)})"
        )
    limit = top.get("limit", DEFAULT_LIMIT)
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 0:
        raise SettingsError(f"alerts limit must be a whole number of items, 0 or more, not {limit!r}")
    return Settings(tuple(dict.fromkeys(channels)), limit, bool(top.get("skip_empty", False)), options)


def _from_env(name: str, text: str, kind: str) -> object:
    if kind == "list":
        return [part.strip() for part in text.split(",") if part.strip()]
    if kind == "int":
        try:
            return int(text)
        except ValueError:
            raise SettingsError(f"{name} must be a whole number, not {text!r}") from None
    if kind == "bool":
        if text.lower() in ("1", "true", "yes", "on"):
            return True
        if text.lower() in ("0", "false", "no", "off"):
            return False
        raise SettingsError(f"{name} must be 1 or 0 (true or false), not {text!r}")
    return text


def send(
    digest: Digest, settings: Settings, channels: tuple[str, ...] | None = None, stdout: TextIO | None = None
) -> list[Outcome]:
    """Send `digest` to each channel (the settings' unless `channels` is given); one Outcome each, in order."""
    chosen = channels or settings.channels
    if settings.skip_empty and not digest.total:
        return []
    outcomes = []
    for channel in chosen:
        sender = SENDERS[channel]
        try:
            sender(digest, settings.of(channel), stdout or sys.stdout)
        except ChannelError as exc:
            outcomes.append(Outcome(channel, str(exc)))
        except Exception as exc:  # a channel's own bug or an unforeseen fault must not stop the others
            outcomes.append(Outcome(channel, f"{type(exc).__name__}: {exc}"))
        else:
            outcomes.append(Outcome(channel))
    return outcomes


def to_stdout(digest: Digest, options: dict, out: TextIO) -> None:
    fmt = options.get("format", "text")
    if fmt not in ("text", "json"):
        raise ChannelError(f"format must be text or json, not {fmt!r}")
    out.write(digest.to_json() if fmt == "json" else digest.render())
    out.flush()


def to_file(digest: Digest, options: dict, _out: TextIO) -> None:
    """Write the digest over the file (JSON when its name ends in .json or format = "json", else text), by
    renaming a whole new file over it, so that whatever reads it never sees half a digest."""
    if not options.get("path"):
        raise ChannelError(f"no path: set SCM_ALERTS_FILE or path in [file] of {settings_path()}")
    path = Path(options["path"])
    path = path if path.is_absolute() else paths().data_dir / path
    fmt = options.get("format", "json" if path.suffix == ".json" else "text")
    text = digest.to_json() if fmt == "json" else digest.render()
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        raise ChannelError(f"cannot write {path}: {exc.strerror or exc}") from None


def to_webhook(digest: Digest, options: dict, _out: TextIO) -> None:
    url = options.get("url")
    if not url:
        raise ChannelError(f"no URL: set SCM_ALERTS_WEBHOOK_URL or url in [webhook] of {settings_path()}")
    parts = urlsplit(url)
    where = f"{parts.scheme}://{parts.netloc}"
    if parts.scheme not in ("http", "https"):
        raise ChannelError(f"the URL must be http or https, not {parts.scheme or 'nothing'}")
    headers = {"Content-Type": "application/json", "User-Agent": "scm-alerts"}
    headers.update({str(k): str(v) for k, v in dict(options.get("headers", {})).items()})
    request = urllib.request.Request(url, data=digest.to_json().encode(), headers=headers, method="POST")
    timeout = float(options.get("timeout_seconds", TIMEOUT_SECONDS))
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        raise ChannelError(f"{where} answered HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        raise ChannelError(f"cannot reach {where}: {exc.reason}") from None
    except (OSError, TimeoutError) as exc:
        raise ChannelError(f"cannot reach {where}: {exc}") from None


def to_email(digest: Digest, options: dict, _out: TextIO) -> None:
    """The text digest as the body, its JSON attached."""
    missing = [k for k in ("host", "sender", "to") if not options.get(k)]
    if missing:
        names = {"host": "SCM_ALERTS_SMTP_HOST", "sender": "SCM_ALERTS_EMAIL_FROM", "to": "SCM_ALERTS_EMAIL_TO"}
        raise ChannelError(
            f"missing {', '.join(names[k] for k in missing)} (or {', '.join(missing)} in [email] of {settings_path()})"
        )
    to = options["to"] if isinstance(options["to"], list) else [options["to"]]
    message = EmailMessage()
    message["Subject"] = digest.subject()
    message["From"] = options["sender"]
    message["To"] = ", ".join(to)
    message.set_content(digest.render())
    message.add_attachment(digest.to_json().encode(), maintype="application", subtype="json", filename="alerts.json")
    host, ssl = options["host"], bool(options.get("ssl", False))
    port = int(options.get("port", 465 if ssl else 25))
    timeout = float(options.get("timeout_seconds", TIMEOUT_SECONDS))
    try:
        smtp_class = smtplib.SMTP_SSL if ssl else smtplib.SMTP
        with smtp_class(host, port, timeout=timeout) as smtp:
            if options.get("starttls") and not ssl:
                smtp.starttls()
            if options.get("username"):
                smtp.login(options["username"], options.get("password", ""))
            smtp.send_message(message)
    except smtplib.SMTPException as exc:
        raise ChannelError(f"{host}:{port} refused the message: {exc}") from None
    except OSError as exc:
        raise ChannelError(f"cannot reach {host}:{port}: {exc.strerror or exc}") from None


SENDERS: dict[str, Callable[[Digest, dict, TextIO], None]] = {
    "stdout": to_stdout,
    "file": to_file,
    "webhook": to_webhook,
    "email": to_email,
}
