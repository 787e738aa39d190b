"""The data model: SQLAlchemy 2.x typed ORM.

Columns marked ``#: personal data`` hold visitor personal data; the retention purge erases them.
``__repr__`` shows ids only, so a model that reaches a log line never leaks a name.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    Time,
    UniqueConstraint,
    event,
    insert,
    inspect,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from kiosk.blind_index import (
    TokenBytes,
    delete_token_rows,
    delete_tokens_by_visit_id,
    previous_token_rows,
    record_token_days,
    visit_token_rows,
)
from kiosk.enums import (
    DocumentAcceptance,
    DocumentKind,
    FieldMode,
    NotificationKind,
    NotificationStatus,
    PrintBackend,
    PrintStatus,
    PurgeRunStatus,
    Role,
    WebhookFormat,
    values,
)
from kiosk.sealing import NO_SITE, Sealed, seal_model

#: The configurable kiosk fields; the visitor's name is always asked and required.
KIOSK_FIELDS = ("company", "host", "purpose", "email", "phone")
#: The optional contact fields a site may erase sooner than the visit (Site.contact_retention_days).
CONTACT_FIELDS = ("email", "phone")


def _one_of(column: str, vocabulary: type[StrEnum], *, nullable: bool = False) -> str:
    """The SQL of a CHECK that holds ``column`` to a vocabulary, e.g. ``role IN ('reception',
    'admin', 'privacy')``: the text the migrations wrote, so it must not change."""
    listed = ", ".join(f"'{value}'" for value in values(vocabulary))
    check = f"{column} IN ({listed})"
    return f"{column} IS NULL OR {check}" if nullable else check


def _field_mode_check(field: str) -> CheckConstraint:
    return CheckConstraint(_one_of(f"field_{field}", FieldMode), name=f"field_{field}_mode")


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend.

    SQLite has no timezone type and hands back naive values; this type refuses naive input and
    always returns aware UTC, so comparisons never mix naive and aware times.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass an aware UTC time (kiosk.clock)")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )
    type_annotation_map = {datetime: UTCDateTime()}

    def __repr__(self) -> str:
        ident = inspect(self).identity
        return f"<{type(self).__name__} id={ident[0] if ident else None}>"


staff_sites = Table(
    "staff_sites",
    Base.metadata,
    Column("staff_user_id", ForeignKey("staff_users.id", ondelete="CASCADE"), primary_key=True),
    Column("site_id", ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True),
)


#: Tables whose rows are erased or purged while their ids live on elsewhere (audit entries,
#: webhooks, notifications, API clients): on SQLite, without AUTOINCREMENT, a new row takes
#: the id after the largest one left, so the erased newest visit's id went to the next
#: visitor and the audit entries that named the one then named the other (migration 0028).
#: PostgreSQL's sequences never give an id twice.
NEVER_REUSED_IDS: dict[str, Any] = {"sqlite_autoincrement": True}


class Site(Base):
    """A reception: one building or office, with the privacy details its notice names."""

    __tablename__ = "sites"
    __table_args__ = (
        CheckConstraint("retention_days BETWEEN 1 AND 3650", name="retention_days_range"),
        CheckConstraint(
            "contact_retention_days IS NULL OR contact_retention_days BETWEEN 1 AND 3650",
            name="contact_retention_days_range",
        ),
        *(_field_mode_check(field) for field in KIOSK_FIELDS),
        CheckConstraint(_one_of("print_backend", PrintBackend), name="print_backend_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    #: IANA zone name; times are stored in UTC and shown in this zone.
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Stockholm")
    #: The kiosk starts in this language until a visitor picks another.
    default_locale: Mapped[str] = mapped_column(String(8), default="sv")
    #: Visitor data is erased this many days after check-out (GDPR storage limitation).
    retention_days: Mapped[int] = mapped_column(Integer, default=30)
    #: Email and phone (CONTACT_FIELDS) are erased this many days after check-out, sooner than
    #: the visit; None: together with the visit.
    contact_retention_days: Mapped[int | None] = mapped_column(Integer)
    #: The data controller as the notice names it (a company, not a person).
    controller_name: Mapped[str] = mapped_column(String(200))
    controller_contact: Mapped[str] = mapped_column(String(500))
    #: Data protection officer's contact; empty when the controller has none.
    dpo_contact: Mapped[str | None] = mapped_column(String(500))
    authority_name: Mapped[str] = mapped_column(
        String(200), default="Integritetsskyddsmyndigheten (IMY)"
    )
    authority_contact: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime]
    #: Kiosk form fields: hidden, optional or required (FieldMode).
    field_company: Mapped[str] = mapped_column(String(8), default=FieldMode.OPTIONAL)
    field_host: Mapped[str] = mapped_column(String(8), default=FieldMode.REQUIRED)
    field_purpose: Mapped[str] = mapped_column(String(8), default=FieldMode.OPTIONAL)
    field_email: Mapped[str] = mapped_column(String(8), default=FieldMode.HIDDEN)
    field_phone: Mapped[str] = mapped_column(String(8), default=FieldMode.HIDDEN)
    #: Local time (site timezone) at which visitors still on site are checked out; None: never.
    end_of_day: Mapped[time | None] = mapped_column(Time)
    #: Incoming-webhook URL (Slack, Teams, ...) told of each arrival; None: email only.
    webhook_url: Mapped[str | None] = mapped_column(String(500))
    #: A name from kiosk.badges.presets.PRESETS: the badge's page size and layout.
    badge_preset: Mapped[str] = mapped_column(String(32), default="brother-62x100")
    #: The "VISITOR" band's colour, ``#RRGGBB``.
    badge_band_colour: Mapped[str] = mapped_column(String(7), default="#0B5CAD")
    #: Printed on each badge when set: a PNG, checked and shrunk when it is configured.
    badge_logo: Mapped[bytes | None] = mapped_column(LargeBinary)
    #: A PrintBackend: the site's default; a kiosk device may choose its own.
    print_backend: Mapped[str] = mapped_column(String(16), default=PrintBackend.BROWSER)
    #: The CUPS queue the ``cups`` backend prints to.
    cups_printer: Mapped[str | None] = mapped_column(String(127))
    #: ``host[:port]`` of the Brother QL label printer the ``brother_ql`` backend prints to.
    ql_printer: Mapped[str | None] = mapped_column(String(127))
    #: The kiosk's welcome line per language code ({"sv": "...", "en": "..."}); a language
    #: without one shows a translated default.
    welcome_text: Mapped[dict[str, str] | None] = mapped_column(JSON)
    #: How many companions a visitor may add at the kiosk ("I am with others"); 0: no groups.
    #: Bounded by kiosk.services.groups.MAX_COMPANIONS_LIMIT. A server default, so inserts
    #: written for an older schema (migration tests) still work.
    max_companions: Mapped[int] = mapped_column(Integer, server_default="10")

    hosts: Mapped[list[Host]] = relationship(back_populates="site")
    #: Every type of visitor the site has had, retired ones too, in the kiosk's order.
    visitor_types: Mapped[list[VisitorType]] = relationship(
        back_populates="site", order_by="VisitorType.position, VisitorType.id"
    )

    @property
    def contact_days(self) -> int:
        """Days after check-out until email and phone are erased; never after the visit."""
        if self.contact_retention_days is None:
            return self.retention_days
        return min(self.contact_retention_days, self.retention_days)

    def field_mode(self, field: str) -> str:
        """How the kiosk asks for ``field`` at this site: hidden, optional or required."""
        if field not in KIOSK_FIELDS:
            raise KeyError(field)
        mode: str = getattr(self, f"field_{field}")
        return mode


class Host(Base):
    """An employee whom visitors come to see."""

    __tablename__ = "hosts"
    __table_args__ = (Index("ix_hosts_site_id_active", "site_id", "active"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="RESTRICT"))
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))
    #: Inactive hosts stay for the visits that name them but are no longer offered at the kiosk.
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    #: The language of the host's notifications; None: the site's default language.
    locale: Mapped[str | None] = mapped_column(String(8))

    site: Mapped[Site] = relationship(back_populates="hosts")


class VisitorType(Base):
    """A kind of visitor at a site (guest, contractor, ...): what the kiosk asks them, their
    badge band, whether their host is told, and how long their visits are kept.

    Settings left None follow the site's, so a site's one "Visitor" type behaves exactly as
    the site did before it had types (kiosk.services.visitor_types).
    """

    __tablename__ = "visitor_types"
    __table_args__ = (
        CheckConstraint(
            "retention_days IS NULL OR retention_days BETWEEN 1 AND 3650",
            name="retention_days_range",
        ),
        *(
            CheckConstraint(
                _one_of(f"field_{field}", FieldMode, nullable=True), name=f"field_{field}_mode"
            )
            for field in KIOSK_FIELDS
        ),
        Index("ix_visitor_types_site_id_position", "site_id", "position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    #: The kiosk shows the site's types in this order.
    position: Mapped[int] = mapped_column(Integer, default=0)
    #: A built-in type ("visitor", "guest", "contractor", "interview", "delivery") whose name
    #: and band label come translated from the catalogs; None for a type an admin made.
    key: Mapped[str | None] = mapped_column(String(16))
    #: The name per language code, where an admin renamed it ({"sv": "Hantverkare"}).
    names: Mapped[dict[str, str] | None] = mapped_column(JSON)
    #: The badge band's label per language code ({"en": "CONTRACTOR"}).
    band_labels: Mapped[dict[str, str] | None] = mapped_column(JSON)
    #: ``#RRGGBB``; None: the site's band colour.
    band_colour: Mapped[str | None] = mapped_column(String(7))
    #: Kiosk fields (FieldMode); None: the site's mode for that field.
    field_company: Mapped[str | None] = mapped_column(String(8))
    field_host: Mapped[str | None] = mapped_column(String(8))
    field_purpose: Mapped[str | None] = mapped_column(String(8))
    field_email: Mapped[str | None] = mapped_column(String(8))
    field_phone: Mapped[str | None] = mapped_column(String(8))
    #: Whether the host gets an email when one of these visitors arrives.
    notify_host: Mapped[bool] = mapped_column(Boolean, default=True)
    #: Days after check-out until these visits are erased; None: the site's. Never longer
    #: than the site's (:attr:`kept_days`).
    retention_days: Mapped[int | None] = mapped_column(Integer)
    #: A retired type is no longer offered; the visits of that type keep it.
    retired_at: Mapped[datetime | None]
    created_at: Mapped[datetime]

    site: Mapped[Site] = relationship(back_populates="visitor_types")
    #: The documents these visitors sign at the kiosk (kiosk.services.documents), in order.
    documents: Mapped[list[Document]] = relationship(
        secondary="visitor_type_documents", order_by="Document.id"
    )

    def field_mode(self, field: str) -> str:
        """How the kiosk asks this type for ``field``: the type's own mode, else the site's."""
        if field not in KIOSK_FIELDS:
            raise KeyError(field)
        mode: str | None = getattr(self, f"field_{field}")
        return mode if mode is not None else self.site.field_mode(field)

    @property
    def kept_days(self) -> int:
        """Days after check-out until these visits are erased: never after the site's."""
        if self.retention_days is None:
            return self.site.retention_days
        return min(self.retention_days, self.site.retention_days)

    @property
    def is_retired(self) -> bool:
        return self.retired_at is not None


