"""Mail delivery backends: console for development, SMTP for real, memory for tests.

Every backend sends a list of messages in order and reports each one as it goes:
`on_sent(i)` right after the server accepted message i (the caller marks its rows sent at
once, which keeps the duplicate window to one message), `on_refused(i, error)` when the
server refused that message but the connection is still good. Errors that break the
connection (refused connection, disconnect, timeout) propagate to the caller.
"""

import re
import secrets
import smtplib
import sys
import threading
from email.headerregistry import HeaderRegistry
from email.message import EmailMessage
from email.policy import EmailPolicy

# Per-message refusals: the server answered with a code, the session goes on (smtplib
# sends RSET after each of these).
MESSAGE_ERRORS = (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError)


class _StorePlainHeaders(EmailPolicy):
    """email's default policy, but printable ASCII header values are stored as given.

    The default parses every header into a structured object as it is set, which was the
    largest cost of composing a reminder. Values kept as given are parsed when read and
    folded when written only if too long, as in an email parsed from bytes; anything else
    (non-ASCII, control characters, line breaks) takes the default path, which encodes it
    or rejects it.
    """

    def header_store_parse(self, name, value):
        plain = isinstance(value, str) and value.isascii() and value.isprintable()
        if plain and not name.lower().startswith("content-"):
            return (name, value)
        if plain and "boundary=" not in value:
            # Content-* headers stay parsed, as email reads them over and over while building
            # and writing a message; their values repeat from one message to the next
            # ("text/plain", "7bit"), so each is parsed once. Header objects are immutable.
            key = (name, value)
            header = _CONTENT_HEADERS.get(key)
            if header is None:
                header = super().header_store_parse(name, value)[1]
                if len(_CONTENT_HEADERS) < 256:  # a handful in practice
                    _CONTENT_HEADERS[key] = header
            return (name, header)
        return super().header_store_parse(name, value)


_CONTENT_HEADERS: dict[tuple[str, str], object] = {}


class _HeaderClasses(HeaderRegistry):
    """email's header registry, building each header's class once instead of at every use."""

    def __init__(self):
        super().__init__()
        self._classes = {}

    def __getitem__(self, name):
        key = name.lower()
        if key not in self._classes:
            self._classes[key] = super().__getitem__(name)
        return self._classes[key]


POLICY = _StorePlainHeaders(header_factory=_HeaderClasses())


def is_permanent(error: Exception) -> bool:
    """True for a 5xx refusal (retrying will not help); 4xx and connection errors are retried."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        return bool(codes) and all(code >= 500 for code in codes)
    if isinstance(error, smtplib.SMTPResponseException):
        return error.smtp_code >= 500
    return False


def describe(error: Exception) -> str:
    """A one-line description for the outbox row's last_error."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        code, text = next(iter(error.recipients.values()), (0, b""))
        detail = text.decode(errors="replace") if isinstance(text, bytes) else str(text)
        return f"SMTPRecipientsRefused: {code} {detail}"[:1000]
    if isinstance(error, smtplib.SMTPResponseException):
        detail = error.smtp_error
        detail = detail.decode(errors="replace") if isinstance(detail, bytes) else str(detail)
        return f"{type(error).__name__}: {error.smtp_code} {detail}"[:1000]
    return f"{type(error).__name__}: {error}"[:1000]


FRAME_WIDTH = 72
_URL = re.compile(r"https?://\S+")


def console_block(message: EmailMessage) -> str:
    """An email as a framed block for a terminal: To, Subject, the link to open, the text.

    Made to stand out among the log lines of `make run`, where it is the only way to read
    a reminder in development; the link is the first one in the text, before the footer.
    """
    body = message.get_body(("plain",))
    text = (body.get_content() if body is not None else "").rstrip("\n")
    link = _URL.search(text.split("\n--\n", 1)[0])
    head = [("To", message["To"]), ("Subject", message["Subject"])]
    if link:
        head.append(("Link", link.group(0)))
    rule = "+" + "-" * (FRAME_WIDTH - 1)
    lines = ["", "+" + " EMAIL ".center(FRAME_WIDTH - 1, "=")]
    lines += [f"| {name + ':':<9}{value}" for name, value in head]
    lines.append(rule)
    lines += [f"| {line}".rstrip() for line in text.splitlines()]
    lines += ["+" + "=" * (FRAME_WIDTH - 1), ""]
    return "\n".join(lines) + "\n"


