"""Demo data: one site with its privacy details, a few hosts, notices and an admin."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.enums import Role
from kiosk.models import Host, KioskDevice, NoticeVersion, Site
from kiosk.services.kiosks import create_device, issue_pairing_code
from kiosk.services.notices import publish_notice
from kiosk.services.staff import create_staff_user, find_staff_user, set_password

DEMO_SITE = "Demo Office"
DEMO_ADMIN = "admin"
DEMO_KIOSK = "Reception kiosk"
DEMO_HOSTS = (
    ("Astrid Lindqvist", "astrid.lindqvist@example.com"),
    ("Johan Berg", "johan.berg@example.com"),
    ("Maria Nilsson", "maria.nilsson@example.com"),
    ("Erik Holm", "erik.holm@example.com"),
    ("Sara Ek", "sara.ek@example.com"),
)

NOTICE_SV = """\
Så hanterar vi uppgifterna om dig som besökare

Personuppgiftsansvarig är {controller_name} ({controller_contact}). Vårt dataskyddsombud når du på \
{dpo_contact}.

Varför vi registrerar dig: vi behöver veta vilka som befinner sig i huset. Det skyddar våra \
medarbetare, dig och andra gäster, våra lokaler och den information som finns här, och det gör att \
vi kan räkna in alla om huset måste utrymmas.

Rättslig grund: vårt berättigade intresse av passerkontroll och säkerhet (artikel 6.1 f i \
dataskyddsförordningen). Vi har vägt det intresset mot din integritet och begränsar därför \
registreringen till det nödvändiga och raderar den snart.

Uppgifter vi sparar: ditt namn och, om du fyller i dem, företag, vem du besöker, ärende, \
e-post och telefonnummer, samt när du checkade in och ut.

Vem som ser uppgifterna: receptionen, personen du besöker (som får veta att du har kommit) och vid \
behov säkerhetspersonal eller räddningstjänst. Ingenting skickas till länder utanför EU/EES.

Hur länge: uppgifterna raderas automatiskt {retention_days} dagar efter att du checkat ut.

Dina rättigheter: du kan få veta vilka uppgifter vi har om dig, få dem rättade eller raderade och \
begära att behandlingen begränsas. Fråga i receptionen eller skriv till {controller_contact}.

Rätt att invända: du kan när som helst invända mot behandlingen av skäl som gäller din särskilda \
situation. Säg till i receptionen så prövar vi din invändning.

Klagomål: är du missnöjd med hur vi hanterar dina uppgifter kan du vända dig till \
{authority_name} ({authority_contact}).

Måste du registrera dig? För att röra dig i huset på egen hand, ja. Vill du inte registrera dig, \
vänd dig till receptionen: då följer någon med dig under besöket.

Vi fattar inga automatiserade beslut om dig.
"""

NOTICE_EN = """\
How we handle your details as a visitor

The controller is {controller_name} ({controller_contact}). You can reach our data protection \
officer at {dpo_contact}.

Why we register you: we need to know who is in the building. That protects our staff, you and \
other guests, our premises and the information kept here, and it lets us account for everyone \
if the building has to be evacuated.

Legal basis: our legitimate interest in access control and security (Article 6(1)(f) GDPR). We \
have weighed that interest against your privacy, which is why we record only what is needed and \
delete it soon.

What we keep: your name and, if you enter them, your company, whom you visit, the purpose of the \
visit, your email and phone number, and when you checked in and out.

Who sees it: reception, the person you visit (who is told that you have arrived) and, when \
needed, security staff or the emergency services. Nothing is sent outside the EU/EEA.

How long: your details are deleted automatically {retention_days} days after you check out.

Your rights: you can find out what we hold about you, have it corrected or deleted, and ask us to \
restrict its use. Ask at reception or write to {controller_contact}.

Right to object: you may object at any time, on grounds relating to your particular situation. \
Tell reception and we will consider your objection.

Complaints: if you are unhappy with how we handle your details, you can turn to \
{authority_name} ({authority_contact}).

Do you have to register? To move around the building on your own, yes. If you would rather not \
register, ask at reception: someone will then accompany you during your visit.

We make no automated decisions about you.
"""

DEMO_NOTICES = {"sv": NOTICE_SV, "en": NOTICE_EN}


@dataclass(frozen=True)
class DemoResult:
    """What ``seed_demo`` did; ``admin_password`` is set only when it was (re)generated."""

    site_created: bool
    admin_password: str | None
    #: A fresh one-time code while the demo kiosk is not paired; None once it is.
    pairing_code: str | None = None


def seed_demo(session: Session, *, now: datetime, reset_password: bool = False) -> DemoResult:
    """Create the demo site, hosts, notices and admin; running it again changes nothing."""
    site = session.scalar(select(Site).where(Site.name == DEMO_SITE))
    site_created = site is None
    if site is None:
        site = Site(
            name=DEMO_SITE,
            timezone="Europe/Stockholm",
            default_locale="sv",
            retention_days=30,
            controller_name="Example Company AB",
            controller_contact="Exempelgatan 1, 111 22 Stockholm, privacy@example.com",
            dpo_contact="dpo@example.com",
            authority_name="Integritetsskyddsmyndigheten (IMY)",
            authority_contact="www.imy.se, imy@imy.se",
            created_at=now,
        )
        session.add(site)
        session.add_all(Host(site=site, name=name, email=email) for name, email in DEMO_HOSTS)
        session.flush()
    for locale, text in DEMO_NOTICES.items():
        published = session.scalar(
            select(NoticeVersion.id).where(
                NoticeVersion.site_id == site.id, NoticeVersion.locale == locale
            )
        )
        if published is None:
            publish_notice(session, site, locale, text, now=now)

    password: str | None = None
    admin = find_staff_user(session, DEMO_ADMIN)
    if admin is None:
        password = secrets.token_urlsafe(12)
        create_staff_user(session, username=DEMO_ADMIN, password=password, role=Role.ADMIN, now=now)
    elif reset_password:
        password = secrets.token_urlsafe(12)
        set_password(admin, password)
    device = session.scalar(
        select(KioskDevice).where(KioskDevice.site_id == site.id, KioskDevice.name == DEMO_KIOSK)
    )
    pairing_code: str | None = None
    if device is None:
        device, pairing_code = create_device(session, site, DEMO_KIOSK, now=now)
    elif device.cookie_nonce is None:
        pairing_code = issue_pairing_code(device, now=now)
    return DemoResult(site_created=site_created, admin_password=password, pairing_code=pairing_code)
