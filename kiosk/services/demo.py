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

NOTICE_NB = """\
Slik behandler vi opplysningene om deg som besøkende

Behandlingsansvarlig er {controller_name} ({controller_contact}). Personvernombudet vårt treffer \
du på {dpo_contact}.

Formål: vi registrerer besøkende for å vite hvem som er i bygget, slik at vi kan ivareta \
sikkerheten til ansatte og gjester, beskytte lokalene og informasjonen her, og gjøre rede for \
alle ved en evakuering.

Behandlingsgrunnlag: berettiget interesse i adgangskontroll og sikkerhet (personvernforordningen \
artikkel 6 nr. 1 bokstav f). Vi har avveid denne interessen mot ditt personvern, og derfor \
registrerer vi bare det som trengs og sletter det raskt.

Opplysningene: navnet ditt og, hvis du oppgir dem, firma, hvem du besøker, formålet med \
besøket, e-post og telefon, samt når du sjekket inn og ut.

Mottakere: resepsjonen, personen du besøker (som får beskjed om at du er kommet) og ved behov \
vakter eller nødetater. Vi overfører ikke opplysningene til land utenfor EU/EØS.

Lagringstid: opplysningene slettes automatisk {retention_days} dager etter at du sjekket ut.

Rettighetene dine: du kan be om innsyn, retting, sletting eller begrensning av behandlingen. \
Spør i resepsjonen eller skriv til {controller_contact}.

Rett til å protestere: du kan når som helst protestere mot behandlingen av grunner som gjelder \
din særlige situasjon. Si ifra i resepsjonen, så vurderer vi protesten.

Klage: du kan klage til {authority_name} ({authority_contact}).

Må du registrere deg? Bare hvis du vil bevege deg fritt i bygget. Uten registrering ordner \
resepsjonen besøket, og noen følger deg.

Vi treffer ingen automatiserte avgjørelser om deg.
"""

NOTICE_DA = """\
Sådan behandler vi oplysninger om dig som besøgende

Dataansvarlig er {controller_name} ({controller_contact}). Vores databeskyttelsesrådgiver kan \
kontaktes på {dpo_contact}.

Formål: vi registrerer besøgende for at vide, hvem der er i bygningen. Det beskytter \
medarbejdere, gæster, lokalerne og oplysningerne her, og det gør det muligt at gøre rede for \
alle ved en evakuering.

Retsgrundlag: vores legitime interesse i adgangskontrol og sikkerhed \
(databeskyttelsesforordningens artikel 6, stk. 1, litra f). Vi har afvejet interessen mod dit \
privatliv og registrerer derfor kun det nødvendige og sletter det hurtigt.

Oplysningerne: dit navn og, hvis du udfylder dem, firma, hvem du besøger, formålet med besøget, \
e-mail og telefonnummer samt hvornår du tjekkede ind og ud.

Modtagere: receptionen, den du besøger (som får besked om din ankomst) og om nødvendigt \
sikkerhedspersonale eller redningsberedskab. Oplysningerne overføres ikke til lande uden for \
EU/EØS.

Opbevaring: oplysningerne slettes automatisk {retention_days} dage efter, at du har tjekket ud.

Dine rettigheder: du kan få indsigt i oplysningerne, få dem berigtiget eller slettet og få \
behandlingen begrænset. Spørg i receptionen eller skriv til {controller_contact}.

Ret til indsigelse: du kan til enhver tid gøre indsigelse mod behandlingen af grunde, der \
vedrører din særlige situation. Sig det i receptionen, så behandler vi indsigelsen.

Klage: du kan klage til {authority_name} ({authority_contact}).

Skal du registreres? Kun hvis du vil færdes frit i bygningen. Uden registrering arrangerer \
receptionen dit besøg, og nogen følger dig.

Vi træffer ingen automatiske afgørelser om dig.
"""

