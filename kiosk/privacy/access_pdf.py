"""The access report as a readable PDF in the person's language (GDPR Art. 15).

Drawn with reportlab's platypus in memory and handed to the caller: it is never written to
disk, so no copy outlives the request. Fonts: the badge fonts (``BADGE_FONT``; by default DejaVu
Sans, which covers Latin, Greek, Cyrillic, Hebrew and Arabic names; without it, reportlab's own
Vera). Arabic and Hebrew are joined and ordered by :mod:`kiosk.badges.shaping`, as on badges.
"""

from __future__ import annotations

import io
import logging
from datetime import date, datetime
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

import pypdfium2 as pdfium
from babel import Locale
from babel.dates import format_date, format_datetime
from flask_babel import force_locale
from flask_babel import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from kiosk.badges.fonts import app_fonts
from kiosk.badges.shaping import display_text
from kiosk.models import SignedDocument, Site
from kiosk.privacy.requests import AccessReport, Disclosure, InvitationRecord, VisitRecord

log = logging.getLogger(__name__)


def access_fonts() -> tuple[str, str]:
    """The report's regular and bold fonts: the badges' own (registered once per process)."""
    fonts = app_fonts()
    return fonts.regular.name, fonts.bold.name


class _Styles:
    def __init__(self) -> None:
        regular, bold = access_fonts()
        self.title = ParagraphStyle("title", fontName=bold, fontSize=18, leading=22, spaceAfter=6)
        self.heading = ParagraphStyle(
            "heading", fontName=bold, fontSize=12.5, leading=16, spaceBefore=10, spaceAfter=4
        )
        self.body = ParagraphStyle("body", fontName=regular, fontSize=10, leading=13.5)
        self.label = ParagraphStyle(
            "label", parent=self.body, fontName=bold, textColor=colors.HexColor("#333333")
        )
        self.small = ParagraphStyle(
            "small", parent=self.body, fontSize=8.5, leading=11, textColor=colors.HexColor("#555")
        )


def _text(value: object, style: ParagraphStyle) -> Paragraph:
    # Each line shaped and ordered as drawn (Arabic and Hebrew names); Paragraph reads markup,
    # so anything the visitor typed is escaped after that.
    lines = str(value).split("\n")
    return Paragraph("<br/>".join(escape(display_text(line)) for line in lines), style)


def render_access_pdf(report: AccessReport, locale: str) -> bytes:
    """The report as PDF bytes, worded in ``locale``, with each signed document's own pages
    after it (those that can be read: the report says which could not)."""
    copies = _signed_copies(report.documents)
    try:
        report_pdf = _report_pdf(report, locale, attached=set(copies))
        return _append_signed(report_pdf, list(copies.values())) if copies else report_pdf
    finally:
        for copy in copies.values():
            copy.close()


def _report_pdf(report: AccessReport, locale: str, *, attached: set[int]) -> bytes:
    buffer = io.BytesIO()
    with force_locale(locale):
        styles = _Styles()
        story = _story(report, locale, styles, attached=attached)
        document = SimpleDocTemplate(
            buffer,
            pagesize=A4,
            leftMargin=20 * mm,
            rightMargin=20 * mm,
            topMargin=18 * mm,
            bottomMargin=18 * mm,
            title=_("Your visitor data"),
            # The person's name stays out of the metadata a file browser shows.
            author="",
            subject="",
        )
        document.build(story)
    return buffer.getvalue()


def _signed_copies(documents: list[SignedDocument]) -> dict[int, pdfium.PdfDocument]:
    """The signed documents' own PDFs that open, by signed document id, in report order.

    One that does not (its key destroyed, so nothing is left; or bytes PDFium cannot read) is
    left out and said so in the report, rather than failing the whole export: the person is
    owed the rest of it."""
    copies: dict[int, pdfium.PdfDocument] = {}
    for item in documents:
        if not item.pdf:
            continue
        try:
            copies[item.id] = pdfium.PdfDocument(bytes(item.pdf))
        except pdfium.PdfiumError as error:
            # The record's id and PDFium's reason: no personal data.
            log.warning("signed document %s: its PDF cannot be read (%s)", item.id, error)
    return copies


