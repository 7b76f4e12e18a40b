"""Where a French postcode's département is: enough to tell a real GPS point from a placeholder.

Each département is a circle: an approximate geographic centre (0.05° ≈ 5 km precision) and a
radius reaching its farthest corner, compiled once by hand from the IGN outlines and kept here
so the converter needs no data file. It only has to catch gross errors (a Riviera listing placed
550 km west, ``0.0`` written for a missing coordinate): a point more than ``SLACK_KM`` beyond the
circle is not sent. ``tests/test_mapping_fidelity.py`` checks the prefecture of every
département falls inside its own circle.
"""

from __future__ import annotations

import math
from functools import lru_cache

SLACK_KM = 50.0

# code → (latitude, longitude, radius km)
DEPARTMENTS: dict[str, tuple[float, float, float]] = {
    "01": (46.10, 5.35, 60), "02": (49.55, 3.55, 80), "03": (46.40, 3.20, 70), "04": (44.10, 6.25, 75),
    "05": (44.65, 6.30, 70), "06": (43.95, 7.15, 60), "07": (44.75, 4.45, 75), "08": (49.60, 4.65, 70),
    "09": (42.95, 1.50, 65), "10": (48.30, 4.15, 65), "11": (43.10, 2.40, 75), "12": (44.30, 2.65, 80),
    "13": (43.55, 5.10, 65), "14": (49.10, -0.35, 70), "15": (45.05, 2.65, 60), "16": (45.70, 0.20, 70),
    "17": (45.75, -0.70, 95), "18": (47.05, 2.50, 75), "19": (45.35, 1.90, 60), "2A": (41.85, 8.95, 75),
    "2B": (42.40, 9.20, 80), "21": (47.45, 4.75, 85), "22": (48.45, -2.85, 80), "23": (46.10, 2.00, 55),
    "24": (45.10, 0.75, 80), "25": (47.15, 6.35, 75), "26": (44.70, 5.15, 85), "27": (49.10, 1.00, 75),
    "28": (48.40, 1.35, 70), "29": (48.25, -4.05, 85), "30": (43.95, 4.20, 80), "31": (43.35, 1.20, 110),
    "32": (43.70, 0.45, 70), "33": (44.85, -0.60, 105), "34": (43.60, 3.40, 85), "35": (48.15, -1.65, 75),
    "36": (46.80, 1.60, 70), "37": (47.25, 0.70, 70), "38": (45.25, 5.55, 90), "39": (46.75, 5.70, 75),
    "40": (44.00, -0.80, 90), "41": (47.60, 1.40, 80), "42": (45.75, 4.15, 80), "43": (45.10, 3.80, 70),
    "44": (47.35, -1.70, 85), "45": (47.90, 2.35, 80), "46": (44.60, 1.60, 70), "47": (44.35, 0.45, 70),
    "48": (44.55, 3.50, 60), "49": (47.40, -0.55, 80), "50": (49.10, -1.30, 100), "51": (48.95, 4.25, 80),
    "52": (48.10, 5.20, 80), "53": (48.15, -0.65, 65), "54": (48.80, 6.15, 95), "55": (49.00, 5.40, 90),
    "56": (47.85, -2.85, 85), "57": (49.05, 6.65, 80), "58": (47.10, 3.50, 70), "59": (50.45, 3.30, 115),
    "60": (49.40, 2.40, 75), "61": (48.60, 0.10, 80), "62": (50.50, 2.30, 85), "63": (45.70, 3.15, 75),
    "64": (43.25, -0.75, 100), "65": (43.05, 0.15, 70), "66": (42.60, 2.50, 75), "67": (48.65, 7.55, 90),
    "68": (47.85, 7.25, 70), "69": (45.85, 4.65, 65), "70": (47.65, 6.10, 75), "71": (46.65, 4.55, 90),
    "72": (48.00, 0.20, 70), "73": (45.50, 6.45, 85), "74": (46.05, 6.40, 65), "75": (48.86, 2.35, 15),
    "76": (49.65, 1.00, 85), "77": (48.60, 2.95, 80), "78": (48.80, 1.85, 55), "79": (46.55, -0.30, 80),
    "80": (49.95, 2.30, 80), "81": (43.80, 2.15, 75), "82": (44.10, 1.30, 65), "83": (43.45, 6.20, 80),
    "84": (44.00, 5.20, 65), "85": (46.65, -1.30, 80), "86": (46.55, 0.45, 85), "87": (45.90, 1.25, 70),
    "88": (48.20, 6.40, 80), "89": (47.85, 3.55, 80), "90": (47.65, 6.90, 30), "91": (48.50, 2.25, 45),
    "92": (48.85, 2.25, 20), "93": (48.92, 2.48, 20), "94": (48.78, 2.47, 20), "95": (49.07, 2.15, 45),
    # Overseas (three-digit codes), Monaco (980xx postcodes, routed by La Poste like a département).
    "971": (16.20, -61.55, 110), "972": (14.65, -61.00, 50), "973": (4.00, -53.00, 350),
    "974": (-21.13, 55.53, 50), "975": (46.90, -56.30, 40), "976": (-12.82, 45.15, 40),
    "977": (17.90, -62.83, 20), "978": (18.07, -63.05, 20), "980": (43.74, 7.42, 5),
}

