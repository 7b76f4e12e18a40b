"""The two-night demo: night 1 creates, night 2 sends only the changes."""

from __future__ import annotations

import io
import re
from pathlib import Path

from etl.pipeline.demo import SAMPLE_FEEDS, run_demo


def test_demo_second_night_sends_only_changes_and_keeps_the_broken_listing(tmp_path: Path) -> None:
    out = io.StringIO()
    code = run_demo(tmp_path, out=out)
    text = out.getvalue()
    assert code == 0, text
    night2 = text.split("=== Nuit 2")[1]
    m = re.search(r"Nuit 2 : (\d+) appels API \((.*?)\) pour (\d+) annonces lues", night2)
    assert m, text
    calls, read = int(m.group(1)), int(m.group(3))
    assert 0 < calls < read / 5  # most listings unchanged: no request for them
    assert "POST" not in m.group(2)
    rows = {line.split()[0]: line.split() for line in night2.splitlines() if line and line.split()[0] in
            {"sud-cannes", "sud-nice", "sud-antibes", "lumiere-immo", "maisons-oceane"}}
    assert sum(int(r[6]) for r in rows.values()) == 1  # one listing kept online despite its error
    assert rows["maisons-oceane"][2:5] == ["0", "0", "0"]  # untouched feed: nothing sent
    night1 = text.split("=== Nuit 2")[0]
    xml = next(line.split() for line in night1.splitlines() if line.startswith("riviera-kyero"))
    assert int(xml[2]) > 0  # the Kyero XML agency is published like the Poliris ones
    sheet = next(line.split() for line in night1.splitlines() if line.startswith("agence-tableur"))
    assert int(sheet[2]) > 0  # and the spreadsheet agency
    assert (tmp_path / "night-2" / "summary.json").exists() and (tmp_path / "night-2" / "load.json").exists()
    assert len(list(SAMPLE_FEEDS.glob("*.zip"))) >= 2
