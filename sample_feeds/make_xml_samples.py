"""Write the sample XML feeds of sample_feeds/ (deterministic; committed with their output).

    uv run python sample_feeds/make_xml_samples.py

Each is a dialect's generated records followed by the hard cases real feeds carry
(``../shared/reference/feed-quirks.md``), each listing numbered so tests can name it:

- ``kyero-riviera.xml`` (UTF-8): double-encoded UTF-8 (« GrundstÃ¼ck »), image URLs with raw
  spaces, a single image, an empty latitude and a longitude with a leading space, placeholder
  energy ratings (A/A), HTML in a CDATA description, texts in French, English and German, a
  weekly holiday let, a dotted price (« 1.250.000 »), a villa in Spain with no country element
  (its province names it), a listing with every optional element missing, and one invalid
  listing (price « x », price on request).
- ``ubiflow-agence.xml`` (ISO-8859-1, as declared): ``<br/>`` markup and escaped HTML in
  ``texte``, a single photo, photos out of order (``ordre``), a French price (« 350 000,50 »),
  ``code_type`` outside ``bien``, no ``titre``, a lease transfer, a seasonal let, and one invalid
  listing (postal code « ABC »).
- ``trovit-annonces.xml`` (UTF-8, CDATA): HTML content, a weekly rent, a single picture, a surface
  in feet, stray spaces, missing optional elements, one listing without id (invalid) and one
  repeating another's id (invalid).
"""

from __future__ import annotations

import io
from pathlib import Path

from etl.extract.xml.writer import write_stream

HERE = Path(__file__).resolve().parent
GENERATED = 12

_FR_TEXT = ("Villa contemporaine au calme absolu, vue mer panoramique depuis toutes les pièces de vie. "
            "Grand séjour ouvert sur terrasse, cuisine équipée, quatre chambres en suite, piscine à débordement "
            "et jardin paysager de 2 000 m² sans vis-à-vis. À quelques minutes des plages et du village.")

KYERO_QUIRKS = [
    # 13: double-encoded German, image URLs with spaces, empty latitude, leading-space longitude, A/A rating
    f"""<property><id>KQ-13</id><date>2026-11-02 09:00:00</date><ref> RIV-13 </ref><price>1250000</price>
<currency>EUR</currency><price_freq>sale</price_freq><type>Villa</type><town>Mougins</town>
<province>Alpes-Maritimes</province><postcode>06250</postcode>
<location><latitude></latitude><longitude> 7.0007</longitude></location><beds>4</beds><baths>3</baths><pool>1</pool>
<surface_area><built>240</built><plot>2000</plot></surface_area>
<energy_rating><consumption>A</consumption><emissions>A</emissions></energy_rating>
<desc><fr><![CDATA[<p>{_FR_TEXT}</p><p>Visite virtuelle sur demande&nbsp;!</p>]]></fr>
<en>Contemporary villa with sea views.</en><de>Villa mit GrundstÃ¼ck und Meerblick.</de></desc>
<features><feature>Pool</feature><feature>Sea views</feature></features>
<images><image id="2"><url>https://photos.example-agence.fr/riv/13/salon principal.jpg</url>
<title><fr>Séjour</fr><en>Living room</en></title></image>
<image id="1"><url>https://photos.example-agence.fr/riv/13/facade sud.jpg</url><title><fr>Façade</fr></title></image>
</images></property>
""",
    # 14: a single image, a weekly holiday let
    """<property><id>KQ-14</id><date>2026-11-02 09:00:00</date><ref>RIV-14</ref><price>2400</price>
<price_freq>week</price_freq><type>Apartment</type><town>Cannes</town><province>Alpes-Maritimes</province>
<postcode>06400</postcode><beds>2</beds><baths>1</baths>
<desc><fr>Appartement de vacances sur la Croisette, terrasse vue mer, à deux pas des plages.</fr></desc>
<images><image id="1"><url>https://photos.example-agence.fr/riv/14/terrasse.jpg</url></image></images></property>
""",
    # 15: a dotted price
    """<property><id>KQ-15</id><date>2026-11-02 09:00:00</date><ref>RIV-15</ref><price>1.250.000</price>
<price_freq>sale</price_freq><type>Penthouse</type><town>Nice</town><province>Alpes-Maritimes</province>
<postcode>06000</postcode><location><latitude>43.7009</latitude><longitude>7.2683</longitude></location>
<beds>3</beds><baths>2</baths><surface_area><built>150</built></surface_area>
<desc><fr>Penthouse avec toit-terrasse et vue sur la Baie des Anges.</fr></desc></property>
""",
    # 16: in Spain, no <country>: its province names it (SL cannot take it; BD can)
    f"""<property><id>KQ-16</id><date>2026-11-02 09:00:00</date><ref>RIV-16</ref><price>2950000</price>
<price_freq>sale</price_freq><type>Villa</type><town>Marbella</town><province>Málaga</province>
<postcode>29602</postcode><location><latitude>36.5101</latitude><longitude>-4.8825</longitude></location>
<beds>5</beds><baths>5</baths><pool>1</pool><surface_area><built>480</built><plot>3000</plot></surface_area>
<desc><fr>{_FR_TEXT}</fr><es>Villa de lujo con vistas al mar.</es></desc>
<images><image id="1"><url>https://photos.example-agence.fr/riv/16/1.jpg</url></image>
<image id="2"><url>https://photos.example-agence.fr/riv/16/2.jpg</url></image></images></property>
""",
    # 17: every optional element missing
    """<property><id>KQ-17</id><date>2026-11-02 09:00:00</date><ref>RIV-17</ref><price>310000</price>
<price_freq>sale</price_freq><type>Apartment</type><town>Antibes</town><province>Alpes-Maritimes</province>
<postcode>06600</postcode><features><feature>Lift</feature></features></property>
""",
    # 18: invalid: price on request (« x »)
    """<property><id>KQ-18</id><date>2026-11-02 09:00:00</date><ref>RIV-18</ref><price>x</price>
<price_freq>sale</price_freq><type>Castle</type><town>Grasse</town><province>Alpes-Maritimes</province>
<postcode>06130</postcode><desc><fr>Château du XVIIe siècle, prix sur demande.</fr></desc></property>
""",
]

