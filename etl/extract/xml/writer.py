"""Deterministic XML feeds of each dialect, for samples, tests and benchmarks (never for production).

``records(dialect, count, seed)`` gives one record's XML text at a time and ``write_feed`` wraps
them in the dialect's root, streaming, so a feed of any size is written in flat memory. Every
generated record is valid for its mapping; tests add their quirky records by hand.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final, TextIO
from xml.sax.saxutils import escape

from etl.feedgen import PLACES

DIALECTS: Final = ("kyero", "ubiflow", "trovit")
_HEADS: Final = {
    "kyero": '<?xml version="1.0" encoding="{enc}"?>\n<root>\n<kyero><feed_version>3</feed_version></kyero>\n',
    "ubiflow": '<?xml version="1.0" encoding="{enc}"?>\n<flux>\n<client reference="agence-demo">\n',
    "trovit": '<?xml version="1.0" encoding="{enc}"?>\n<trovit>\n',
}
_TAILS: Final = {"kyero": "</root>\n", "ubiflow": "</client>\n</flux>\n", "trovit": "</trovit>\n"}
_TEXT: Final = ("Au cœur du quartier, à deux pas des commerces, des écoles et des transports en commun. "
                "Séjour exposé sud, cuisine équipée ouverte, chambres au calme absolu. "
                "Jardin arboré sans vis-à-vis, terrasse plein sud et piscine chauffée.")
_KINDS: Final = (("Apartment", "1100", "flat"), ("Villa", "1200", "house"), ("Town House", "1200", "house"),
                 ("Land", "1300", "land"))


def head(dialect: str, encoding: str = "UTF-8") -> str:
    return _HEADS[dialect].format(enc=encoding)


def tail(dialect: str) -> str:
    return _TAILS[dialect]


def records(dialect: str, count: int, seed: int = 7) -> Iterator[str]:
    rng = random.Random(seed)
    make = {"kyero": _kyero, "ubiflow": _ubiflow, "trovit": _trovit}[dialect]
    for n in range(1, count + 1):
        yield make(rng, n)


def write_feed(path: Path, dialect: str, count: int, *, seed: int = 7, extra: Iterable[str] = (),
               encoding: str = "utf-8") -> Path:
    """A whole feed: ``count`` generated records then the ``extra`` ones (XML text, as written)."""
    with open(path, "w", encoding=encoding, newline="\n") as out:
        write_stream(out, dialect, count, seed=seed, extra=extra, encoding=encoding)
    return path


def write_stream(out: TextIO, dialect: str, count: int, *, seed: int = 7, extra: Iterable[str] = (),
                 encoding: str = "utf-8") -> None:
    out.write(head(dialect, encoding.upper()))
    for record in records(dialect, count, seed):
        out.write(record)
    for record in extra:
        out.write(record)
    out.write(tail(dialect))


@dataclass(frozen=True, slots=True)
class _Listing:
    """What every dialect's generated record says, drawn once from the seed."""

    cp: str
    city: str
    lat: float
    lon: float
    street: str
    kind: tuple[str, str, str]  # (Kyero type, Ubiflow code, Trovit type)
    rent: bool
    price: int

    @classmethod
    def draw(cls, rng: random.Random) -> _Listing:
        cp, city, lat, lon, street = rng.choice(PLACES)
        kind = rng.choice(_KINDS)
        rent = rng.random() < 0.25
        price = rng.randint(600, 4000) if rent else rng.randrange(120_000, 2_000_000, 1000)
        return cls(cp, city, lat + rng.uniform(-0.01, 0.01), lon + rng.uniform(-0.01, 0.01), street, kind, rent, price)


def _kyero(rng: random.Random, n: int) -> str:
    it = _Listing.draw(rng)
    cp, city, lat, lon, kind, rent, price = it.cp, it.city, it.lat, it.lon, it.kind[0], it.rent, it.price
    images = "".join(f'<image id="{i}"><url>https://photos.example-agence.fr/k/{n}/{i}.jpg</url>'
                     f"<title><fr>Vue {i}</fr><en>View {i}</en></title></image>"
                     for i in range(1, rng.randint(2, 8)))
    built = "" if kind == "Land" else f"<built>{rng.randint(30, 300)}</built>"
    return (f"<property><id>{n}</id><date>2026-11-0{rng.randint(1, 9)} 10:00:00</date><ref>K-{n:06d}</ref>"
            f"<price>{price}</price><currency>EUR</currency><price_freq>{'month' if rent else 'sale'}</price_freq>"
            f"<new_build>0</new_build><type>{kind}</type><town>{escape(city)}</town><province>Alpes-Maritimes</province>"
            f"<country>France</country><postcode>{cp}</postcode>"
            f"<location><latitude>{lat:.5f}</latitude><longitude>{lon:.5f}</longitude></location>"
            f"<beds>{rng.randint(1, 5)}</beds><baths>{rng.randint(1, 3)}</baths><pool>{rng.randint(0, 1)}</pool>"
            f"<surface_area>{built}<plot>{rng.randint(0, 2000)}</plot></surface_area>"
            f"<energy_rating><consumption>{rng.choice('BCDEF')}</consumption><emissions>{rng.choice('BCDEF')}</emissions></energy_rating>"
            f"<desc><fr>{escape(_TEXT)}</fr><en>Bright home close to shops and schools, south-facing garden.</en></desc>"
            f"<features><feature>Garden</feature><feature>Terrace</feature></features>"
            f"<images>{images}</images></property>\n")


