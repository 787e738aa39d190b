"""Brother QL label printers on the network: a badge sent as QL raster data straight to the
printer's raw port (TCP 9100), with no CUPS and no driver.

The badge PDF is rasterised with pdfium to the label's printable dots at 300 dpi, and turned
into raster instructions by brother_ql (the ``brother-ql-next`` package). Before the job the
printer is asked for its status: one without labels, holding other labels, or reporting a
fault fails the print at once, without sending it. A printer that answers is then followed
until it says the label is printed (or what went wrong); one that does not answer status
requests over the network is sent the job all the same. Every fault is a :class:`PrintError`,
which :func:`kiosk.badges.jobs.print_badge` records without failing the check-in.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import socket
import time
from dataclasses import dataclass
from typing import Any

import pypdfium2
from brother_ql.conversion import convert
from brother_ql.labels import FormFactor, LabelsManager
from brother_ql.models import ModelsManager
from brother_ql.raster import BrotherQLRaster
from brother_ql.reader import interpret_response
from PIL import Image

from kiosk.badges.print_errors import PrintError

log = logging.getLogger(__name__)

#: The raw printing port of Brother's network printers.
DEFAULT_PORT = 9100
#: Printer models brother_ql knows (``BROTHER_QL_MODEL``).
MODELS = tuple(ModelsManager().identifiers())
#: The label's dots per inch across and along the tape.
DPI = 300
#: A status reply: 32 bytes starting 80 20 42 (Brother's "QL raster command reference").
STATUS_LENGTH = 32
_STATUS_REQUEST = b"\x1b@\x1biS"
#: The error texts of brother_ql.reader that mean the printer has no label to print on.
_NO_LABELS = (
    "No media when printing",
    "End of media (die-cut size only)",
    "Replace media error",
    "Media cannot be fed (also when the media end is detected)",
)
_HOST_NAME = re.compile(
    r"^(?=.{1,120}$)[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$"
)


@dataclass(frozen=True)
class Address:
    """Where a Brother QL printer listens."""

    host: str
    port: int = DEFAULT_PORT


def parse_address(text: str) -> Address | None:
    """``host``, ``host:port``, an IPv4 address or ``[IPv6]:port``; None when it is neither."""
    text = text.strip()
    host, port = text, DEFAULT_PORT
    if text.startswith("["):
        host, _bracket, rest = text[1:].partition("]")
        if rest:
            if not rest.startswith(":") or not rest[1:].isdigit():
                return None
            port = int(rest[1:])
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            return None
    else:
        if text.count(":") == 1:
            host, _colon, digits = text.partition(":")
            if not digits.isascii() or not digits.isdigit():
                return None
            port = int(digits)
        if not _HOST_NAME.match(host):
            return None
    if not 0 < port < 65536:
        return None
    return Address(host, port)


def label_size(label: str) -> tuple[int, int]:
    """A brother_ql label's tape size in mm (width, length; length 0 for continuous tape)."""
    width, length = LabelsManager()[label].tape_size
    return int(width), int(length)


def label_image(pdf: bytes, label: str) -> Image.Image:
    """The badge's first page as a greyscale picture of exactly the label's printable dots
    across (and, on a die-cut label, along), the page scaled to fit and centred."""
    spec = LabelsManager()[label]
    width, height = spec.dots_printable
    document = pypdfium2.PdfDocument(pdf)
    try:
        page = document[0]
        page_width, page_height = page.get_size()
        scale = width / page_width
        if spec.form_factor != FormFactor.ENDLESS:
            scale = min(scale, height / page_height)
        picture = page.render(scale=scale, grayscale=True).to_pil().convert("L")
        page.close()
    finally:
        document.close()
    label_picture = Image.new("L", (width, height or picture.height), 255)
    label_picture.paste(
        picture,
        ((width - picture.width) // 2, (label_picture.height - picture.height) // 2),
    )
    return label_picture


def ql_raster(pdf: bytes, *, label: str, model: str) -> bytes:
    """The badge as a QL raster job for ``label`` on a printer ``model``, cut after it."""
    raster = BrotherQLRaster(model)
    raster.exception_on_warning = True
    convert(
        raster,
        [label_image(pdf, label)],
        label,
        cut=True,
        rotate=0,
        compress=bool(raster.model.compression),
    )
    data: bytes = raster.data
    return data


class QlPrinter:
    """A Brother QL printer at ``address`` on the network."""

    def __init__(self, address: Address, *, timeout: float, status_seconds: float) -> None:
        self.address = address
        self.timeout = timeout
        self.status_seconds = status_seconds

    def send(self, job: bytes, *, label: str) -> None:
        """Print ``job`` (from :func:`ql_raster`) on a ``label``; raise :class:`PrintError`
        unless the printer took it (and, when it reports back, printed it)."""
        try:
            with socket.create_connection(
                (self.address.host, self.address.port), timeout=self.timeout
            ) as connection:
                status = self._status(connection)
                if status is not None:
                    _check_ready(status, label)
                connection.settimeout(self.timeout)
                connection.sendall(job)
                if status is not None:
                    self._await_printed(connection)
        except TimeoutError as exc:
            raise PrintError("timeout", f"no answer in {self.timeout} s") from exc
        except OSError as exc:
            raise PrintError("printer_unreachable", type(exc).__name__) from exc

    def _status(self, connection: socket.socket) -> dict[str, Any] | None:
        """Ask for the printer's status; None when it does not answer in time."""
        if self.status_seconds <= 0:
            return None
        connection.settimeout(self.timeout)
        connection.sendall(_STATUS_REQUEST)
        return _read_status(connection, time.monotonic() + self.status_seconds)

    def _await_printed(self, connection: socket.socket) -> None:
        """Follow the printer's status messages until the label is printed or it fails."""
        deadline = time.monotonic() + self.timeout
        while (status := _read_status(connection, deadline)) is not None:
            if status["errors"] or status["status_type"] == "Error occurred":
                raise _fault(status)
            if status["status_type"] == "Printing completed":
                return
        # It took the job and said nothing more: printing it is up to the printer now.
        log.info("the label printer did not confirm the print within %s s", self.timeout)


def _read_status(connection: socket.socket, deadline: float) -> dict[str, Any] | None:
    """One 32-byte status message, or None when none (whole) arrives before ``deadline``."""
    data = b""
    while len(data) < STATUS_LENGTH:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        connection.settimeout(remaining)
        try:
            chunk = connection.recv(STATUS_LENGTH - len(data))
        except TimeoutError:
            return None
        if not chunk:
            return None
        data += chunk
    try:
        status: dict[str, Any] = interpret_response(data)
    except NameError:  # what brother_ql raises for bytes that are no status message
        log.warning("the label printer answered something that is not a status message")
        return None
    return status


def _fault(status: dict[str, Any]) -> PrintError:
    errors = list(status["errors"])
    detail = "; ".join(errors) or str(status["status_type"])
    if status["media_type"] == "No media" or any(error in _NO_LABELS for error in errors):
        return PrintError("out_of_labels", detail)
    return PrintError("printer_fault", detail)


def _check_ready(status: dict[str, Any], label: str) -> None:
    """Raise unless the printer reports no fault and holds the labels the job is for."""
    if status["errors"] or status["media_type"] == "No media":
        raise _fault(status)
    width, length = label_size(label)
    loaded = (int(status["media_width"]), int(status["media_length"]))
    die_cut = status["media_type"] == "Die-cut labels"
    if loaded[0] != width or die_cut != (length != 0) or (die_cut and loaded[1] != length):
        raise PrintError("wrong_labels", f"loaded {loaded[0]}x{loaded[1]} mm, job {label}")