class NoticeVersion(Base):
    """One version of a site's privacy notice in one language; immutable once published."""

    __tablename__ = "notice_versions"
    __table_args__ = (UniqueConstraint("site_id", "locale", "version"), NEVER_REUSED_IDS)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="RESTRICT"))
    locale: Mapped[str] = mapped_column(String(8))
    version: Mapped[int] = mapped_column(Integer)
    #: The full notice; ``{placeholders}`` are filled from the site's settings when shown.
    text: Mapped[str] = mapped_column(Text)
    #: The texts of the notice's elements as written in the dashboard's editor, from which
    #: ``text`` is composed (kiosk.services.notice_drafts); None for a text written whole.
    sections: Mapped[dict[str, str] | None] = mapped_column(JSON)
    #: None while a draft; once set the version is what visitors saw and never changes.
    published_at: Mapped[datetime | None]
    #: The kiosk's first layer as it was shown, recorded because the site had no notice of
    #: its own published (kiosk.services.first_layer); never offered as the full notice.
    generated: Mapped[bool] = mapped_column(Boolean, default=False)


class Visit(Base):
    """One visitor's stay at a site, from check-in to check-out."""

    __tablename__ = "visits"
    __table_args__ = (
        UniqueConstraint("site_id", "short_code"),
        # "On site now" reads the visits of a site that have no check-out yet.
        Index("ix_visits_site_id_checked_out_at", "site_id", "checked_out_at"),
        # Today's log and the history read a site's visits by check-in time, newest first;
        # the statistics count a site's kept visits per host and day from this index alone.
        Index(
            "ix_visits_site_id_checked_in_at",
            "site_id",
            "checked_in_at",
            "host_id",
            "checked_out_at",
        ),
        NEVER_REUSED_IDS,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="RESTRICT"))
    #: None when the visitor did not know whom they visit ("ask reception").
    host_id: Mapped[int | None] = mapped_column(ForeignKey("hosts.id", ondelete="SET NULL"))
    # Personal data, sealed (kiosk.sealing): the code reads and writes the plain attributes,
    # the database holds only the ``*_sealed`` ciphertext columns.
    visitor_name = Sealed[str]("visitor_name_sealed", legacy="legacy_visitor_name")
    company = Sealed[str | None]("company_sealed", legacy="legacy_company")
    email = Sealed[str | None]("email_sealed", legacy="legacy_email")
    phone = Sealed[str | None]("phone_sealed", legacy="legacy_phone")
    purpose = Sealed[str | None]("purpose_sealed", legacy="legacy_purpose")
    #: Random, set at the first write: binds each ciphertext to its row (associated data).
    row_key: Mapped[bytes | None] = mapped_column(LargeBinary(16))
    #: personal data. Its old value is loaded before it is set (``active_history``): the
    #: visit's old tokens are made from it when it is sealed again (kiosk.blind_index).
    visitor_name_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, active_history=True)
    company_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)  #: personal data
    email_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)  #: personal data
    phone_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)  #: personal data
    purpose_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)  #: personal data
    #: The plaintext columns of before sealing: empty ("" or NULL) in rows written sealed, read
    #: only for rows not sealed yet; a later migration drops them.
    legacy_visitor_name: Mapped[str] = mapped_column("visitor_name", String(200))
    legacy_company: Mapped[str | None] = mapped_column("company", String(200))
    legacy_email: Mapped[str | None] = mapped_column("email", String(254))
    legacy_phone: Mapped[str | None] = mapped_column("phone", String(40))
    legacy_purpose: Mapped[str | None] = mapped_column("purpose", String(200))
    #: Random, at least 128 bits, never derived from personal data: the badge QR carries it.
    badge_token: Mapped[str] = mapped_column(String(64), unique=True)
    #: Short code a person can type at check-out; unique among the site's kept visits.
    short_code: Mapped[str] = mapped_column(String(12))
    #: The language the visitor used; badges and messages to them use it too.
    locale: Mapped[str] = mapped_column(String(8))
    #: The notice version shown before check-in (accountability, GDPR Art. 5(2)).
    notice_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("notice_versions.id", ondelete="RESTRICT")
    )
    checked_in_at: Mapped[datetime]
    checked_out_at: Mapped[datetime | None]
    #: The kiosk the visitor registered at: its printer prints the badge and its reprints.
    kiosk_device_id: Mapped[int | None] = mapped_column(
        ForeignKey("kiosk_devices.id", ondelete="SET NULL")
    )
    #: What kind of visitor (None: the site had no types); types are retired, never deleted.
    visitor_type_id: Mapped[int | None] = mapped_column(
        ForeignKey("visitor_types.id", ondelete="RESTRICT"), index=True
    )
    #: The group this visitor checked in with ("I am with others"); None when alone.
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("visit_groups.id", ondelete="SET NULL"), index=True
    )

    site: Mapped[Site] = relationship()
    host: Mapped[Host | None] = relationship()
    visitor_type: Mapped[VisitorType | None] = relationship()
    group: Mapped[VisitGroup | None] = relationship()
    kiosk_device: Mapped[KioskDevice | None] = relationship()
    notice_version: Mapped[NoticeVersion | None] = relationship()