def _ubiflow(rng: random.Random, n: int) -> str:
    it = _Listing.draw(rng)
    cp, city, code, rent, price = it.cp, it.city, it.kind[1], it.rent, it.price
    photos = "".join(f'<photo ordre="{i}">https://photos.example-agence.fr/u/{n}/{i}.jpg</photo>'
                     for i in range(1, rng.randint(2, 8)))
    surface = "" if code == "1300" else f"<surface>{rng.randint(30, 300)}</surface>"
    price_xml = f"<loyer_mensuel_cc>{price}</loyer_mensuel_cc>" if rent else f"<prix>{price}</prix>"
    return (f'<annonce id="U{n}"><reference>U-{n:06d}</reference><titre>Bien {n} à {escape(city)}</titre>'
            f"<texte>{escape(_TEXT)}</texte><contact_a_afficher>Agence Démo</contact_a_afficher>"
            f"<email_a_afficher>contact@agence-demo.fr</email_a_afficher>"
            f"<telephone_a_afficher>04 93 00 00 00</telephone_a_afficher><photos>{photos}</photos>"
            f"<bien><code_type>{code}</code_type><code_postal>{cp}</code_postal><ville>{escape(city)}</ville>"
            f"{surface}<nb_pieces_logement>{rng.randint(1, 6)}</nb_pieces_logement>"
            f"<nombre_de_chambres>{rng.randint(0, 4)}</nombre_de_chambres>"
            f"<annee_construction>{rng.randint(1900, 2024)}</annee_construction></bien>"
            f"<prestation><type>{'L' if rent else 'V'}</type>{price_xml}</prestation>"
            f"<diagnostiques><dpe_etiquette_conso>{rng.choice('BCDEF')}</dpe_etiquette_conso>"
            f"<dpe_valeur_conso>{rng.randint(60, 350)}</dpe_valeur_conso>"
            f"<dpe_etiquette_ges>{rng.choice('BCDEF')}</dpe_etiquette_ges>"
            f"<dpe_valeur_ges>{rng.randint(5, 70)}</dpe_valeur_ges></diagnostiques></annonce>\n")


def _trovit(rng: random.Random, n: int) -> str:
    it = _Listing.draw(rng)
    cp, city, lat, lon, street, kind, rent, price = it.cp, it.city, it.lat, it.lon, it.street, it.kind[2], it.rent, it.price
    pictures = "".join(f"<picture><picture_url><![CDATA[https://photos.example-agence.fr/t/{n}/{i}.jpg]]></picture_url>"
                       f"<picture_title><![CDATA[Photo {i}]]></picture_title></picture>"
                       for i in range(1, rng.randint(2, 8)))
    area = "" if kind == "land" else f'<floor_area unit="meters"><![CDATA[{rng.randint(30, 300)}]]></floor_area>'
    period = ' period="monthly"' if rent else ""
    return (f"<ad><id><![CDATA[T{n}]]></id><url><![CDATA[https://www.agence-demo.fr/annonce/{n}]]></url>"
            f"<title><![CDATA[Bien {n} à {city}]]></title><type><![CDATA[{'For rent' if rent else 'For sale'}]]></type>"
            f"<content><![CDATA[<p>{_TEXT}</p>]]></content><price{period}><![CDATA[{price}]]></price>"
            f"<property_type><![CDATA[{kind}]]></property_type><address><![CDATA[{rng.randint(1, 99)} {street}]]></address>"
            f"<city><![CDATA[{city}]]></city><postcode><![CDATA[{cp}]]></postcode><region><![CDATA[France]]></region>"
            f"<latitude><![CDATA[{lat:.5f}]]></latitude><longitude><![CDATA[{lon:.5f}]]></longitude>{area}"
            f"<rooms><![CDATA[{rng.randint(1, 6)}]]></rooms><bathrooms><![CDATA[{rng.randint(1, 3)}]]></bathrooms>"
            f"<is_furnished><![CDATA[0]]></is_furnished><is_new><![CDATA[0]]></is_new>"
            f"<pictures>{pictures}</pictures><date><![CDATA[2026/11/0{rng.randint(1, 9)}]]></date>"
            f"<agency><![CDATA[Agence Démo]]></agency></ad>\n")
