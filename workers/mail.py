"""Mail delivery backends: console for development, SMTP for real, memory for tests."""

import smtplib
import sys
import threading
from email.message import EmailMessage


class ConsoleBackend:
    """Print messages to stdout (the default in development)."""

    def __init__(self, config):
        self.sender = config["MAIL_DEFAULT_SENDER"]

    def send_many(self, messages: list[EmailMessage], on_sent=None) -> None:
        """Print each message."""
        for index, message in enumerate(messages):
            if "From" not in message:
                message["From"] = self.sender
            body = message.get_body(("plain",))
            text = body.get_content() if body is not None else ""
            sys.stdout.write(
                f"\n----- email to {message['To']} -----\nSubject: {message['Subject']}\n\n"
                f"{text}\n----- end of email -----\n"
            )
            sys.stdout.flush()
            if on_sent:
                on_sent(index)


class SMTPBackend:
    """Send over one SMTP connection per batch (TLS and credentials from the settings)."""

    def __init__(self, config):
        self.config = config

    def _connect(self) -> smtplib.SMTP:
        cfg = self.config
        cls = smtplib.SMTP_SSL if cfg["MAIL_USE_SSL"] else smtplib.SMTP
        connection = cls(cfg["MAIL_SERVER"], cfg["MAIL_PORT"], timeout=cfg["MAIL_TIMEOUT"])
        if cfg["MAIL_USE_TLS"] and not cfg["MAIL_USE_SSL"]:
            connection.starttls()
        if cfg["MAIL_USERNAME"]:
            connection.login(cfg["MAIL_USERNAME"], cfg["MAIL_PASSWORD"] or "")
        return connection

    def send_many(self, messages: list[EmailMessage], on_sent=None) -> None:
        """Send messages in order; `on_sent(i)` runs right after the server accepts message i."""
        with self._connect() as connection:
            for index, message in enumerate(messages):
                if "From" not in message:
                    message["From"] = self.config["MAIL_DEFAULT_SENDER"]
                connection.send_message(message)
                if on_sent:
                    on_sent(index)


class MemoryBackend:
    """Keep messages in a list (unit tests)."""

    outbox: list[EmailMessage] = []
    _lock = threading.Lock()

    def __init__(self, config):
        self.sender = config["MAIL_DEFAULT_SENDER"]

    def send_many(self, messages: list[EmailMessage], on_sent=None) -> None:
        """Append each message to the shared list."""
        with self._lock:
            for index, message in enumerate(messages):
                MemoryBackend.outbox.append(message)
                if on_sent:
                    on_sent(index)


BACKENDS = {"console": ConsoleBackend, "smtp": SMTPBackend, "memory": MemoryBackend}


def get_backend(config):
    """The backend named by MAIL_BACKEND."""
    try:
        return BACKENDS[config["MAIL_BACKEND"]](config)
    except KeyError:
        raise ValueError(f"Unknown MAIL_BACKEND {config['MAIL_BACKEND']!r}") from None


def build_message(*, to: str, subject: str, text: str, html: str | None = None) -> EmailMessage:
    """A plain-text email with an optional HTML alternative."""
    message = EmailMessage()
    message["To"] = to
    message["Subject"] = subject
    message.set_content(text)
    if html:
        message.add_alternative(html, subtype="html")
    return message