def _story(
    report: AccessReport, locale: str, styles: _Styles, *, attached: set[int]
) -> list[Flowable]:
    controllers = ", ".join(site.controller_name for site in report.sites)
    story: list[Flowable] = [
        _text(_("Your visitor data"), styles.title),
        _text(
            _("What %(controller)s keeps about you, as of %(date)s.")
            % {"controller": controllers, "date": format_date(report.generated_at, "long", locale)},
            styles.body,
        ),
        Spacer(1, 3 * mm),
        _text(
            _(
                "You asked which of your details we keep. This is all of it: each visit and "
                "expected visit still kept. Everything older has been deleted already."
            ),
            styles.body,
        ),
    ]
    for record in report.visits:
        story.extend(_visit(record, locale, styles))
    for item in report.invitations:
        story.extend(_invitation(item, locale, styles))
    for signed in report.documents:
        story.extend(_signed_document(signed, locale, styles, attached=signed.id in attached))
    if not report.visits and not report.invitations and not report.documents:
        story.append(_text(_("We keep no details about you."), styles.body))
    for site in report.sites:
        story.extend(_controller(site, styles))
    story.append(Spacer(1, 6 * mm))
    story.append(
        _text(
            _(
                "Dates are shown in the time zone of the site you visited. The details are "
                "deleted at the first daily deletion run after the date shown."
            ),
            styles.small,
        )
    )
    return story


def _when(moment: datetime | None, site: Site, locale: str) -> str:
    if moment is None:
        return "–"
    return format_datetime(moment, "medium", tzinfo=ZoneInfo(site.timezone), locale=locale)


def _language_name(code: str, locale: str) -> str:
    try:
        return Locale.parse(code).get_display_name(locale) or code
    except (ValueError, LookupError):
        return code


def _day(day: date | datetime, locale: str) -> str:
    return format_date(day, "long", locale)


def _table(rows: list[tuple[str, str]], styles: _Styles) -> Table:
    table = Table(
        [[_text(label, styles.label), _text(value, styles.body)] for label, value in rows],
        colWidths=[52 * mm, None],
    )
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#cccccc")),
                ("TOPPADDING", (0, 0), (-1, -1), 3),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
            ]
        )
    )
    return table


def _disclosure(item: Disclosure, site: Site, locale: str) -> str:
    labels = {
        "reception": _("Reception at %(name)s"),
        "host": _("%(name)s, the person you visited"),
        "host_email": _("An email to %(name)s, the person you visited"),
        "webhook": _("%(name)s, a service the site sends arrivals to")
        if item.personal
        else _("%(name)s, a service the site sends arrivals to: the visit's number and times only"),
    }
    text = (
        labels[item.recipient] % {"name": item.name}
        if item.recipient in labels
        else (f"{item.recipient}: {item.name}" if item.name else item.recipient)
    )
    if item.at is not None:
        text += f" ({_when(item.at, site, locale)})"
    return text


