"""Realistic Poliris listings, generated deterministically from a seed.

Used to write ``sample_feeds/``, the benchmarks' large feeds, the property-based
tests and the demo's second night. Rows are ``{rank: value}`` dicts; the
Poliris writer turns them into lines.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

# (postal code, city, latitude, longitude, street)
PLACES: tuple[tuple[str, str, float, float, str], ...] = (
    ("75011", "Paris", 48.8574, 2.3795, "rue Oberkampf"),
    ("75016", "Paris", 48.8637, 2.2769, "avenue Victor Hugo"),
    ("69003", "Lyon", 45.7597, 4.8500, "rue Paul Bert"),
    ("13008", "Marseille", 43.2370, 5.3810, "avenue du Prado"),
    ("33000", "Bordeaux", 44.8403, -0.5736, "rue Sainte-Catherine"),
    ("06400", "Cannes", 43.5513, 7.0128, "boulevard de la Croisette"),
    ("06250", "Mougins", 43.6001, 7.0007, "chemin de la Colle"),
    ("74400", "Chamonix-Mont-Blanc", 45.9237, 6.8694, "route des Pècles"),
    ("44000", "Nantes", 47.2184, -1.5536, "quai de la Fosse"),
    ("59000", "Lille", 50.6292, 3.0573, "rue Esquermoise"),
    ("31000", "Toulouse", 43.6047, 1.4442, "rue d'Alsace-Lorraine"),
    ("67000", "Strasbourg", 48.5734, 7.7521, "rue des Hallebardes"),
    ("40100", "Dax", 43.7102, -1.0534, "avenue Saint-Vincent-de-Paul"),
    ("92200", "Neuilly-sur-Seine", 48.8846, 2.2697, "boulevard Bineau"),
    ("83990", "Saint-Tropez", 43.2692, 6.6389, "route des Salins"),
    ("35000", "Rennes", 48.1173, -1.6778, "rue de Saint-Malo"),
)


@dataclass(frozen=True, slots=True)
class Profile:
    transaction: str
    property_type: str
    subtype: str
    price: tuple[int, int]
    area: tuple[int, int]
    rooms: tuple[int, int]
    publications: str = "SL"
    headline: str = "Bien"


PROFILES: tuple[Profile, ...] = (
    Profile("vente", "Appartement", "", (150_000, 900_000), (25, 140), (1, 5), headline="Appartement"),
    Profile("Vente", "Appartement", "Duplex", (300_000, 1_200_000), (60, 160), (3, 6), headline="Duplex"),
    Profile("vente", "maison/villa", "maison de ville", (180_000, 750_000), (70, 200), (3, 7), headline="Maison de ville"),
    Profile("vente", "maison/villa", "Maison provençale", (350_000, 1_500_000), (100, 250), (4, 8), headline="Mas provençal"),
    Profile("vente", "terrain", "", (40_000, 300_000), (0, 0), (0, 0), headline="Terrain constructible"),
    Profile("vente", "parking/box", "", (15_000, 60_000), (12, 25), (0, 0), headline="Box fermé"),
    Profile("vente", "loft/atelier/surface", "", (400_000, 1_400_000), (80, 220), (2, 5), headline="Loft"),
    Profile("vente", "immeuble", "", (900_000, 3_000_000), (300, 900), (8, 20), headline="Immeuble de rapport"),
    Profile("vente", "bureaux", "", (200_000, 2_000_000), (50, 600), (2, 12), headline="Bureaux"),
    Profile("vente", "bâtiment", "Entrepôt", (300_000, 2_500_000), (400, 3000), (0, 0), headline="Entrepôt"),
    Profile("viager", "Appartement", "", (80_000, 300_000), (30, 90), (1, 4), headline="Viager occupé"),
    Profile("produit d'investissement", "Appartement", "", (120_000, 400_000), (20, 70), (1, 3), headline="Investissement locatif"),
    Profile("Vente de prestige", "maison/villa", "villa", (1_500_000, 6_000_000), (200, 600), (6, 12), "SL,BD", "Villa d'architecte"),
    Profile("vente de prestige", "château", "", (900_000, 5_000_000), (400, 1500), (10, 30), "SL,BD", "Château"),
    Profile("vente de prestige", "hôtel particulier", "", (3_000_000, 12_000_000), (300, 900), (8, 20), "SL,BD", "Hôtel particulier"),
    Profile("location", "Appartement", "", (650, 3_500), (18, 120), (1, 5), headline="Appartement à louer"),
    Profile("Location", "maison/villa", "", (900, 4_500), (70, 220), (3, 7), headline="Maison à louer"),
    Profile("location vacances", "maison/villa", "Chalet", (900, 6_000), (60, 250), (3, 8), headline="Chalet"),
    Profile("location", "bureaux", "", (900, 25_000), (30, 800), (1, 20), headline="Bureaux à louer"),
    Profile("location", "local", "", (800, 9_000), (40, 400), (1, 4), headline="Local commercial"),
    Profile("location", "parking/box", "", (60, 250), (12, 25), (0, 0), headline="Place de parking"),
    Profile("cession de bail", "boutique", "", (30_000, 300_000), (25, 250), (1, 3), headline="Cession de bail"),
    Profile("vente-fonds-de-commerce", "entreprises", "", (60_000, 900_000), (40, 400), (1, 5), headline="Fonds de commerce"),
    Profile("produit catalogue", "modèle de maison", "maison landaise", (150_000, 320_000), (85, 160), (4, 7), "", "Modèle"),
    Profile("vente", "maison avec terrain", "", (190_000, 450_000), (80, 150), (4, 6), "", "Maison + terrain"),
    Profile("vente", "Appartement", "Programme", (190_000, 650_000), (35, 110), (1, 5), "", "Programme neuf"),
)

_ADJECTIVES = ("lumineux", "rénové", "calme", "traversant", "spacieux", "au dernier étage", "avec vue dégagée")
_SENTENCES = (
    "Au cœur du quartier, à deux pas des commerces, des écoles et des transports en commun.",
    "Belle hauteur sous plafond, parquet d'origine, moulures et cheminées décoratives.",
    "Séjour exposé sud, cuisine équipée ouverte, chambres sur cour au calme absolu.",
    "Salle de bains avec fenêtre, WC séparés, nombreux rangements et cave en sous-sol.",
    "Copropriété bien entretenue, ravalement récent, gardien et local à vélos.",
    "Jardin arboré sans vis-à-vis, terrasse plein sud et piscine chauffée.",
    "Prestations de qualité : double vitrage, volets roulants électriques, chauffage au sol.",
    "Idéal premier achat ou investissement locatif, rentabilité attractive.",
)


def _description(rng: random.Random, profile: Profile, area: int, short: bool) -> str:
    if short:
        return f"{profile.headline} de {area} m²."
    parts = [f"{profile.headline} {rng.choice(_ADJECTIVES)} de {area} m²."] + rng.sample(_SENTENCES, 3)
    return "<BR>".join(parts)


def listing(rng: random.Random, n: int, agency: str, profile: Profile | None = None) -> dict[int, str]:
    """One spec-valid Poliris row (ranks 1-334) for ``agency``."""
    profile = profile or rng.choice(PROFILES)
    cp, city, lat, lon, street = rng.choice(PLACES)
    price = rng.randrange(profile.price[0], profile.price[1] + 1, 10 if profile.price[1] < 10_000 else 1000)
    area = rng.randint(*profile.area) if profile.area[1] else 0
    rooms = rng.randint(*profile.rooms) if profile.rooms[1] else 0
    ref = f"{agency[:3].upper()}-{n:06d}"
    sale = profile.transaction.lower() not in ("location", "location vacances", "cession de bail")
    row: dict[int, str] = {
        1: agency, 2: ref, 3: profile.transaction, 4: profile.property_type, 5: cp, 6: city, 7: "France",
        8: f"{rng.randint(1, 180)} {street}", 11: str(price), 15: "4.5" if sale else str(rng.randint(300, 900)),
        16: str(area) if area else "", 18: str(rooms) if rooms else "", 19: str(max(rooms - 1, 0)) if rooms else "",
        20: f"{profile.headline} {city}"[:64],
        21: _description(rng, profile, area or rng.randint(300, 2000), short=False),
        82: profile.publications, 175: f"{agency}-{n:08d}", 181: profile.subtype,
        298: f"{lat + rng.uniform(-0.01, 0.01):.5f}", 299: f"{lon + rng.uniform(-0.01, 0.01):.5f}", 300: "1",
        301: "4.12",
    }
    for i in range(rng.randint(1, 12)):
        rank = (85 + i) if i < 9 else (164 + i - 9)
        row[rank] = f"https://photos.example-agence.fr/{agency}/{ref}/{i + 1}.jpg?v=20260{rng.randint(1, 9)}01"
        caption_rank = (94 + i) if i < 9 else (274 + i - 9)
        row[caption_rank] = rng.choice(("Séjour", "Cuisine", "Chambre", "Salle de bains", "Façade", "Jardin", ""))
    if profile.property_type.lower() in ("appartement", "maison/villa", "loft/atelier/surface"):
        row.update({24: str(rng.randint(0, 7)), 27: str(rng.randint(1880, 2024)), 29: "1", 31: "1",
                    33: rng.choice(("4736", "8320", "10368", "8704", "")), 34: str(rng.randint(1, 9)),
                    41: rng.choice(("OUI", "NON")), 42: rng.choice(("OUI", "NON", "")),
                    176: str(rng.randint(50, 400)), 177: rng.choice("ABCDEFG"), 178: str(rng.randint(2, 80)),
                    179: rng.choice("ABCDEFG"), 324: "14/02/2025", 325: "DPE_v07-2021", 326: "900", 327: "1300",
                    328: "2021"})
    if sale:
        row.update({302: "1", 303: str(round(price / 1.045))})
    else:
        row.update({23: str(rng.randint(20, 200)), 304: "2", 306: "150", 161: str(price)})
    if profile.transaction == "cession de bail":
        row[12] = str(rng.randint(900, 6000))
    if profile.transaction == "viager":
        row.update({185: str(price), 186: str(rng.randint(400, 1500)), 187: "78"})
    if profile.property_type == "modèle de maison":
        row.update({308: str(price), 309: str(price + 60_000), 310: str(area), 311: str(area + 40),
                    312: str(rooms), 314: str(max(rooms - 1, 1)), 322: "40,64,33", 323: f"Modèle {n}"})
    if profile.property_type == "maison avec terrain":
        row.update({295: str(price // 3), 296: str(price - price // 3), 17: str(rng.randint(400, 1200))})
    if profile.property_type == "terrain":
        row[17] = str(rng.randint(300, 5000))
    return row


def listings(count: int, *, agencies: tuple[str, ...] = ("agence-demo",), seed: int = 1) -> Iterator[dict[int, str]]:
    """``count`` rows spread over ``agencies``, every profile represented early on."""
    rng = random.Random(seed)
    for n in range(count):
        agency = agencies[n % len(agencies)]
        profile = PROFILES[n % len(PROFILES)] if n < len(PROFILES) * len(agencies) else None
        yield listing(rng, n + 1, agency, profile)