class VisitGroup(Base):
    """Visitors who checked in together at a kiosk: the first one and their companions.

    No personal data: the members are the visits that name it. Each member checks out on
    their own; the host was told once for the group (kiosk.checkin.check_in_group). The
    purge erases a group once none of its visits is left (kiosk.services.groups)."""

    __tablename__ = "visit_groups"
    __table_args__ = (NEVER_REUSED_IDS,)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    #: How many people checked in together (the first visitor included).
    size: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]


class VisitNameToken(Base):
    """A keyed token of a prefix of a word of a visit's name (kiosk.blind_index), so that
    reception's history search finds a visit by the start of any word of the name through an
    index, while the database holds no word of it.

    The visit's site and check-in time are copied here so that a search for a common prefix
    counts and orders its matches from the index alone, without reading each visit.

    The primary key is the one index, token first: a token starts with its key's erase day, so
    the purge deletes a passed day's tokens as one stretch of it
    (kiosk.services.name_index.delete_passed_tokens) instead of a visit's twenty tokens in
    twenty places of a second index. So there is no foreign key to the visit (deleting a visit
    would have to look for its tokens by visit): the code that deletes a visit or seals its
    name again deletes its tokens (kiosk.services.name_index.delete_visit_tokens, the flush
    listener below), and those of a destroyed key go with their day.
    """

    __tablename__ = "visit_name_tokens"
    # SQLite: the primary key is the table (no rowid tree to write and purge beside it).
    __table_args__ = ({"sqlite_with_rowid": False},)

    #: The erase day of the key sealing the visit's name, then the HMAC of a folded prefix
    #: under a key derived from it (kiosk.blind_index).
    token: Mapped[bytes] = mapped_column(TokenBytes(16), primary_key=True)
    #: The visit's (never changes).
    site_id: Mapped[int] = mapped_column(primary_key=True)
    #: The visit's (never changes).
    checked_in_at: Mapped[datetime] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)


class NameTokenDay(Base):
    """For each site and token day (the erase day of the key a visit's name tokens are made
    under: their first bytes), a time no visit indexed under that key checked in after
    (kiosk.blind_index.record_token_days). The history search reads the keys that can hold
    the newest visits first and stops once it has enough; a key with no row here may hold
    visits of any time and is read first. No personal data: a site, a day and an hour."""

    __tablename__ = "name_token_days"

    site_id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[bytes] = mapped_column(TokenBytes(2), primary_key=True)
    checked_in_until: Mapped[datetime]