def _visit(record: VisitRecord, locale: str, styles: _Styles) -> list[Flowable]:
    visit = record.visit
    site = visit.site
    notice = visit.notice_version
    rows = [
        (_("Name"), visit.visitor_name),
        (_("Company"), visit.company or "–"),
        (_("Email"), visit.email or "–"),
        (_("Phone"), visit.phone or "–"),
        (_("Purpose of your visit"), visit.purpose or "–"),
        (_("Whom you visited"), visit.host.name if visit.host else _("Ask reception")),
        (_("Checked in"), _when(visit.checked_in_at, site, locale)),
        (_("Checked out"), _when(visit.checked_out_at, site, locale)),
        (
            _("Privacy notice you were shown"),
            _("Version %(version)d in %(language)s, published %(date)s")
            % {
                "version": notice.version,
                "language": _language_name(notice.locale, locale),
                "date": _day(notice.published_at, locale) if notice.published_at else "–",
            }
            if notice is not None
            else "–",
        ),
        (_("Deleted from"), _when(record.erased_from, site, locale)),
    ]
    if record.contacts_erased_from is not None:
        rows.append(
            (_("Email and phone deleted from"), _when(record.contacts_erased_from, site, locale))
        )
    rows.append(
        (
            _("Who received the details"),
            "\n".join(_disclosure(item, site, locale) for item in record.disclosures),
        )
    )
    return [
        _text(
            _("Visit to %(site)s on %(date)s")
            % {
                "site": site.name,
                "date": _day(visit.checked_in_at.astimezone(ZoneInfo(site.timezone)), locale),
            },
            styles.heading,
        ),
        _table(rows, styles),
    ]


def _invitation(item: InvitationRecord, locale: str, styles: _Styles) -> list[Flowable]:
    invitation = item.invitation
    site = invitation.site
    rows = [
        (_("Name"), invitation.visitor_name),
        (_("Company"), invitation.company or "–"),
        (_("Email"), invitation.email or "–"),
        (_("Whom you visit"), invitation.host.name if invitation.host else "–"),
        (_("Deleted from"), _when(item.erased_from, site, locale)),
    ]
    return [
        _text(
            _("Expected visit to %(site)s on %(date)s")
            % {"site": site.name, "date": _day(invitation.expected_on, locale)},
            styles.heading,
        ),
        _table(rows, styles),
    ]


def _signed_document(
    item: SignedDocument, locale: str, styles: _Styles, *, attached: bool
) -> list[Flowable]:
    site = item.site
    version = item.document_version
    rows = [
        (_("Name"), item.signer_name),
        (
            _("Version"),
            _("Version %(version)d in %(language)s")
            % {"version": version.version, "language": _language_name(version.locale, locale)},
        ),
        (_("Signed"), _when(item.signed_at, site, locale)),
        (_("Deleted from"), _when(item.erase_after, site, locale)),
    ]
    return [
        _text(
            _("Document you signed at %(site)s: %(title)s")
            % {"site": site.name, "title": version.title},
            styles.heading,
        ),
        _table(rows, styles),
        _text(_copy_note(item, attached), styles.small),
    ]


def _copy_note(item: SignedDocument, attached: bool) -> str:
    """Whether the signed document's own pages follow, and if not, why."""
    if attached:
        note = _("The signed document itself follows at the end of this report.")
    elif not item.pdf:
        note = _("The signed document itself is no longer kept.")
    else:
        note = _(
            "The signed document itself could not be read, so it is not attached. Please "
            "contact us for it."
        )
    return str(note)


def _append_signed(report_pdf: bytes, copies: list[pdfium.PdfDocument]) -> bytes:
    """The report with each signed document's own pages after it, as they are kept."""
    merged = pdfium.PdfDocument(report_pdf)
    try:
        for copy in copies:
            merged.import_pages(copy)
        buffer = io.BytesIO()
        merged.save(buffer)
    finally:
        merged.close()
    return buffer.getvalue()


def _controller(site: Site, styles: _Styles) -> list[Flowable]:
    rows = [(_("Who is responsible"), f"{site.controller_name}, {site.controller_contact}")]
    if site.dpo_contact:
        rows.append((_("Data protection officer"), site.dpo_contact))
    rows.append(
        (
            _("Your rights"),
            _(
                "You can ask us to correct or delete these details, to limit their use, or "
                "object to their use. Contact us as above."
            ),
        )
    )
    rows.append(
        (
            _("Complaints"),
            site.authority_name + (f", {site.authority_contact}" if site.authority_contact else ""),
        )
    )
    return [_text(site.name, styles.heading), _table(rows, styles)]