UBIFLOW_QUIRKS = [
    # 13: <br/> markup and escaped HTML in texte, a single photo, a French price, code_type outside bien
    """<annonce id="UQ-13"><reference>AG-13</reference><titre>Maison de village</titre>
<texte>Maison de village rénovée.<br/>Trois chambres, jardin clos.<br/>&lt;b&gt;Coup de cœur&lt;/b&gt; &amp;amp; calme.</texte>
<photos><photo ordre="1">https://photos.example-agence.fr/u/13/1.jpg</photo></photos><code_type>1210</code_type>
<bien><code_postal>83990</code_postal><ville>Saint-Tropez</ville><surface>96,5</surface>
<nb_pieces_logement>4</nb_pieces_logement><nombre_de_chambres>3</nombre_de_chambres></bien>
<prestation><type>V</type><prix>350 000,50</prix><honoraires_payeurs>acquéreur</honoraires_payeurs></prestation></annonce>
""",
    # 14: photos out of order, no titre
    """<annonce id="UQ-14"><reference>AG-14</reference>
<texte>Appartement lumineux avec balcon, proche centre-ville et commerces, parking en sous-sol.</texte>
<photos><photo ordre="3" titre="Chambre">https://photos.example-agence.fr/u/14/c.jpg</photo>
<photo ordre="1" titre="Séjour">https://photos.example-agence.fr/u/14/a.jpg</photo>
<photo ordre="2" titre="Cuisine">https://photos.example-agence.fr/u/14/b.jpg</photo></photos>
<bien><code_type>1100</code_type><code_postal>06400</code_postal><ville>Cannes</ville><surface>58</surface>
<nb_pieces_logement>3</nb_pieces_logement></bien><prestation><type>V</type><prix>420000</prix></prestation>
<diagnostiques><dpe_etiquette_conso>C</dpe_etiquette_conso><dpe_valeur_conso>128</dpe_valeur_conso>
<dpe_etiquette_ges>B</dpe_etiquette_ges><dpe_valeur_ges>9</dpe_valeur_ges></diagnostiques></annonce>
""",
    # 15: a lease transfer (cession de bail)
    """<annonce id="UQ-15"><reference>AG-15</reference><titre>Cession de bail boutique</titre>
<texte>Boutique en plein centre, belle vitrine, bail 3/6/9, loyer modéré.</texte>
<bien><code_type>2100</code_type><code_postal>06000</code_postal><ville>Nice</ville><surface>45</surface></bien>
<prestation><type>B</type><prix>85000</prix><loyer_mensuel_cc>1450</loyer_mensuel_cc></prestation></annonce>
""",
    # 16: a seasonal let
    """<annonce id="UQ-16"><reference>AG-16</reference><titre>Location saisonnière</titre>
<texte>Studio de vacances face à la mer, entièrement équipé, linge fourni.</texte>
<bien><code_type>1100</code_type><code_postal>06400</code_postal><ville>Cannes</ville><surface>24</surface>
<nb_pieces_logement>1</nb_pieces_logement></bien><prestation><type>S</type><loyer_mensuel_cc>1800</loyer_mensuel_cc></prestation></annonce>
""",
    # 17: invalid: a postal code that is not one
    """<annonce id="UQ-17"><reference>AG-17</reference><titre>Terrain</titre><texte>Terrain constructible viabilisé.</texte>
<bien><code_type>1300</code_type><code_postal>ABC</code_postal><ville>Grasse</ville></bien>
<prestation><type>V</type><prix>150000</prix></prestation></annonce>
""",
]

