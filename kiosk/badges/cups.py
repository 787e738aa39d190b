"""Sending a badge PDF to a CUPS printer with ``lp``; every way it can fail becomes a code.

The ``browser`` and ``none`` backends print nothing on the server (the kiosk's browser prints,
or reception downloads the PDF); ``brother_ql`` talks to its label printer directly
(:mod:`kiosk.badges.ql`).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess  # noqa: S404 - lp and lpstat are run with fixed arguments, never a shell
from dataclasses import dataclass
from pathlib import Path

from kiosk.badges.print_errors import PrintError

log = logging.getLogger(__name__)

_REQUEST_ID = re.compile(r"request id is (\S+)")
#: CUPS queue names: printable characters except space, "/", "\\", "#", quotes.
_QUEUE_NAME = re.compile(r"^[^\s\x00-\x1f\x7f/\\#'\"]{1,127}$")


@dataclass(frozen=True)
class Sent:
    """A job CUPS accepted."""

    printer: str
    request_id: str | None


def valid_queue_name(name: str) -> bool:
    """Whether ``name`` can be a CUPS queue name (and is safe to pass to lp)."""
    return bool(_QUEUE_NAME.match(name)) and not name.startswith("-")


class CupsPrinter:
    """Prints through the ``lp`` command of Debian's cups-client.

    ``server`` is ``host[:port]`` or a socket path; None means lp's own default (the
    ``CUPS_SERVER`` environment variable, then ``/etc/cups/client.conf``, then localhost).
    """

    def __init__(self, server: str | None = None, timeout: float = 10) -> None:
        self.server = server
        self.timeout = timeout

    def _command(self, name: str) -> list[str]:
        path = shutil.which(name)
        if path is None:
            raise PrintError("cups_missing", f"{name} not found")
        command = [path]
        if self.server:
            command += ["-h", self.server]
        return command

    def _run(self, args: list[str], data: bytes | None = None) -> tuple[int, str]:
        """Run a CUPS client command; return its exit code and what it said, lower-cased."""
        try:
            result = subprocess.run(  # noqa: S603 - fixed program, arguments checked above
                args,
                input=data,
                capture_output=True,
                timeout=self.timeout,
                check=False,
                env=_lp_environment(),
            )
        except subprocess.TimeoutExpired as exc:
            raise PrintError("timeout", f"{Path(args[0]).name} took over {self.timeout} s") from exc
        except OSError as exc:
            raise PrintError("cups_missing", type(exc).__name__) from exc
        output = (result.stdout + result.stderr).decode("utf-8", errors="replace")
        return result.returncode, output.lower()

    def check(self, printer: str) -> None:
        """Raise :class:`PrintError` unless CUPS answers and ``printer`` exists, is enabled and
        accepts jobs."""
        if not valid_queue_name(printer):
            raise PrintError("printer_unknown", "not a CUPS queue name")
        returncode, output = self._run(
            [*self._command("lpstat"), "-r", "-p", printer, "-a", printer]
        )
        if "scheduler is not running" in output:
            raise PrintError("cups_unreachable", "scheduler is not running")
        if returncode != 0:
            raise _classify(output, returncode)
        if f"printer {printer.lower()} disabled" in output:
            raise PrintError("printer_stopped", f"{printer} is disabled")
        if "not accepting" in output:
            raise PrintError("printer_rejecting", f"{printer} does not accept jobs")

    def send(self, pdf: bytes, *, printer: str, media: str, title: str) -> Sent:
        """Queue ``pdf`` on ``printer``; raise :class:`PrintError` when CUPS does not take it.

        A stopped printer would accept the job and keep it forever, so it is checked first:
        the visitor is then told to collect the badge at reception instead of waiting.
        """
        self.check(printer)
        command = [*self._command("lp"), "-d", printer, "-t", title, "-o", f"media={media}", "-"]
        returncode, output = self._run(command, data=pdf)
        if returncode != 0:
            raise _classify(output, returncode)
        match = _REQUEST_ID.search(output)
        return Sent(printer=printer, request_id=match[1] if match else None)


def _classify(output: str, returncode: int) -> PrintError:
    """Turn lp/lpstat's complaint into an error code."""
    detail = f"exit {returncode}: {' '.join(output.split())[:200]}"
    if any(
        text in output
        for text in ("unable to connect", "connection refused", "no such file", "bad file")
    ):
        return PrintError("cups_unreachable", detail)
    if any(
        text in output for text in ("does not exist", "unknown destination", "invalid destination")
    ):
        return PrintError("printer_unknown", detail)
    if "not accepting" in output:
        return PrintError("printer_rejecting", detail)
    return PrintError("job_rejected", detail)


def _lp_environment() -> dict[str, str]:
    """lp's messages in English, so they can be classified, whatever the server's locale."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("LC_")}
    env["LANG"] = "C"
    env["LC_ALL"] = "C"
    return env
