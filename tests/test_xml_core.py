"""The XML core: encodings, plain text, paths, record locations, broken and truncated feeds, detection."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest

from etl.cli import main
from etl.errors import SourceUnreadable, UnsupportedFeed
from etl.extract.container import open_container
from etl.extract.registry import formats, open_feed
from etl.extract.xml.safe import Broken, RawRecord, RecordStream
from etl.extract.xml.table import Table, table_spec
from etl.extract.xml.text import plain
from etl.extract.xml.writer import head, records, tail
from etl.records import RecordError, SourceRecord
from lxml import etree


def kyero_feed(path: Path, count: int, *, broken_at: int | None = None, cut: bool = False) -> Path:
    with open(path, "w", encoding="utf-8") as out:
        out.write(head("kyero"))
        for n, text in enumerate(records("kyero", count), 1):
            if n == broken_at:
                text = text.replace("<town>", "<town><b>", 1)  # an unclosed tag: not well-formed from here
            out.write(text)
        if cut:
            out.write("<property><id>cut</id><price>12")
        else:
            out.write(tail("kyero"))
    return path


# --- text ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "expected"), [
    ("  Prix   à  débattre ", "Prix à débattre"),
    ("<p>Bel appartement</p><p>Vue&nbsp;mer &amp; montagne</p>", "Bel appartement\nVue mer & montagne"),
    ("Séjour<br>cuisine<BR/>chambre", "Séjour\ncuisine\nchambre"),
    ("<ul><li>4 chambres</li><li>jardin</li></ul>", "4 chambres\njardin"),
    ("prix < 300 000 € & frais", "prix < 300 000 € & frais"),  # not HTML: left as written
    ("https://x.test/p.jpg?a=1&copy=2", "https://x.test/p.jpg?a=1&copy=2"),  # no entity without « ; »
    ("l&#39;agence &eacute;t&eacute;", "l'agence été"),
])
def test_plain_text_drops_html_decodes_entities_and_trims_spaces(raw, expected):
    assert plain(raw) == expected


def _table(fields: dict, xml: str, record: str = "r") -> dict[str, str]:
    table = Table(table_spec({"record": record, "key": next(iter(fields)), "fields": fields}, "test"), "test")
    values, _ = table.read(etree.fromstring(xml))
    return {name: values[i] for name, i in table.columns.items() if values[i]}


def test_a_single_child_element_is_one_value_never_a_list_of_characters():
    got = _table({"id": "id", "photo": {"path": "photos/photo", "repeat": 3}},
                 "<r><id>1</id><photos><photo>http://x.test/a.jpg</photo></photos></r>")
    assert got == {"id": "1", "photo_1": "http://x.test/a.jpg"}


def test_groups_follow_their_order_attribute_and_keep_url_and_title_together():
    got = _table({"id": "@id", "photo": {"each": "photos/photo", "max": 5, "order_by": "@ordre",
                                         "parts": {"": ".", "titre": "@titre"}}},
                 '<r id="9"><photos><photo ordre="10" titre="Jardin">j.jpg</photo><photo ordre="2">s.jpg</photo>'
                 '<photo ordre="1" titre="Façade">f.jpg</photo></photos></r>')
    assert got == {"id": "9", "photo_1": "f.jpg", "photo_1_titre": "Façade", "photo_2": "s.jpg",
                   "photo_3": "j.jpg", "photo_3_titre": "Jardin"}


def test_alternatives_joins_xpath_and_markup_inside_text():
    got = _table({"id": "id", "ville": ["bien/ville", "ville"], "equipements": {"path": "f/x", "join": ", "},
                  "nb": "count(photos/photo)", "texte": "texte"},
                 "<r><id>1</id><ville> Nice </ville><f><x>Piscine</x><x>Garage</x><x>Piscine</x></f>"
                 "<photos><photo/><photo/></photos><texte>Ligne 1<br/>Ligne <b>2</b><!-- note --></texte></r>")
    assert got == {"id": "1", "ville": "Nice", "equipements": "Piscine, Garage", "nb": "2", "texte": "Ligne 1\nLigne 2"}


def test_a_bad_xpath_in_a_table_is_a_configuration_error_naming_it():
    from etl.errors import ConfigError
    with pytest.raises(ConfigError, match=r"XPath « prix\[ » invalide"):
        Table(table_spec({"record": "r", "key": "p", "fields": {"p": "prix["}}, "m.yaml"), "m.yaml")


# --- encodings ---------------------------------------------------------------------------------


def _values(path: Path) -> tuple[list, object]:
    feed = open_feed(path, format="kyero")
    items = list(feed.records())
    return items, feed


def test_the_encoding_comes_from_the_xml_declaration(tmp_path):
    feed = tmp_path / "f.xml"
    feed.write_bytes(head("kyero", "windows-1252").encode() +
                     "<property><id>1</id><town>Fréjus</town><notes>Prix 300 000 €</notes></property></root>".encode("cp1252"))
    items, opened = _values(feed)
    assert items[0].get("town") == "Fréjus" and items[0].get("notes") == "Prix 300 000 €"
    assert opened.facts.encoding == "cp1252"


def test_a_feed_declared_utf8_but_written_in_latin1_is_read_and_warned_about(tmp_path):
    feed = tmp_path / "f.xml"
    feed.write_bytes(head("kyero").encode() + "<property><id>1</id><town>Béziers</town></property></root>".encode("latin-1"))
    items, opened = _values(feed)
    assert items[0].get("town") == "Béziers"
    assert opened.facts.encoding == "mixed"
    assert opened.issues[0].code == "W_ENCODING_MIXED" and "UTF-8" in opened.issues[0].message


def test_double_encoded_utf8_is_repaired_and_warned_about_per_field(tmp_path):
    feed = tmp_path / "f.xml"
    feed.write_text(head("kyero") + "<property><id>1</id><desc><de>GrundstÃ¼ck mit Pool</de></desc></property></root>",
                    encoding="utf-8")
    items, _ = _values(feed)
    assert items[0].get("desc_de") == "Grundstück mit Pool"
    note = items[0].issues[0]
    assert note.code == "W_ENCODING_REPAIRED" and note.source_field == "élément <desc/de>" and "/root/property[1]" in note.message


# --- locations, broken and truncated feeds --------------------------------------------------------


def test_each_record_is_located_by_file_line_xpath_and_ordinal(tmp_path):
    feed = tmp_path / "u.xml"
    feed.write_text('<flux>\n<client reference="A"><annonce id="1"><reference>a</reference></annonce></client>\n'
                    '<client reference="B">\n<annonce id="2"/>\n<annonce id="3"/></client></flux>', encoding="utf-8")
    items = list(open_feed(feed, format="ubiflow").records())
    assert [(i.location.line, i.location.xpath, i.location.record) for i in items] == [
        (2, "/flux/client/annonce[1]", 1), (4, "/flux/client[2]/annonce[1]", 2), (5, "/flux/client[2]/annonce[2]", 3)]
    assert str(items[2].location) == "u.xml, ligne 5, /flux/client[2]/annonce[2]"
    assert [i.agency_id for i in items] == ["A", "B", "B"]  # the advertiser, when no agency is configured


def test_two_advertisers_of_one_grouped_feed_may_use_the_same_reference(tmp_path):
    # listings are keyed per agency, as in Poliris and CSV: only a repeat within one advertiser is a duplicate
    feed = tmp_path / "u.xml"
    feed.write_text('<flux><client reference="A"><annonce id="7"/></client>'
                    '<client reference="B"><annonce id="7"/><annonce id="7"/></client></flux>', encoding="utf-8")
    items = list(open_feed(feed, format="ubiflow").records())
    assert [(i.agency_id, type(i).__name__) for i in items] == [
        ("A", "SourceRecord"), ("B", "SourceRecord"), ("B", "RecordError")]
    assert items[2].issues[0].code == "E_KEY_DUPLICATE" and items[2].issues[0].source_field == "attribut @id ou élément <reference>"


def test_a_feed_not_well_formed_at_record_5000_converts_the_first_4999_and_is_marked_incomplete(tmp_path):
    feed = kyero_feed(tmp_path / "broken.xml", 6000, broken_at=5000)
    out = tmp_path / "out"
    assert main(["convert", str(feed), "--mapping", "kyero", "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["totals"]["read"] == 5000 and summary["totals"]["accepted"] == 4999
    source = summary["sources"][0]
    assert source["complete"] is False and "XML mal formé" in source["problems"][0]
    rejection = (out / "rejections.csv").read_text(encoding="utf-8-sig")
    assert "E_XML_MALFORMED" in rejection and "/root/property[5000]" in rejection


def test_a_truncated_feed_yields_its_whole_records_then_the_cut_one_as_an_error(tmp_path):
    feed = open_feed(kyero_feed(tmp_path / "cut.xml", 3, cut=True), format="kyero")
    items = list(feed.records())
    assert [type(i) for i in items] == [SourceRecord] * 3 + [RecordError]
    assert items[-1].issues[0].code == "E_XML_MALFORMED" and items[-1].location.xpath == "/root/property[4]"
    assert "Relancez l'export depuis votre logiciel" in items[-1].issues[0].message  # what the agency can do
    assert feed.facts.complete is False and feed.facts.records == 4 and feed.facts.errors == 1


def test_a_feed_broken_before_any_record_is_a_broken_marker_with_no_record():
    items = list(RecordStream(io.BytesIO(b"<root><<property>"), "x.xml", "property"))
    assert len(items) == 1 and isinstance(items[0], Broken) and items[0].ordinal == 0


def test_a_feed_broken_before_any_record_stops_with_exit_4(tmp_path, capsys):
    feed = tmp_path / "bad.xml"
    feed.write_text('<?xml version="1.0"?><root><kyero><feed_version>3</feed_version></kyero><oops></root>', encoding="utf-8")
    assert main(["convert", str(feed), "--mapping", "kyero", "--out", str(tmp_path / "o")]) == 4
    said = capsys.readouterr()
    assert "XML mal formé" in said.out + said.err


def test_records_stream_one_at_a_time_and_are_released_after_use(tmp_path):
    path = kyero_feed(tmp_path / "k.xml", 50)
    stream = RecordStream(open(path, "rb"), "k.xml", "property")
    seen = []
    for item in stream:
        assert isinstance(item, RawRecord)
        seen.append(item.element)
        assert len(item.element) > 0  # whole while it is read
    assert all(len(el) == 0 for el in seen[:-1])  # cleared once read


# --- detection and refusals --------------------------------------------------------------------


def test_each_dialect_claims_its_feeds_with_a_confidence_and_generic_xml_stays_at_the_threshold(tmp_path):
    feeds = {
        "kyero": head("kyero") + tail("kyero"),
        "ubiflow": head("ubiflow") + '<annonce id="1"/>' + tail("ubiflow"),
        "trovit": head("trovit") + "<ad><id>1</id></ad>" + tail("trovit"),
        "other": '<?xml version="1.0"?><catalogue><produit/></catalogue>',
    }
    scores = {}
    for name, text in feeds.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
        container = open_container(tmp_path / name)
        scores[name] = {f: fmt.detect(container).confidence for f, fmt in formats().items()}
    for dialect in ("kyero", "ubiflow", "trovit"):
        best = max(scores[dialect], key=scores[dialect].get)
        assert best == dialect and scores[dialect][dialect] >= 0.9
        assert scores[dialect]["xml"] == 0.5 and scores[dialect]["poliris"] == 0
    assert {f for f, s in scores["other"].items() if s} == {"xml"}


def test_an_unknown_xml_without_a_mapping_is_refused_naming_its_root(tmp_path, capsys):
    feed = tmp_path / "export.xml"
    feed.write_text('<?xml version="1.0"?><catalogue><produit><ref>1</ref></produit></catalogue>', encoding="utf-8")
    assert main(["convert", str(feed), "--out", str(tmp_path / "o")]) == 4
    said = capsys.readouterr()
    assert "flux XML (racine <catalogue>)" in said.out + said.err and "non pris en charge" in said.out + said.err


def test_an_openimmo_incremental_feed_is_refused_as_out_of_scope(tmp_path):
    feed = tmp_path / "oi.xml"
    feed.write_text('<openimmo><anbieter><immobilie><verwaltung_techn><aktion aktionart="DELETE"/>'
                    "</verwaltung_techn></immobilie></anbieter></openimmo>", encoding="utf-8")
    with pytest.raises(UnsupportedFeed, match=r"OpenImmo.*<aktion>.*incrémentaux ne sont pas pris en charge"):
        open_feed(feed)


def test_a_zipped_xml_feed_is_read_from_its_xml_member(tmp_path):
    archive = tmp_path / "envoi.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("lisezmoi.txt", "bonjour")
        zf.writestr("export/flux.xml", head("trovit") + "".join(records("trovit", 3)) + tail("trovit"))
    feed = open_feed(archive)
    items = list(feed.records())
    assert feed.format.name == "trovit" and len(items) == 3
    assert items[0].location.file == "envoi.zip/export/flux.xml"


def test_a_zip_without_xml_is_not_claimed_by_xml_formats(tmp_path):
    archive = tmp_path / "vide.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("photo.jpg", b"\xff\xd8\xff")
    container = open_container(archive)
    assert not any(formats()[f].detect(container) for f in ("kyero", "ubiflow", "trovit", "xml", "openimmo"))
    with pytest.raises(SourceUnreadable):
        open_feed(archive)


def test_a_utf16_feed_is_read(tmp_path):
    feed = tmp_path / "f.xml"
    feed.write_bytes((head("kyero", "UTF-16") + "<property><id>1</id><town>Saint-Étienne</town></property></root>")
                     .encode("utf-16"))
    items, opened = _values(feed)
    assert items[0].get("town") == "Saint-Étienne" and opened.facts.encoding == "utf-16"
