"""The evacuation list: everyone on site now, per site, as an A4 PDF for the car park and CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from babel.dates import format_datetime, format_time
from flask_babel import gettext as _
from flask_babel import ngettext
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import (
    Flowable,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from kiosk.badges.fonts import Face, FontSet
from kiosk.badges.shaping import display_text
from kiosk.i18n import reading_locale, site_time
from kiosk.models import Site, Visit
from kiosk.sealing import shown_text
from kiosk.services.daily import spreadsheet_safe
from kiosk.services.groups import with_groups


@dataclass(frozen=True)
class SiteList:
    """One site's part of the list."""

    site: Site
    visits: Sequence[Visit]


def _markup(text: str, fonts: FontSet, face: Face) -> str:
    """Paragraph markup drawing each character in a font that has it."""
    return "".join(
        f'<font name="{run_face.name}">{escape(run)}</font>'
        if run_face is not face
        else escape(run)
        for run_face, run in fonts.runs(display_text(text), face)
    )


def render_evacuation_pdf(lists: Sequence[SiteList], *, now: datetime, fonts: FontSet) -> bytes:
    """An A4 PDF, one section per site starting on a new page, large enough to read outside."""
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
        title=_("Evacuation list"),
        creator="kiosk",
        invariant=True,
    )
    regular, bold = fonts.regular, fonts.bold
    title_style = ParagraphStyle("title", fontName=bold.name, fontSize=20, leading=24)
    note_style = ParagraphStyle("note", fontName=regular.name, fontSize=12, leading=15)
    cell = ParagraphStyle("cell", fontName=regular.name, fontSize=12, leading=14.5)
    name_cell = ParagraphStyle("name", parent=cell, fontName=bold.name)
    head = ParagraphStyle("head", parent=cell, fontName=bold.name, textColor=colors.white)

    story: list[Flowable] = []
    for index, part in enumerate(lists):
        if index:
            story.append(PageBreak())
        site = part.site
        story.append(Paragraph(_markup(_("Evacuation list"), fonts, bold), title_style))
        story.append(Paragraph(_markup(site.name, fonts, bold), title_style))
        story.append(Spacer(1, 2 * mm))
        generated = _(
            "Generated %(time)s (%(zone)s)", time=site_time(now, site), zone=site.timezone
        )
        count = _("People on site: %(count)d", count=len(part.visits))
        story.append(Paragraph(escape(f"{generated} · {count}"), note_style))
        story.append(Spacer(1, 4 * mm))
        if not part.visits:
            story.append(Paragraph(escape(_("No visitors on site.")), note_style))
            continue
        rows: list[list[Paragraph | str]] = [
            [
                Paragraph("✓", head),
                Paragraph(escape(_("Name")), head),
                Paragraph(escape(_("Company")), head),
                Paragraph(escape(_("Host")), head),
                Paragraph(escape(_("Checked in")), head),
            ]
        ]
        # People who came together stand together, boxed, the first with "Group of N":
        # whoever counts heads outside can ask one of them for the others.
        group_boxes: list[tuple[str, tuple[int, int], tuple[int, int], float, colors.Color]] = []
        for row in with_groups(part.visits):
            visit = row.visit
            name = _markup(shown_text(visit.visitor_name), fonts, bold)
            if row.group_start and row.group_size:
                label = ngettext("Group of %(num)d", "Group of %(num)d", row.group_size)
                name += f'<br/><font name="{regular.name}" size="10">{escape(label)}</font>'
                first_row = len(rows)
            if row.group_end and row.group_size:
                group_boxes.append(("BOX", (0, first_row), (-1, len(rows)), 2.5, colors.black))
            rows.append(
                [
                    "",
                    Paragraph(name, name_cell),
                    Paragraph(_markup(shown_text(visit.company), fonts, regular), cell),
                    Paragraph(
                        _markup(
                            visit.host.name if visit.host else _("Ask reception"), fonts, regular
                        ),
                        cell,
                    ),
                    Paragraph(escape(_checked_in(visit, site, now)), cell),
                ]
            )
        table = Table(
            rows,
            colWidths=[10 * mm, 52 * mm, 43 * mm, 43 * mm, 32 * mm],
            repeatRows=1,
        )
        table.setStyle(
            TableStyle(
                [
                    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#1D2330")),
                    ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                    ("GRID", (0, 0), (-1, -1), 0.75, colors.HexColor("#555555")),
                    (
                        "ROWBACKGROUNDS",
                        (0, 1),
                        (-1, -1),
                        [colors.white, colors.HexColor("#EEEEEE")],
                    ),
                    ("TOPPADDING", (0, 0), (-1, -1), 5),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 5),
                    *group_boxes,
                ]
            )
        )
        story.append(table)
    document.build(story)
    return buffer.getvalue()


def _checked_in(visit: Visit, site: Site, now: datetime) -> str:
    """The check-in time on the site's clock; with the date only when it was not today."""
    zone = ZoneInfo(site.timezone)
    local = visit.checked_in_at.astimezone(zone)
    locale = reading_locale(site.timezone)
    if local.date() == now.astimezone(zone).date():
        return format_time(local, "short", locale=locale)
    return format_datetime(local, "short", locale=locale)


def evacuation_csv(lists: Sequence[SiteList]) -> str:
    """The same list as CSV (UTF-8 with a byte-order mark so spreadsheets read the letters)."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow([_("Site"), _("Name"), _("Company"), _("Host"), _("Checked in"), _("Group")])
    for part in lists:
        site = part.site
        for row in with_groups(part.visits):
            visit = row.visit
            checked_in = visit.checked_in_at.astimezone(ZoneInfo(site.timezone)).strftime(
                "%Y-%m-%d %H:%M"
            )
            writer.writerow(
                [
                    spreadsheet_safe(site.name),
                    spreadsheet_safe(shown_text(visit.visitor_name)),
                    spreadsheet_safe(shown_text(visit.company)),
                    spreadsheet_safe(visit.host.name if visit.host else ""),
                    checked_in,
                    # The same number on everyone who came together; empty for one visitor.
                    visit.group_id if row.group_size else "",
                ]
            )
    return out.getvalue()