class NameIndexBacklog(Base):
    """The visits an upgrade left without tokens (ids up to ``until``) and how far ``kiosk db
    upgrade`` has indexed them (kiosk.services.name_index); no row when there are none."""

    __tablename__ = "name_index_backlog"

    id: Mapped[int] = mapped_column(primary_key=True)
    indexed_through: Mapped[int] = mapped_column(default=0)
    until: Mapped[int]


@event.listens_for(Session, "after_flush")
def _index_visit_names(session: Session, _context: Any) -> None:
    """Write the name tokens of the visits this flush inserted, and write again those of the
    visits whose name was sealed anew (a rectified name, or a check-out, a retention change
    or the purge moving it under another day's key: the tokens follow the name's key).

    One multi-row INSERT after the visits have their ids, instead of a unit-of-work object
    per token: on the check-in path that is a good part of what a check-in costs the ORM.
    """
    rows: list[dict[str, Any]] = []
    previous: list[dict[str, Any]] = []
    unknown: list[int] = []
    for visit in session.new:
        if isinstance(visit, Visit):
            rows.extend(visit_token_rows(session, visit))
    for visit in session.dirty:
        if (
            isinstance(visit, Visit)
            and inspect(visit).attrs.visitor_name_sealed.history.has_changes()
        ):
            old = previous_token_rows(session, visit)
            if old is None:
                unknown.append(visit.id)
            else:
                previous.extend(old)
            rows.extend(visit_token_rows(session, visit))
    delete_token_rows(session, VisitNameToken.__table__, previous)
    if unknown:
        # The old value was not loaded (active_history on the column prevents it): by visit id.
        delete_tokens_by_visit_id(session, VisitNameToken.__table__, unknown)
    if rows:
        session.connection().execute(insert(VisitNameToken), rows)
        record_token_days(session, NameTokenDay.__table__, rows)


class KioskDevice(Base):
    """A browser at a reception that may register visitors for one site, once paired."""

    __tablename__ = "kiosk_devices"
    __table_args__ = (
        UniqueConstraint("site_id", "name"),
        CheckConstraint(
            _one_of("print_backend", PrintBackend, nullable=True), name="print_backend_known"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    #: SHA-256 of the one-time pairing code; None once used (or never issued).
    pairing_code_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    pairing_expires_at: Mapped[datetime | None]
    #: Random value inside the device's signed cookie; a new pairing replaces it, so an
    #: older cookie for the same device stops working.
    cookie_nonce: Mapped[str | None] = mapped_column(String(64))
    paired_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    #: A PrintBackend for this kiosk's badges; None: the site's setting.
    print_backend: Mapped[str | None] = mapped_column(String(16))
    #: The CUPS queue of this kiosk's ``cups`` backend (a printer beside this screen).
    cups_printer: Mapped[str | None] = mapped_column(String(127))
    #: ``host[:port]`` of this kiosk's ``brother_ql`` label printer.
    ql_printer: Mapped[str | None] = mapped_column(String(127))
    #: Whether the kiosk screens show their own on-screen keyboard; off for a kiosk with a
    #: hardware keyboard or a tablet that brings its own.
    on_screen_keyboard: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())

    site: Mapped[Site] = relationship()

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None


class Invitation(Base):
    """A visit registered in advance by staff; the visitor confirms it at the kiosk."""

    __tablename__ = "invitations"
    __table_args__ = (
        UniqueConstraint("site_id", "code"),
        Index("ix_invitations_site_id_expected_on", "site_id", "expected_on"),
        NEVER_REUSED_IDS,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="RESTRICT"))
    host_id: Mapped[int | None] = mapped_column(ForeignKey("hosts.id", ondelete="SET NULL"))
    # Personal data, sealed (kiosk.sealing).
    visitor_name = Sealed[str]("visitor_name_sealed", legacy="legacy_visitor_name")
    company = Sealed[str | None]("company_sealed", legacy="legacy_company")
    email = Sealed[str | None]("email_sealed", legacy="legacy_email")
    row_key: Mapped[bytes | None] = mapped_column(LargeBinary(16))
    visitor_name_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)  #: personal data
    company_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)  #: personal data
    email_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)  #: personal data
    #: Before sealing (see Visit).
    legacy_visitor_name: Mapped[str] = mapped_column("visitor_name", String(200))
    legacy_company: Mapped[str | None] = mapped_column("company", String(200))
    legacy_email: Mapped[str | None] = mapped_column("email", String(254))
    #: The day the visitor is expected, in the site's calendar.
    expected_on: Mapped[date] = mapped_column(Date)
    #: Random, at least 128 bits: the invitation QR carries it and nothing else.
    token: Mapped[str] = mapped_column(String(64), unique=True)
    #: Short code a person can type instead of scanning.
    code: Mapped[str] = mapped_column(String(12))
    #: The language the invitation was written in; the kiosk starts in it.
    locale: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime]
    #: The visit it turned into; set at check-in, after which the invitation is used up.
    visit_id: Mapped[int | None] = mapped_column(
        ForeignKey("visits.id", ondelete="SET NULL"), unique=True
    )
    cancelled_at: Mapped[datetime | None]
    #: What kind of visit reception expects (a type of the site); None: the kiosk asks the
    #: visitor when the site has several. Types are retired, not deleted; the reference
    #: only lets a type go without its invitations.
    visitor_type_id: Mapped[int | None] = mapped_column(
        ForeignKey("visitor_types.id", ondelete="SET NULL")
    )

    site: Mapped[Site] = relationship()
    host: Mapped[Host | None] = relationship()
    visitor_type: Mapped[VisitorType | None] = relationship()