class ConsoleBackend:
    """Print messages to stdout (the default in development), each as one framed block."""

    def __init__(self, config):
        self.sender = config["MAIL_DEFAULT_SENDER"]

    def send_many(self, messages: list[EmailMessage], on_sent=None, on_refused=None) -> None:
        """Print each message (its plain-text part) in one write, so log lines cannot split it."""
        for index, message in enumerate(messages):
            if "From" not in message:
                message["From"] = self.sender
            sys.stdout.write(console_block(message))
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

    def send_many(self, messages: list[EmailMessage], on_sent=None, on_refused=None) -> None:
        """Send messages in order over one connection, reporting each as it goes."""
        if not messages:
            return
        with self._connect() as connection:
            for index, message in enumerate(messages):
                if "From" not in message:
                    message["From"] = self.config["MAIL_DEFAULT_SENDER"]
                try:
                    connection.send_message(message)
                except MESSAGE_ERRORS as error:
                    if on_refused is None:
                        raise
                    on_refused(index, error)
                    continue
                if on_sent:
                    on_sent(index)


class MemoryBackend:
    """Keep messages in a list (unit tests); can refuse or fail on demand."""

    outbox: list[EmailMessage] = []
    # Tests set these: refuse_with is a per-message refusal, fail_with breaks the connection.
    refuse_with: Exception | None = None
    fail_with: Exception | None = None
    _lock = threading.Lock()

    def __init__(self, config):
        self.sender = config["MAIL_DEFAULT_SENDER"]

    def send_many(self, messages: list[EmailMessage], on_sent=None, on_refused=None) -> None:
        """Append each message to the shared list."""
        with self._lock:
            if MemoryBackend.fail_with is not None:
                raise MemoryBackend.fail_with
            for index, message in enumerate(messages):
                if MemoryBackend.refuse_with is not None:
                    if on_refused is None:
                        raise MemoryBackend.refuse_with
                    on_refused(index, MemoryBackend.refuse_with)
                    continue
                if "From" not in message:
                    message["From"] = self.sender
                MemoryBackend.outbox.append(message)
                if on_sent:
                    on_sent(index)

    @classmethod
    def reset(cls) -> None:
        """Forget sent messages and any simulated failure."""
        cls.outbox.clear()
        cls.refuse_with = cls.fail_with = None


BACKENDS = {"console": ConsoleBackend, "smtp": SMTPBackend, "memory": MemoryBackend}


def get_backend(config):
    """The backend named by MAIL_BACKEND."""
    try:
        return BACKENDS[config["MAIL_BACKEND"]](config)
    except KeyError:
        raise ValueError(f"Unknown MAIL_BACKEND {config['MAIL_BACKEND']!r}") from None


def build_message(
    *,
    to: str,
    subject: str,
    text: str,
    html: str | None = None,
    headers: dict[str, str] | None = None,
) -> EmailMessage:
    """A plain-text email with an optional HTML alternative and extra headers."""
    message = EmailMessage(policy=POLICY)
    message["To"] = to
    message["Subject"] = subject
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(text)
    if html:
        # Chosen here, where the text is at hand: the generator would otherwise compile a
        # regular expression per message to find one. "=_" cannot appear in quoted-printable
        # or base64, so checking the raw text is enough.
        boundary = f"=_{secrets.token_hex(16)}"
        while boundary in text or boundary in html:
            boundary = f"=_{secrets.token_hex(16)}"
        message.make_alternative(boundary=boundary)
        message.add_alternative(html, subtype="html")
    return message