# Plausible bounds per country (ISO alpha-3): metropolitan France and Corsica; the overseas
# départements and Monaco are checked through their postcodes.
COUNTRY_BOUNDS: dict[str, tuple[float, float, float, float]] = {  # lat min, lat max, lon min, lon max
    "FRA": (41.3, 51.1, -5.2, 9.6),
    "MCO": (43.72, 43.76, 7.40, 7.44),
}


@lru_cache(maxsize=4096)  # a feed repeats its postcodes
def department(postcode: str) -> str | None:
    """The département a French postcode belongs to (Corsica: 200xx-201xx → 2A, 202xx-206xx → 2B)."""
    if len(postcode) != 5 or not postcode.isdigit():
        return None
    if postcode.startswith("97") or postcode.startswith("98"):
        return postcode[:3] if postcode[:3] in DEPARTMENTS else None
    if postcode.startswith("20"):
        return "2A" if postcode[2] in "01" else "2B"
    return postcode[:2] if postcode[:2] in DEPARTMENTS else None


_KM_PER_DEGREE = 6371.0 * math.pi / 180
# Equirectangular distance around each centre: exact enough below a few hundred km, and cheap.
_CIRCLES = {code: (lat, lon, math.cos(math.radians(lat)), radius) for code, (lat, lon, radius) in DEPARTMENTS.items()}


# Per département: centre, cos(latitude), and (radius + slack)² in degrees², for a test without sqrt.
_LIMITS = {code: (lat, lon, cos_lat, ((radius + SLACK_KM) / _KM_PER_DEGREE) ** 2)
           for code, (lat, lon, cos_lat, radius) in _CIRCLES.items()}


def near_department(lat: float, lon: float, code: str) -> bool:
    """Whether the point lies within ``SLACK_KM`` of the département's circle (every listing asks)."""
    c_lat, c_lon, cos_lat, limit = _LIMITS[code]
    dx, dy = (lon - c_lon) * cos_lat, lat - c_lat
    return dx * dx + dy * dy <= limit


def km_from_department(lat: float, lon: float, code: str) -> float:
    """How far (km) a point lies outside the département's circle; 0 inside."""
    c_lat, c_lon, cos_lat, radius = _CIRCLES[code]
    return max(0.0, _KM_PER_DEGREE * math.hypot((lon - c_lon) * cos_lat, lat - c_lat) - radius)


def in_country(lat: float, lon: float, country: str) -> bool | None:
    """Whether the point lies within the country's plausible bounds; None when we have none."""
    bounds = COUNTRY_BOUNDS.get(country)
    if bounds is None:
        return None
    lat_min, lat_max, lon_min, lon_max = bounds
    return lat_min <= lat <= lat_max and lon_min <= lon <= lon_max