class PrintJob(Base):
    """One attempt to print a visit's badge, and how it went. Holds no personal data."""

    __tablename__ = "print_jobs"
    __table_args__ = (
        CheckConstraint(_one_of("status", PrintStatus), name="status_known"),
        # "Failed prints" reads the newest job of each visit.
        Index("ix_print_jobs_visit_id_id", "visit_id", "id"),
        NEVER_REUSED_IDS,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Erasing a visit erases its print history with it.
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id", ondelete="CASCADE"))
    created_at: Mapped[datetime]
    #: "kiosk:<site id>" for the check-in's own print, "staff:<id>" for a reprint.
    requested_by: Mapped[str] = mapped_column(String(64))
    #: The backend used (a PrintBackend).
    backend: Mapped[str] = mapped_column(String(16))
    #: A PrintStatus: sent, failed (see ``error``), browser or download.
    status: Mapped[str] = mapped_column(String(16))
    #: The CUPS queue, or the label printer's ``host[:port]``.
    printer: Mapped[str | None] = mapped_column(String(127))
    #: The CUPS request id, e.g. "badges-42" (none for a label printer).
    cups_job: Mapped[str | None] = mapped_column(String(160))
    #: Why it failed, as a code (kiosk.badges.print_errors.PrintError.code), never a message.
    error: Mapped[str | None] = mapped_column(String(32))

    visit: Mapped[Visit] = relationship()


class Notification(Base):
    """An email or webhook call waiting in the outbox, sent outside the request that made it.

    The message is rendered when it is queued (in the reader's language) and erased once sent;
    rows go with their visit or invitation (ON DELETE CASCADE), so the purge reaches them.
    """

    __tablename__ = "notifications"
    __table_args__ = (
        CheckConstraint(_one_of("kind", NotificationKind), name="kind_known"),
        CheckConstraint(_one_of("status", NotificationStatus), name="status_known"),
        CheckConstraint(
            "visit_id IS NOT NULL OR invitation_id IS NOT NULL OR subscription_id IS NOT NULL",
            name="visit_invitation_or_subscription",
        ),
        # Senders look for due entries; the dashboard counts failed ones.
        Index("ix_notifications_status_next_attempt_at", "status", "next_attempt_at"),
        NEVER_REUSED_IDS,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    visit_id: Mapped[int | None] = mapped_column(
        ForeignKey("visits.id", ondelete="CASCADE"), index=True
    )
    invitation_id: Mapped[int | None] = mapped_column(
        ForeignKey("invitations.id", ondelete="CASCADE"), index=True
    )
    #: Whom it is about, for the dashboard; None when the host was deleted.
    host_id: Mapped[int | None] = mapped_column(ForeignKey("hosts.id", ondelete="SET NULL"))
    #: The webhook subscription an event call goes to (its URL and secret); deleting the
    #: subscription deletes what still waits for it.
    subscription_id: Mapped[int | None] = mapped_column(
        ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"), index=True
    )
    #: A NotificationKind.
    kind: Mapped[str] = mapped_column(String(20))
    #: A NotificationStatus: waiting (pending), claimed by a sender (sending), done or given up.
    status: Mapped[str] = mapped_column(String(10), default=NotificationStatus.PENDING)
    #: An email address (an invitation's is the visitor's) or a webhook URL; None once done.
    recipient = Sealed[str | None]("recipient_sealed", legacy="legacy_recipient")
    subject = Sealed[str | None]("subject_sealed", legacy="legacy_subject")
    #: The email's text or the webhook's JSON; None once sent or dismissed.
    body = Sealed[str | None]("body_sealed", legacy="legacy_body")
    row_key: Mapped[bytes | None] = mapped_column(LargeBinary(16))
    recipient_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)  #: personal data
    subject_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)  #: personal data
    body_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)  #: personal data
    #: Before sealing (see Visit).
    legacy_recipient: Mapped[str | None] = mapped_column("recipient", String(500))
    legacy_subject: Mapped[str | None] = mapped_column("subject", String(300))
    legacy_body: Mapped[str | None] = mapped_column("body", Text)
    #: Delivery attempts so far (a claim counts as one, so a crash mid-send is counted).
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: When a pending entry is due (retries back off).
    next_attempt_at: Mapped[datetime]
    #: When a sender claimed it; a claim far older than any send can take is given back.
    claimed_at: Mapped[datetime | None]
    #: Why the last attempt failed: an error class or code, never a server's message.
    last_error: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]

    site: Mapped[Site] = relationship()
    visit: Mapped[Visit | None] = relationship()
    invitation: Mapped[Invitation | None] = relationship()
    host: Mapped[Host | None] = relationship()
    subscription: Mapped[WebhookSubscription | None] = relationship()


class WebhookSubscription(Base):
    """A site's webhook: which events go to which URL, in which format, signed with its secret.

    Calls carry ids and times only, unless ``personal`` says the receiver may have the
    visitor's name and company too (it is then a recipient the privacy notice names).
    """

    __tablename__ = "webhook_subscriptions"
    __table_args__ = (
        CheckConstraint(_one_of("format", WebhookFormat), name="format_known"),
        NEVER_REUSED_IDS,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    #: What the receiver is, for people ("Security desk", "Facilities Teams channel").
    name: Mapped[str] = mapped_column(String(100))
    url: Mapped[str] = mapped_column(String(500))
    #: A WebhookFormat.
    format: Mapped[str] = mapped_column(String(16))
    #: The WebhookEvent values it is told of, space-separated.
    events: Mapped[str] = mapped_column(String(200))
    #: Whether calls carry the visitor's name and company.
    personal: Mapped[bool] = mapped_column(Boolean, default=False)
    #: The signing secret, ``whsec_`` and base64 (Standard Webhooks); shown once to the admin
    #: who made or renewed it, kept here because every call is signed with it.
    secret: Mapped[str] = mapped_column(String(80))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]

    site: Mapped[Site] = relationship()

    @property
    def event_list(self) -> list[str]:
        return self.events.split()