NOTICE_FI = """\
Näin käsittelemme kävijän tietoja

Rekisterinpitäjä on {controller_name} ({controller_contact}). Tietosuojavastaavamme tavoitat \
osoitteesta {dpo_contact}.

Tarkoitus: rekisteröimme kävijät, jotta tiedämme, keitä rakennuksessa on. Se suojaa \
henkilökuntaa, vieraita, tiloja ja täällä olevaa tietoa, ja sen avulla kaikki voidaan laskea \
evakuoinnin aikana.

Oikeusperuste: oikeutettu etumme kulunvalvontaan ja turvallisuuteen (tietosuoja-asetuksen 6 \
artiklan 1 kohdan f alakohta). Olemme punninneet etua yksityisyyttäsi vasten, joten tallennamme \
vain tarpeellisen ja poistamme sen pian.

Tiedot: nimesi sekä, jos annat ne, yrityksesi, kenen luona vierailet, käynnin tarkoitus, \
sähköposti ja puhelinnumero sekä sisään- ja uloskirjautumisen ajat.

Vastaanottajat: vastaanotto, henkilö, jonka luona vierailet (hän saa tiedon saapumisestasi), ja \
tarvittaessa vartijat tai pelastusviranomaiset. Tietoja ei siirretä EU:n/ETA:n ulkopuolelle.

Säilytysaika: tiedot poistetaan automaattisesti {retention_days} päivän kuluttua \
uloskirjautumisesta.

Oikeutesi: voit pyytää pääsyä tietoihisi, niiden oikaisemista tai poistamista sekä käsittelyn \
rajoittamista. Kysy vastaanotosta tai kirjoita osoitteeseen {controller_contact}.

Vastustamisoikeus: voit milloin tahansa vastustaa käsittelyä erityiseen tilanteeseesi liittyvällä \
perusteella. Kerro siitä vastaanotossa, niin arvioimme vastustuksesi.

Valitus: voit tehdä valituksen valvontaviranomaiselle {authority_name} ({authority_contact}).

Onko rekisteröityminen pakollista? Vain jos haluat liikkua rakennuksessa itsenäisesti. Ilman \
rekisteröitymistä vastaanotto järjestää käyntisi ja joku saattaa sinua.

Emme tee sinusta automaattisia päätöksiä.
"""

NOTICE_DE = """\
So verarbeiten wir Ihre Daten als Besucherin oder Besucher

Verantwortlich ist {controller_name} ({controller_contact}). Unseren Datenschutzbeauftragten \
erreichen Sie unter {dpo_contact}.

Zweck: Wir erfassen Besuchende, um zu wissen, wer sich im Gebäude aufhält. Das schützt \
Beschäftigte, Gäste, die Räume und die Informationen hier, und im Notfall können wir alle \
Personen erfassen.

Rechtsgrundlage: unser berechtigtes Interesse an Zutrittskontrolle und Sicherheit (Art. 6 Abs. 1 \
lit. f DSGVO). Wir haben dieses Interesse gegen Ihre Privatsphäre abgewogen; deshalb erfassen wir \
nur das Nötige und löschen es bald.

Die Daten: Ihr Name und, wenn Sie sie angeben, Firma, wen Sie besuchen, Zweck des Besuchs, \
E-Mail und Telefonnummer sowie die Zeiten Ihrer An- und Abmeldung.

Empfänger: der Empfang, die Person, die Sie besuchen (sie erfährt von Ihrer Ankunft), und bei \
Bedarf Sicherheitsdienst oder Rettungskräfte. Eine Übermittlung in Länder außerhalb der EU/des \
EWR findet nicht statt.

Speicherdauer: Ihre Daten werden {retention_days} Tage nach Ihrer Abmeldung automatisch gelöscht.

Ihre Rechte: Sie können Auskunft, Berichtigung, Löschung und Einschränkung der Verarbeitung \
verlangen. Fragen Sie am Empfang oder schreiben Sie an {controller_contact}.

Widerspruchsrecht: Sie können der Verarbeitung jederzeit aus Gründen widersprechen, die sich aus \
Ihrer besonderen Situation ergeben. Sagen Sie es am Empfang; wir prüfen Ihren Widerspruch.

Beschwerde: Sie können sich bei {authority_name} ({authority_contact}) beschweren.

Müssen Sie sich anmelden? Nur, wenn Sie sich allein im Gebäude bewegen möchten. Ohne Anmeldung \
organisiert der Empfang Ihren Besuch, und jemand begleitet Sie.

Wir treffen keine automatisierten Entscheidungen über Sie.
"""

DEMO_NOTICES = {
    "sv": NOTICE_SV,
    "en": NOTICE_EN,
    "nb": NOTICE_NB,
    "da": NOTICE_DA,
    "fi": NOTICE_FI,
    "de": NOTICE_DE,
}


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