TROVIT_QUIRKS = [
    # 13: HTML content, a single picture, stray spaces
    """<ad><id><![CDATA[ TQ-13 ]]></id><title><![CDATA[  Maison   avec jardin  ]]></title><type><![CDATA[For sale]]></type>
<content><![CDATA[<p>Belle maison familiale.</p><ul><li>4 chambres</li><li>Jardin 600&nbsp;m²</li></ul>]]></content>
<price><![CDATA[ 465000 ]]></price><property_type><![CDATA[House]]></property_type>
<city><![CDATA[Dax]]></city><postcode><![CDATA[40100]]></postcode>
<floor_area unit="meters"><![CDATA[132,5]]></floor_area><rooms><![CDATA[5]]></rooms>
<pictures><picture><picture_url><![CDATA[https://photos.example-agence.fr/t/13/1.jpg]]></picture_url></picture></pictures></ad>
""",
    # 14: a weekly rent, a surface in feet
    """<ad><id><![CDATA[TQ-14]]></id><title><![CDATA[Chalet à la semaine]]></title><type><![CDATA[For rent]]></type>
<content><![CDATA[Chalet au pied des pistes, 8 couchages, sauna.]]></content>
<price period="weekly"><![CDATA[3200]]></price><property_type><![CDATA[Chalet]]></property_type>
<city><![CDATA[Chamonix-Mont-Blanc]]></city><postcode><![CDATA[74400]]></postcode>
<floor_area unit="feet"><![CDATA[1500]]></floor_area><is_furnished><![CDATA[1]]></is_furnished></ad>
""",
    # 15: missing optional elements
    """<ad><id><![CDATA[TQ-15]]></id><type><![CDATA[For sale]]></type><content><![CDATA[Terrain à bâtir de 900 m².]]></content>
<price><![CDATA[89000]]></price><property_type><![CDATA[Land]]></property_type>
<city><![CDATA[Toulouse]]></city><postcode><![CDATA[31000]]></postcode></ad>
""",
    # 16: invalid: no id
    """<ad><title><![CDATA[Sans identifiant]]></title><type><![CDATA[For sale]]></type><content><![CDATA[Texte.]]></content>
<price><![CDATA[100000]]></price><property_type><![CDATA[Flat]]></property_type><city><![CDATA[Lille]]></city>
<postcode><![CDATA[59000]]></postcode></ad>
""",
    # 17: invalid: the id of another listing
    """<ad><id><![CDATA[TQ-15]]></id><type><![CDATA[For sale]]></type><content><![CDATA[Doublon.]]></content>
<price><![CDATA[99000]]></price><property_type><![CDATA[Land]]></property_type>
<city><![CDATA[Toulouse]]></city><postcode><![CDATA[31000]]></postcode></ad>
""",
]

SAMPLES = {
    "kyero-riviera.xml": ("kyero", "utf-8", KYERO_QUIRKS),
    "ubiflow-agence.xml": ("ubiflow", "iso-8859-1", UBIFLOW_QUIRKS),
    "trovit-annonces.xml": ("trovit", "utf-8", TROVIT_QUIRKS),
}


def render(dialect: str, encoding: str, quirks: list[str]) -> bytes:
    text = io.StringIO()
    write_stream(text, dialect, GENERATED, seed=5, extra=quirks, encoding=encoding)
    return text.getvalue().encode(encoding, "xmlcharrefreplace")  # « œ » has no ISO-8859-1 byte: &#339;


def main() -> None:
    for name, (dialect, encoding, quirks) in SAMPLES.items():
        (HERE / name).write_bytes(render(dialect, encoding, quirks))


if __name__ == "__main__":
    main()