class StaffUser(Base):
    """A reception or admin account for the dashboard."""

    __tablename__ = "staff_users"
    __table_args__ = (CheckConstraint(_one_of("role", Role), name="role_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    #: argon2id hash, never the password.
    password_hash: Mapped[str] = mapped_column(String(255))
    #: A Role.
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    #: Part of the id the login session carries; bumped at logout and at every password
    #: change, so a copy of an older session cookie no longer logs anyone in.
    session_generation: Mapped[int] = mapped_column(default=0)
    #: The single sign-on provider's ``sub`` (subject) of a user who logs in through it; None
    #: for local accounts. An opaque id, never a name or an email address.
    sso_subject: Mapped[str | None] = mapped_column(String(255), unique=True, default=None)

    #: Sites a reception user serves; admins serve every site regardless.
    sites: Mapped[list[Site]] = relationship(secondary=staff_sites)

    # Flask-Login's user protocol.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return f"{self.id}:{self.session_generation}"

    def end_sessions(self) -> None:
        """Make every session of this user invalid (the caller commits)."""
        self.session_generation = (self.session_generation or 0) + 1

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def handles_requests(self) -> bool:
        """May answer data-subject requests and see the retention status."""
        return self.role in (Role.ADMIN, Role.PRIVACY)


class AuditEvent(Base):
    """Who did what to which record, and when. Never visitor personal data: ids only."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_occurred_at", "occurred_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime]
    #: "staff:<id>", "kiosk:<site id>", "cli" or "system".
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[str | None] = mapped_column(String(64))


api_token_sites = Table(
    "api_token_sites",
    Base.metadata,
    Column("api_token_id", ForeignKey("api_tokens.id", ondelete="CASCADE"), primary_key=True),
    Column("site_id", ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True),
)


class ApiToken(Base):
    """A client's key to the REST API (/api/v1/), made by an admin on the dashboard.

    The secret is shown once, when it is made; only its SHA-256 is kept. A token reaches the
    sites listed with it and nothing else.
    """

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: What the client is, e.g. "Facility system" (an organisation's tool, never a person).
    name: Mapped[str] = mapped_column(String(100))
    #: SHA-256 (hex) of the whole secret; the secret itself is never stored.
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: The secret's first characters, so an admin can tell which token a client holds.
    prefix: Mapped[str] = mapped_column(String(16))
    #: May change data (hosts, check-outs, invitations); without it the token only reads.
    can_write: Mapped[bool] = mapped_column(Boolean, default=False)
    #: May read visitors' personal fields (name, company, email, phone, purpose).
    personal_data: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]
    #: The admin who made it; None once that account is deleted.
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL")
    )
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    sites: Mapped[list[Site]] = relationship(secondary=api_token_sites, order_by="Site.name")

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def site_ids(self) -> frozenset[int]:
        return frozenset(site.id for site in self.sites)


class PurgeRun(Base):
    """One run of the retention purge: when, why and what it erased. No personal data."""

    __tablename__ = "purge_runs"
    __table_args__ = (
        CheckConstraint(_one_of("status", PurgeRunStatus), name="status_known"),
        Index("ix_purge_runs_started_at", "started_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    #: A PurgeRunStatus.
    status: Mapped[str] = mapped_column(String(16))
    #: What started it: "cli", "schedule" or "startup".
    trigger: Mapped[str] = mapped_column(String(16))
    #: The scheduled occurrence it serves ("daily:<UTC time>", "startup:<server id>"); unique,
    #: so each occurrence runs once across workers and machines. None for manual runs.
    slot: Mapped[str | None] = mapped_column(String(80), unique=True)
    #: The exception's class name when it failed; never its message, which can quote data.
    error: Mapped[str | None] = mapped_column(String(100))
    #: The data keys this run destroyed (hex key ids), before it deleted any row.
    destroyed_keys: Mapped[list[str] | None] = mapped_column(JSON)

    sites: Mapped[list[PurgeRunSite]] = relationship(
        back_populates="run", cascade="all, delete-orphan", order_by="PurgeRunSite.site_id"
    )
    #: The cutoff and count of each visitor type (kiosk.privacy.purge_types).
    types: Mapped[list[PurgeRunType]] = relationship(
        back_populates="run",
        cascade="all, delete-orphan",
        order_by="PurgeRunType.site_id, PurgeRunType.visitor_type_id",
    )

    @property
    def visits_erased(self) -> int:
        return sum(item.visits_erased for item in self.sites)


class PurgeRunSite(Base):
    """A purge run's cutoffs and counts for one site."""

    __tablename__ = "purge_run_sites"

    run_id: Mapped[int] = mapped_column(
        ForeignKey("purge_runs.id", ondelete="CASCADE"), primary_key=True
    )
    site_id: Mapped[int] = mapped_column(
        ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True
    )
    #: Visits that ended (check-out, else check-in) at or before this were erased.
    visit_cutoff: Mapped[datetime]
    #: Email and phone of visits that ended at or before this were erased.
    contact_cutoff: Mapped[datetime]
    #: Unused invitations expected before this day (the site's calendar) were erased.
    invitation_cutoff: Mapped[date] = mapped_column(Date)
    visits_erased: Mapped[int] = mapped_column(Integer, default=0)
    invitations_erased: Mapped[int] = mapped_column(Integer, default=0)
    #: Visits whose email and phone were erased ahead of the visit.
    contacts_erased: Mapped[int] = mapped_column(Integer, default=0)
    #: Signed documents erased at the end of their own retention period.
    documents_erased: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    run: Mapped[PurgeRun] = relationship(back_populates="sites")
    site: Mapped[Site] = relationship()


class PurgeRunType(Base):
    """A purge run's cutoff and count for one visitor type of a site: the evidence that a
    type kept for less time than its site was erased on its own, earlier, cutoff."""

    __tablename__ = "purge_run_types"

    run_id: Mapped[int] = mapped_column(
        ForeignKey("purge_runs.id", ondelete="CASCADE"), primary_key=True
    )
    visitor_type_id: Mapped[int] = mapped_column(
        ForeignKey("visitor_types.id", ondelete="CASCADE"), primary_key=True
    )
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    #: The days this type's visits were kept at the time of the run.
    kept_days: Mapped[int] = mapped_column(Integer)
    #: Visits of this type that ended at or before this were erased.
    visit_cutoff: Mapped[datetime]
    visits_erased: Mapped[int] = mapped_column(Integer, default=0)

    run: Mapped[PurgeRun] = relationship(back_populates="types")
    visitor_type: Mapped[VisitorType] = relationship()


class SiteDailyStats(Base):
    """Visits per site and day (the site's calendar), kept after the visits are erased."""

    __tablename__ = "site_daily_stats"

    site_id: Mapped[int] = mapped_column(
        ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    visits: Mapped[int] = mapped_column(Integer, default=0)
    #: Visits with a check-out; only these have a duration.
    checked_out: Mapped[int] = mapped_column(Integer, default=0)
    duration_seconds: Mapped[int] = mapped_column(BigInteger, default=0)


class HostDailyStats(Base):
    """Visits per host and day, kept after the visits are erased."""

    __tablename__ = "host_daily_stats"
    __table_args__ = (Index("ix_host_daily_stats_site_id_day", "site_id", "day"),)

    host_id: Mapped[int] = mapped_column(
        ForeignKey("hosts.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    visits: Mapped[int] = mapped_column(Integer, default=0)
    checked_out: Mapped[int] = mapped_column(Integer, default=0)
    duration_seconds: Mapped[int] = mapped_column(BigInteger, default=0)


#: The session item holding a staff user's current history search (kiosk.dashboard.visits):
#: its terms may be a visitor's name.
HISTORY_SEARCH = "history_search"


class SessionItem(Base):
    """State of one browser session that must not travel in its cookie: a kiosk visitor's
    details between the form and the notice, a staff member's history search terms.

    The cookie carries only ``token`` (random); the rows go at the reset, when the check-in
    is saved, at logout, and with the purge once older than their lifetime
    (kiosk.session_store)."""

    __tablename__ = "session_items"
    __table_args__ = (Index("ix_session_items_updated_at", "updated_at"),)

    #: Random, at least 128 bits; the only thing the session cookie holds of this row.
    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: What it holds, e.g. "pending_visit" or HISTORY_SEARCH.
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value = Sealed[dict[str, Any]]("value_sealed", legacy="legacy_value", json=True)
    updated_at: Mapped[datetime]
    row_key: Mapped[bytes | None] = mapped_column(LargeBinary(16))
    value_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)  #: personal data
    #: Before sealing (see Visit).
    legacy_value: Mapped[dict[str, Any]] = mapped_column("value", JSON)


visitor_type_documents = Table(
    "visitor_type_documents",
    Base.metadata,
    Column("visitor_type_id", ForeignKey("visitor_types.id", ondelete="CASCADE"), primary_key=True),
    Column("document_id", ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True),
)


class Document(Base):
    """A document a site's visitors sign at the kiosk (an NDA, house rules, a safety briefing),
    with its own retention: a signed NDA is often kept for years, a house-rules tick for days.

    Its text lives in versions per language (:class:`DocumentVersion`), frozen once published.
    """

    __tablename__ = "documents"
    __table_args__ = (
        CheckConstraint(_one_of("kind", DocumentKind), name="kind_known"),
        CheckConstraint(_one_of("acceptance", DocumentAcceptance), name="acceptance_known"),
        CheckConstraint("retention_days BETWEEN 1 AND 3650", name="retention_days_range"),
        CheckConstraint(
            "valid_days IS NULL OR valid_days BETWEEN 1 AND 3650", name="valid_days_range"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="RESTRICT"), index=True)
    #: For admins; the visitor sees each version's own title, in their language.
    title: Mapped[str] = mapped_column(String(200))
    #: A DocumentKind.
    kind: Mapped[str] = mapped_column(String(16))
    #: A DocumentAcceptance: a drawn signature or an "I accept" tick.
    acceptance: Mapped[str] = mapped_column(String(16))
    #: Days after signing until a signed copy is erased, whatever happens to the visit.
    retention_days: Mapped[int] = mapped_column(Integer)
    #: A visitor who signed the current version within this many days is not asked again
    #: (while the signed copy is kept); None: asked at every visit.
    valid_days: Mapped[int | None] = mapped_column(Integer)
    #: A retired document is no longer asked for; its signed copies keep their retention.
    retired_at: Mapped[datetime | None]
    created_at: Mapped[datetime]

    site: Mapped[Site] = relationship()

    @property
    def is_retired(self) -> bool:
        return self.retired_at is not None


class DocumentVersion(Base):
    """One version of a document in one language; immutable once published."""

    __tablename__ = "document_versions"
    __table_args__ = (UniqueConstraint("document_id", "locale", "version"), NEVER_REUSED_IDS)

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="RESTRICT"))
    locale: Mapped[str] = mapped_column(String(8))
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    #: The text; ``{name}``, ``{company}``, ``{host}`` and ``{date}`` are filled in for each
    #: visitor (kiosk.services.documents.fill_placeholders).
    text: Mapped[str] = mapped_column(Text)
    #: None while a draft; once set, the version is what visitors signed and never changes.
    published_at: Mapped[datetime | None]
    created_at: Mapped[datetime]

    document: Mapped[Document] = relationship()


class SignedDocument(Base):
    """A document a visitor signed (or ticked) at check-in, as a PDF.

    Kept for the document's own period (``erase_after``), independently of the visit: an NDA
    outlives the visit it was signed at, so erasing the visit only unlinks it (ON DELETE SET
    NULL) and the purge erases it when its own time comes (kiosk.privacy.purge). Erasure
    requests find it by the signer's name and email, stored here for that reason
    (kiosk.privacy.requests), and erase it explicitly.
    """

    __tablename__ = "signed_documents"
    __table_args__ = (
        Index("ix_signed_documents_erase_after", "erase_after"),
        Index("ix_signed_documents_site_id_document_id", "site_id", "document_id"),
        NEVER_REUSED_IDS,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="RESTRICT"))
    #: The visit it was signed at; None once that visit is erased (the document stays).
    visit_id: Mapped[int | None] = mapped_column(
        ForeignKey("visits.id", ondelete="SET NULL"), index=True
    )
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="RESTRICT"))
    document_version_id: Mapped[int] = mapped_column(
        ForeignKey("document_versions.id", ondelete="RESTRICT")
    )
    # Personal data, sealed (kiosk.sealing) under the key of the day the copy must be gone
    # (``erase_after``), not the visit's: an NDA outlives its visit.
    signer_name = Sealed[str]("signer_name_sealed", legacy="legacy_signer_name")
    signer_company = Sealed[str | None]("signer_company_sealed", legacy="legacy_signer_company")
    signer_email = Sealed[str | None]("signer_email_sealed", legacy="legacy_signer_email")
    #: The signed-document PDF: the text as signed, the version, the name, the signature.
    pdf = Sealed[bytes]("pdf_sealed", legacy="legacy_pdf", binary=True)
    #: Random, set at the first write: binds each ciphertext to its row (associated data).
    row_key: Mapped[bytes | None] = mapped_column(LargeBinary(16))
    signer_name_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)  #: personal data
    signer_company_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)  #: personal data
    signer_email_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)  #: personal data
    pdf_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)  #: personal data
    #: The plaintext columns of before sealing: empty in rows written sealed.
    legacy_signer_name: Mapped[str] = mapped_column("signer_name", String(200))
    legacy_signer_company: Mapped[str | None] = mapped_column("signer_company", String(200))
    legacy_signer_email: Mapped[str | None] = mapped_column("signer_email", String(254))
    legacy_pdf: Mapped[bytes] = mapped_column("pdf", LargeBinary)
    #: A DocumentAcceptance: how it was accepted.
    accepted_by: Mapped[str] = mapped_column(String(16))
    signed_at: Mapped[datetime]
    #: The purge erases it from this moment: ``signed_at`` plus the document's retention.
    erase_after: Mapped[datetime]

    site: Mapped[Site] = relationship()
    visit: Mapped[Visit | None] = relationship()
    document: Mapped[Document] = relationship()
    document_version: Mapped[DocumentVersion] = relationship()


