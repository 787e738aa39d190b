"""Transports for notifications: email over SMTP and JSON webhook calls.

Failures become a :class:`DeliveryError` whose ``code`` is an error class or a status number,
never the server's text: an SMTP server's reply can quote the addresses or the message.
"""

from __future__ import annotations

import http.client
import smtplib
import ssl
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit


class DeliveryError(Exception):
    """A notification could not be delivered.

    ``permanent`` errors (a refused recipient, a webhook that answers 404) are not retried.
    """

    def __init__(self, code: str, *, permanent: bool = False) -> None:
        super().__init__(code)
        self.code = code[:64]
        self.permanent = permanent


@dataclass(frozen=True)
class MailSettings:
    """How to reach the deployment's SMTP server."""

    host: str | None
    port: int
    username: str | None
    password: str | None
    starttls: bool
    use_ssl: bool
    timeout: float
    sender: str

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> MailSettings:
        """Read the ``SMTP_*`` and ``MAIL_FROM`` settings."""

        def text(key: str) -> str | None:
            # KIOSK_* variables are parsed as JSON: a numeric password arrives as a number.
            value = config.get(key)
            return None if value in (None, "") else str(value)

        return cls(
            host=text("SMTP_HOST"),
            port=int(config["SMTP_PORT"]),
            username=text("SMTP_USERNAME"),
            password=text("SMTP_PASSWORD"),
            starttls=bool(config["SMTP_STARTTLS"]),
            use_ssl=bool(config["SMTP_SSL"]),
            timeout=float(config["SMTP_TIMEOUT_SECONDS"]),
            sender=str(config["MAIL_FROM"]),
        )

    @property
    def configured(self) -> bool:
        return bool(self.host)


def send_email(settings: MailSettings, message: EmailMessage) -> None:
    """Hand ``message`` to the SMTP server; raises :class:`DeliveryError`."""
    if not settings.host:
        raise DeliveryError("EmailNotConfigured", permanent=True)
    context = ssl.create_default_context()
    try:
        smtp: smtplib.SMTP
        if settings.use_ssl:
            smtp = smtplib.SMTP_SSL(
                settings.host, settings.port, timeout=settings.timeout, context=context
            )
        else:
            smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
        with smtp:
            if settings.starttls and not settings.use_ssl:
                smtp.starttls(context=context)
            if settings.username:
                smtp.login(settings.username, settings.password or "")
            smtp.send_message(message)
    except smtplib.SMTPRecipientsRefused as exc:
        raise DeliveryError(type(exc).__name__, permanent=True) from None
    except smtplib.SMTPResponseException as exc:
        # 5xx is the server's final word (unknown mailbox, bad login); 4xx may pass later.
        raise DeliveryError(f"SMTP {exc.smtp_code}", permanent=exc.smtp_code >= 500) from None
    except smtplib.SMTPNotSupportedError as exc:
        raise DeliveryError(type(exc).__name__, permanent=True) from None
    except smtplib.SMTPServerDisconnected as exc:
        # smtplib reports a server that went quiet as "disconnected": say it timed out.
        cause = exc.__context__
        raise DeliveryError(
            type(cause if isinstance(cause, TimeoutError) else exc).__name__
        ) from None
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryError(type(exc).__name__) from None


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A webhook that redirects is misconfigured; never follow it somewhere else."""

    def redirect_request(self, *_args: Any, **_kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirects)

#: HTTP statuses worth another try: the server is busy, down or rate-limiting.
_TRANSIENT_STATUSES = {408, 425, 429}


def post_webhook(
    url: str, body: str, *, timeout: float, headers: Mapping[str, str] | None = None
) -> None:
    """POST ``body`` (JSON) to a webhook URL, with ``headers`` (a signature) if given; raises
    :class:`DeliveryError`."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise DeliveryError("BadWebhookURL", permanent=True)
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
        url,
        data=body.encode("utf-8"),
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "kiosk",
            **(headers or {}),
        },
        method="POST",
    )
    try:
        with _opener.open(request, timeout=timeout) as response:
            response.read(1024)
    except urllib.error.HTTPError as exc:
        with exc:
            status = exc.code
        transient = status >= 500 or status in _TRANSIENT_STATUSES
        raise DeliveryError(f"HTTP {status}", permanent=not transient) from None
    except urllib.error.URLError as exc:
        reason = exc.reason
        name = type(reason).__name__ if isinstance(reason, BaseException) else "URLError"
        raise DeliveryError(name) from None
    except (OSError, http.client.HTTPException) as exc:  # a timeout, a reset, a garbled answer
        raise DeliveryError(type(exc).__name__) from None
