"""Hosts as staff manage them: create, edit, deactivate, and import a list from a CSV file.

A host is matched by email within a site (ignoring case), so importing the same file again
changes nothing, and an export from HR can be re-imported after edits.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.db import begin_write
from kiosk.forms import EMAIL_PATTERN, has_letter_or_digit, is_plain_text
from kiosk.models import Host, Site

NAME_MAX_LENGTH = 200
EMAIL_MAX_LENGTH = 254
#: An import larger than this is refused as a whole (a site has hundreds of hosts, not more).
IMPORT_MAX_ROWS = 5000
IMPORT_COLUMNS = ("name", "email", "language", "active")
IMPORT_REQUIRED_COLUMNS = ("name", "email")
#: Words the "active" column understands, in the shipped languages too; empty means "yes" for
#: a new host and "unchanged" for a known one.
ACTIVE_YES = frozenset({"1", "true", "yes", "y", "x", "ja", "j", "kyllä", "k", "active"})
ACTIVE_NO = frozenset({"0", "false", "no", "n", "nej", "nei", "nein", "ei", "inactive"})


class HostError(Exception):
    """A host change that cannot be made; ``code`` says why and ``field`` where."""

    def __init__(self, code: str, field: str) -> None:
        super().__init__(f"{field}: {code}")
        self.code = code
        self.field = field


def normalise(text: str | None) -> str:
    """NFC, inner runs of spaces collapsed, no outer spaces."""
    return " ".join(unicodedata.normalize("NFC", text or "").split())


def email_key(email: str) -> str:
    """How emails are compared: ignoring case."""
    return normalise(email).casefold()


def hosts_of_site(session: Session, site: Site) -> Sequence[Host]:
    """Every host of a site, active ones first, by name."""
    return session.scalars(
        select(Host).where(Host.site_id == site.id).order_by(Host.active.desc(), Host.name)
    ).all()


def _check(name: str, email: str, locale: str | None, languages: Sequence[str]) -> None:
    if not name:
        raise HostError("name_missing", "name")
    if len(name) > NAME_MAX_LENGTH:
        raise HostError("name_too_long", "name")
    if not is_plain_text(name) or not has_letter_or_digit(name):
        raise HostError("name_invalid", "name")
    if not email:
        raise HostError("email_missing", "email")
    if len(email) > EMAIL_MAX_LENGTH:
        raise HostError("email_too_long", "email")
    if not EMAIL_PATTERN.match(email) or not is_plain_text(email):
        raise HostError("email_invalid", "email")
    if locale is not None and locale not in languages:
        raise HostError("language_unknown", "language")


def lock_site_hosts(session: Session, site_id: int) -> None:
    """Take the lock that every create and change of a host of the site holds until it
    commits: SQLite's write lock, or the site row's on PostgreSQL (``FOR NO KEY UPDATE``,
    which check-ins inserting visits of the site do not wait for). A change of a host takes
    it before the host's own row lock, as a create or an import does (an import changes
    hosts after it), so that no two requests wait for each other's."""
    begin_write(session)
    session.execute(select(Site.id).where(Site.id == site_id).with_for_update(key_share=True))


def _email_taken(session: Session, site: Site, email: str, host: Host | None) -> bool:
    """Whether another host of the site has this email, as committed now: the site's hosts
    are read under a lock that every create and change of a host of the site takes
    (SQLite's write lock, the site row's on PostgreSQL) until it commits. Two requests
    adding one email at once both found it free and both added it (an outside fuzz); the
    second now waits for the first and is told the email is taken.

    The emails are read as columns, not as hosts the session may hold from before the lock."""
    lock_site_hosts(session, site.id)
    wanted = email_key(email)
    own_id = None if host is None else host.id
    return any(
        email_key(other_email) == wanted and other_id != own_id
        for other_id, other_email in session.execute(
            select(Host.id, Host.email).where(Host.site_id == site.id)
        )
    )


@dataclass(frozen=True)
class HostDetails:
    """What staff set on a host."""

    name: str
    email: str
    #: The language of their notifications; None: the site's.
    locale: str | None = None
    #: Whether the kiosk offers them.
    active: bool = True


def create_host(
    session: Session, site: Site, details: HostDetails, *, languages: Sequence[str]
) -> Host:
    """Add a host to a site; raises :class:`HostError` for bad input or a known email."""
    name, email = _checked(details, languages)
    if _email_taken(session, site, email, None):
        raise HostError("email_taken", "email")
    host = Host(
        site_id=site.id, name=name, email=email, locale=details.locale, active=details.active
    )
    session.add(host)
    return host


def update_host(
    session: Session, host: Host, details: HostDetails, *, languages: Sequence[str]
) -> None:
    """Change a host's details; raises :class:`HostError` for bad input or a taken email."""
    name, email = _checked(details, languages)
    if _email_taken(session, host.site, email, host):
        raise HostError("email_taken", "email")
    host.name, host.email, host.locale, host.active = name, email, details.locale, details.active


def _checked(details: HostDetails, languages: Sequence[str]) -> tuple[str, str]:
    name, email = normalise(details.name), normalise(details.email)
    _check(name, email, details.locale, languages)
    return name, email


@dataclass(frozen=True)
class ImportProblem:
    """Why a file, or one of its rows, cannot be imported. ``line`` is None for the file."""

    code: str
    line: int | None = None
    #: A column name, a value from the file (never a name or email) or a line number.
    detail: str = ""