class PublishedNoticeChanged(Exception):
    """Raised when code tries to change or delete a published notice version."""


@event.listens_for(Session, "before_flush")
def _protect_published_notices(session: Session, _context: Any, _instances: Any) -> None:
    """Published notice versions are evidence of what visitors saw: refuse to alter them."""
    for obj in list(session.dirty) + list(session.deleted):
        if not isinstance(obj, NoticeVersion | DocumentVersion):
            continue
        state: Any = inspect(obj)
        published_before = state.attrs.published_at.history.deleted or (
            [obj.published_at] if not state.attrs.published_at.history.has_changes() else []
        )
        if any(value is not None for value in published_before) and (
            obj in session.deleted or session.is_modified(obj)
        ):
            if isinstance(obj, DocumentVersion):
                raise PublishedDocumentChanged(f"document version {obj.id} is published")
            raise PublishedNoticeChanged(f"notice version {obj.id} is published")


class PublishedDocumentChanged(PublishedNoticeChanged):
    """Raised when code tries to change or delete a published document version."""


# --- Erase days: which key seals each row's personal fields (kiosk.sealing, docs/erasure.md).
# These mirror kiosk.privacy.rules (which the models cannot import): a value is sealed under
# the key of the site's calendar day at whose end it must be gone at the latest, so the purge,
# destroying the keys of days that have ended, never destroys one a kept row still needs.
# The purge also re-seals any row it keeps that is still under a key it is about to destroy.


