"""The HTML reports as a browser shows them: headless Chromium at 1,280 px and 390 px (a phone).

Each page is laid out in an iframe of the exact width (Chromium's headless window cannot be
narrower than 500 px), then checked: the document is no wider than the viewport and the console
stayed silent. Screenshots are saved beside the test's output for a person to look at.
"""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from etl.pipeline.convert_cli import run_convert
from etl.log import RunLog
from etl.report.run_info import AgencyRun, Change, RunKind
from etl.report.summary import ConvertSummary
from etl.report.writers import write_reports

SAMPLES = Path(__file__).resolve().parents[1] / "sample_feeds"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
WIDTHS = (1280, 390)
HEIGHT = 2400


def _chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing (CI is set: .ci/run installs it)")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return exe


def _name(page: Path) -> str:
    return f"{page.parent.name}-{page.stem}"


def _harness(page: Path, width: int, out: Path) -> Path:
    doc = page.read_text(encoding="utf-8")
    probe = ('<script>window.addEventListener("load",function(){var d=document.getElementById("f").contentDocument;'
             'var hidden=0;d.querySelectorAll(".scroll").forEach(function(e){hidden=Math.max(hidden,'
             'e.scrollWidth-e.clientWidth);});'
             'document.body.setAttribute("data-width",d.documentElement.scrollWidth+"x"+d.defaultView.innerWidth'
             '+"x"+hidden);});</script>')
    path = out / f"{_name(page)}-{width}.harness.html"
    path.write_text(f'<!DOCTYPE html><html><body style="margin:0"><iframe id="f" style="width:{width}px;'
                    f'height:{HEIGHT}px;border:0;display:block" srcdoc="{html.escape(doc, quote=True)}"></iframe>'
                    f"{probe}</body></html>", encoding="utf-8")
    return path


def render(exe: str, page: Path, width: int, out: Path) -> tuple[int, int, int, list[str], Path]:
    """(document width, viewport width, widest hidden part of a scrolling table, console lines,
    screenshot) of ``page`` at ``width`` px."""
    harness = _harness(page, width, out)
    profile = out / f"profile-{_name(page)}-{width}"
    dom = subprocess.run([exe, *FLAGS, f"--user-data-dir={profile}", f"--window-size={max(width, 500)},{HEIGHT}",
                          "--enable-logging=stderr", "--v=0", "--dump-dom", harness.as_uri()],
                         capture_output=True, text=True, timeout=120)
    m = re.search(r'data-width="(\d+)x(\d+)x(\d+)"', dom.stdout)
    assert m, f"the page did not load: {dom.stderr[-2000:]}"
    console = [line for line in dom.stderr.splitlines() if ":CONSOLE" in line]
    shot = out / f"{_name(page)}-{width}.png"
    subprocess.run([exe, *FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{HEIGHT}",
                    f"--screenshot={shot}", harness.as_uri()], capture_output=True, timeout=120)
    return int(m.group(1)), int(m.group(2)), int(m.group(3)), console, shot


def _failed_run_reports(out: Path) -> dict[str, Path]:
    """A night with a guard refusal and one with long changes lists and API failures."""
    s = ConvertSummary(command="run")
    s.agency("agence-dupont-immobilier-et-associes-longue-raison-sociale")
    s.runs["agence-dupont-immobilier-et-associes-longue-raison-sociale"] = AgencyRun(
        "agence-dupont-immobilier-et-associes-longue-raison-sociale", RunKind.MASS_DELETE, name="Agence Dupont",
        exit_code=3, guard="12 suppressions sur 20 annonces en ligne (60 %), au-delà du seuil de 30 % : relancez "
                            "avec --allow-mass-delete si c'est voulu", live_before=20, deletes_planned=12)
    s.runs["cabinet-martin"] = AgencyRun(
        "cabinet-martin", RunKind.API, name="Cabinet Martin Transactions", exit_code=1, live_before=40,
        changes=[Change("created", f"K{i}", f"REF-TRES-LONGUE-{i:04d}-SANS-ESPACE-AUCUNE-COUPURE-POSSIBLE",
                        "Appartement lumineux de 4 pièces avec balcon et vue dégagée sur le parc") for i in range(30)]
        + [Change("failed", "K99", "REF-99", "", planned_op="update", http_status=400,
                  detail='{"detail":"' + "x" * 400 + '"}', traceparent="00-" + "a" * 32 + "-" + "b" * 16 + "-01")])
    s.agency("cabinet-martin")
    s.add_load_counts("cabinet-martin", created=30, failed=1)
    return write_reports(s, out)


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    out = tmp_path_factory.mktemp("report-browser")
    code, _ = run_convert(sorted(SAMPLES.glob("*.zip")), out / "convert", log=RunLog("text", open(os.devnull, "w")))
    assert code == 0
    failed = _failed_run_reports(out / "run")
    chosen = [out / "convert" / "report-maisons-oceane.html", out / "convert" / "report-sud-cannes.html",
              out / "convert" / "report.html", failed["html"], failed["html:cabinet-martin"],
              failed["html:agence-dupont-immobilier-et-associes-longue-raison-sociale"]]
    return out, chosen


@pytest.mark.parametrize("width", WIDTHS)
def test_reports_fit_the_screen_and_the_console_stays_silent(pages: tuple[Path, list[Path]], width: int) -> None:
    exe = _chromium()
    out, chosen = pages
    shots = out / "screenshots"
    shots.mkdir(exist_ok=True)
    for page in chosen:
        doc_width, viewport, hidden, console, shot = render(exe, page, width, shots)
        assert viewport == width, f"{page.name}: laid out at {viewport} px, not {width}"
        assert doc_width <= viewport, f"{_name(page)} overflows at {width} px: document {doc_width} px wide"
        if width >= 1280:  # on a desktop the operator's table shows every column (on a phone it scrolls)
            assert hidden == 0, f"{_name(page)}: {hidden} px of a table hidden at {width} px"
        assert console == [], f"{_name(page)}: console said {console}"
        assert shot.is_file() and shot.stat().st_size > 5_000
        print(f"screenshot: {shot}")