@dataclass
class ImportReport:
    """What an import did, or why it did nothing at all."""

    #: Rows with data in the file (blank rows are skipped).
    rows: int = 0
    created: list[Host] = field(default_factory=list)
    updated: list[Host] = field(default_factory=list)
    unchanged: int = 0
    problems: list[ImportProblem] = field(default_factory=list)

    @property
    def applied(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class _Row:
    line: int
    name: str
    email: str
    #: None: the file has no language column; "": use the site's language.
    locale: str | None
    #: None: the file says nothing about it.
    active: bool | None


def import_hosts_csv(
    session: Session, site: Site, data: bytes, *, languages: Sequence[str]
) -> ImportReport:
    """Create and update a site's hosts from CSV: columns name, email[, language][, active].

    The whole file is checked first; if any row has a problem, nothing is changed and the
    report lists every problem with its line. Otherwise each row updates the site's host with
    the same email, or creates one. Hosts missing from the file are left as they are.
    """
    report = ImportReport()
    rows = _parse(data, languages, report)
    if report.problems:
        return report
    by_email = {email_key(host.email): host for host in reversed(hosts_of_site(session, site))}
    for row in rows:
        host = by_email.get(email_key(row.email))
        if host is None:
            host = Host(
                site_id=site.id,
                name=row.name,
                email=row.email,
                locale=row.locale or None,
                active=row.active is not False,
            )
            session.add(host)
            report.created.append(host)
            continue
        changes: dict[str, object] = {"name": row.name, "email": row.email}
        if row.locale is not None:
            changes["locale"] = row.locale or None
        if row.active is not None:
            changes["active"] = row.active
        if all(getattr(host, key) == value for key, value in changes.items()):
            report.unchanged += 1
            continue
        for key, value in changes.items():
            setattr(host, key, value)
        report.updated.append(host)
    return report


def _parse(data: bytes, languages: Sequence[str], report: ImportReport) -> list[_Row]:
    """The file's rows, checked; problems go into the report."""
    if b"\x00" in data:
        report.problems.append(ImportProblem("not_text"))
        return []
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        report.problems.append(ImportProblem("not_utf8"))
        return []
    if not text.strip():
        report.problems.append(ImportProblem("empty"))
        return []
    first_line = text.splitlines()[0]
    # Spreadsheets in Nordic and German settings save "CSV" with semicolons.
    delimiter = max((",", ";", "\t"), key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = [normalise(cell).casefold() for cell in next(reader)]
        columns = _columns(header, report)
        if columns is None:
            return []
        rows: list[_Row] = []
        first_line_of: dict[str, int] = {}
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue
            report.rows += 1
            if report.rows > IMPORT_MAX_ROWS:
                report.problems.append(ImportProblem("too_many_rows", detail=str(IMPORT_MAX_ROWS)))
                return []
            row = _row(reader.line_num, cells, columns, languages, report)
            if row is None:
                continue
            key = email_key(row.email)
            if key in first_line_of:
                report.problems.append(
                    ImportProblem("email_repeated", row.line, str(first_line_of[key]))
                )
                continue
            first_line_of[key] = row.line
            rows.append(row)
    except csv.Error:
        report.problems.append(ImportProblem("csv_syntax", reader.line_num))
        return []
    if not rows and not report.problems:
        report.problems.append(ImportProblem("empty"))
    return rows


#: Column names a problem lists at most (a header row may be any length).
LISTED_COLUMNS = 10


def _columns(header: list[str], report: ImportReport) -> dict[str, int] | None:
    # Counted once: a header of 40,000 columns took header.count() per column 30 s, and a
    # worker with it (an outside fuzz).
    counts = Counter(header)
    unknown = [name for name in counts if name not in IMPORT_COLUMNS]
    repeated = sorted(name for name, times in counts.items() if times > 1)
    missing = [name for name in IMPORT_REQUIRED_COLUMNS if name not in counts]
    if unknown:
        report.problems.append(ImportProblem("unknown_columns", detail=_listed(unknown)))
    if repeated:
        report.problems.append(ImportProblem("repeated_columns", detail=_listed(repeated)))
    if missing:
        report.problems.append(ImportProblem("missing_columns", detail=", ".join(missing)))
    if unknown or repeated or missing:
        return None
    return {name: index for index, name in enumerate(header)}


def _listed(names: list[str]) -> str:
    shown = ", ".join(names[:LISTED_COLUMNS])
    return shown + (", …" if len(names) > LISTED_COLUMNS else "")


def _row(
    line: int,
    cells: list[str],
    columns: dict[str, int],
    languages: Sequence[str],
    report: ImportReport,
) -> _Row | None:
    if len(cells) > len(columns):
        report.problems.append(ImportProblem("too_many_values", line))
        return None

    def cell(name: str) -> str | None:
        if name not in columns:
            return None
        index = columns[name]
        return normalise(cells[index]) if index < len(cells) else ""

    name, email = cell("name") or "", cell("email") or ""
    language = cell("language")
    locale = language.lower() if language is not None else None
    active_text = (cell("active") or "").casefold()
    try:
        _check(name, email, locale or None, languages)
    except HostError as exc:
        detail = language or "" if exc.code == "language_unknown" else ""
        report.problems.append(ImportProblem(exc.code, line, detail))
        return None
    active: bool | None = None
    if active_text in ACTIVE_YES:
        active = True
    elif active_text in ACTIVE_NO:
        active = False
    elif active_text:
        report.problems.append(ImportProblem("active_invalid", line, active_text[:20]))
        return None
    return _Row(line, name, email, locale, active)