def _site_of(session: Session, site_id: int, site: Site | None) -> Site | None:
    return site if site is not None else session.get(Site, site_id)


def _local_day(moment: datetime, site: Site) -> date:
    return moment.astimezone(ZoneInfo(site.timezone)).date()


def _kept_days(session: Session, site: Site, record: Visit | Invitation) -> int:
    """Its type's days (never more than its site's), else its site's (as
    kiosk.privacy.rules.kept_days, for a row whose type may not be loaded yet)."""
    visitor_type = record.visitor_type
    if visitor_type is None and record.visitor_type_id is not None:
        visitor_type = session.get(VisitorType, record.visitor_type_id)
    return visitor_type.kept_days if visitor_type is not None else site.retention_days


def visit_erase_days(session: Session, visit: Visit) -> dict[str, tuple[int, date]]:
    site = _site_of(session, visit.site_id, visit.site)
    if site is None:
        return {}
    kept = _kept_days(session, site, visit)
    ended = _local_day(visit.checked_out_at or visit.checked_in_at, site)
    return {
        "visit": (site.id, ended + timedelta(days=kept)),
        "contact": (site.id, ended + timedelta(days=min(site.contact_days, kept))),
    }


def invitation_erase_days(session: Session, invitation: Invitation) -> dict[str, tuple[int, date]]:
    if invitation.visit_id is not None:
        # A used invitation goes with its visit.
        visit = session.get(Visit, invitation.visit_id)
        if visit is not None:
            days = visit_erase_days(session, visit)
            return {"invitation": days["visit"], "contact": days["contact"]}
    site = _site_of(session, invitation.site_id, invitation.site)
    if site is None:
        return {}
    # The kind of visit reception said, if it did: kept no longer than its visit would be.
    kept = _kept_days(session, site, invitation)
    return {
        "invitation": (site.id, invitation.expected_on + timedelta(days=kept)),
        "contact": (site.id, invitation.expected_on + timedelta(days=min(site.contact_days, kept))),
    }


def notification_erase_days(
    session: Session, notification: Notification
) -> dict[str, tuple[int, date]]:
    """A notification lives no longer than what it is about, and goes with it."""
    if notification.visit_id is not None:
        visit = notification.visit or session.get(Visit, notification.visit_id)
        if visit is not None:
            return {"message": visit_erase_days(session, visit)["visit"]}
    if notification.invitation_id is not None:
        invitation = notification.invitation or session.get(Invitation, notification.invitation_id)
        if invitation is not None:
            return {"message": invitation_erase_days(session, invitation)["invitation"]}
    site = _site_of(session, notification.site_id, notification.site)
    if site is None:
        return {}
    return {
        "message": (
            site.id,
            _local_day(notification.created_at, site) + timedelta(days=site.retention_days),
        )
    }


#: Session state lives 12 hours at most (kiosk.session_store.LIFETIME); its key is the UTC day
#: after its last write, under no site.
SESSION_ITEM_KEPT = timedelta(days=1)


def session_item_erase_days(_session: Session, item: SessionItem) -> dict[str, tuple[int, date]]:
    return {"state": (NO_SITE, (item.updated_at + SESSION_ITEM_KEPT).astimezone(UTC).date())}


def signed_document_erase_days(
    session: Session, document: SignedDocument
) -> dict[str, tuple[int, date]]:
    """A signed copy is erased at its own ``erase_after``: its key is that moment's day."""
    site = _site_of(session, document.site_id, document.site)
    if site is None:
        return {}
    return {"document": (site.id, _local_day(document.erase_after, site))}


seal_model(
    Visit,
    groups={"visit": ("visitor_name", "company", "purpose"), "contact": CONTACT_FIELDS},
    erase_days=visit_erase_days,
    day_inputs=("checked_out_at", "checked_in_at", "visitor_type_id", "site_id"),
)
seal_model(
    Invitation,
    groups={"invitation": ("visitor_name", "company"), "contact": ("email",)},
    erase_days=invitation_erase_days,
    day_inputs=("visit_id", "expected_on", "site_id"),
)
seal_model(
    Notification,
    groups={"message": ("recipient", "subject", "body")},
    erase_days=notification_erase_days,
    day_inputs=("visit_id", "invitation_id"),
)
seal_model(
    SessionItem,
    groups={"state": ("value",)},
    erase_days=session_item_erase_days,
    day_inputs=("updated_at",),
)
seal_model(
    SignedDocument,
    groups={"document": ("signer_name", "signer_company", "signer_email", "pdf")},
    erase_days=signed_document_erase_days,
    day_inputs=("erase_after", "site_id"),
)
