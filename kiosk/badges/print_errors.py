"""What every print backend shares: the error a badge that did not reach paper raises, and
the codes it carries (kept on the print job; the dashboard shows a translated reason)."""

from __future__ import annotations

#: What each error code means, for operators.
ERROR_CODES = {
    "no_printer": "the site has no printer configured",
    "cups_missing": "the lp command is not installed (Debian package cups-client)",
    "cups_unreachable": "the CUPS server does not answer",
    "printer_unknown": "CUPS has no printer of that name",
    "printer_stopped": "the printer is stopped (disabled) in CUPS",
    "printer_rejecting": "the printer does not accept jobs",
    "job_rejected": "CUPS refused the job",
    "timeout": "the printer or print server did not answer in time",
    "render_failed": "the badge could not be drawn",
    "printer_unreachable": "the label printer does not answer on its address",
    "out_of_labels": "the label printer has no labels left, or cannot feed them",
    "wrong_labels": "the label printer holds other labels than the badge format needs",
    "printer_fault": "the label printer reports a fault (cover open, cutter jam, ...)",
    "label_unsupported": "the badge format cannot be printed on a Brother QL label",
}


class PrintError(Exception):
    """A badge that did not reach the printer; ``code`` is a key of ERROR_CODES."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail
