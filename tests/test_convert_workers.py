"""Convert on every core: N workers write what one process writes, byte for byte.

Chunks are forced tiny (a few records each) so that their edges fall on every kind of line:
records broken over several lines, malformed lines, blank lines, duplicates far apart, a change
of row width, a line in the other encoding, and a file cut mid-record.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from etl.extract.poliris.writer import format_line, row_values, write_annonces, write_zip
from etl.feedgen import listings
from etl.log import RunLog
from etl.pipeline.convert import convert_feed, open_source
from etl.pipeline.convert_cli import run_convert
from etl.records import FeedFacts

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = sorted((ROOT / "sample_feeds").glob("*.zip"))
AGENCIES = ("agence-a", "agence-b")


def outcomes(source: Path, *, workers: int, chunk_bytes: int, agency: str | None = None) -> tuple[list, FeedFacts]:
    feed, spec = open_source(source, agency_id=agency)
    stats = FeedFacts(str(source))
    seen = [(o.location.file, o.location.line, o.location.record, o.key, o.reference, o.accepted, o.payload,
             o.body_hash, o.requested_portals, o.portals, [(i.code, i.message, i.severity, i.source_field, i.aviv_path,
                                                            i.value) for i in o.issues])
            for o in convert_feed(feed, spec, stats=stats, only_agency=agency, workers=workers, chunk_bytes=chunk_bytes)]
    return seen, stats


def assert_same_as_one_process(source: Path, chunk_bytes: int, *, agency: str | None = None) -> list:
    one, one_stats = outcomes(source, workers=1, chunk_bytes=chunk_bytes, agency=agency)
    many, many_stats = outcomes(source, workers=2, chunk_bytes=chunk_bytes, agency=agency)
    assert many == one
    assert many_stats == one_stats
    return one


def lines_of(rows: list[dict[int, str]], width: int = 334) -> list[str]:
    return [format_line(row_values(r, width)) for r in rows]


def broken(line: str) -> str:
    """The line with a stray line break inside a value near its middle (a record over two lines)."""
    at = line.index('"!#"', len(line) // 2) - 2
    return line[:at] + "\n" + line[at:]


def awkward_feed(path: Path, *, seed: int, truncated: bool = False) -> Path:
    rng = random.Random(seed)
    rows = list(listings(40, agencies=AGENCIES, seed=seed))
    lines = lines_of(rows)
    out: list[str] = []
    for i, line in enumerate(lines):
        kind = rng.random()
        if kind < 0.15:
            out.append(broken(line))  # joined back: W_LINE_JOINED
        elif kind < 0.22:
            out.append(line[: len(line) // 3])  # too short, never completed: E_LINE_MALFORMED
        elif kind < 0.27:
            out.append("")  # blank lines are not records
            out.append(line)
        elif kind < 0.30:
            out.append('suite d\'un texte coupé"!#"0"!#"0"')  # starts mid-value
            out.append(line)
        else:
            out.append(line)
        if i in (7, 23):
            out.append(lines[3])  # the same key again, chunks later: E_KEY_DUPLICATE naming line 4
    # An older revision's rows (329 fields) in the middle: the row width changes mid-file.
    out[20:20] = lines_of(rows[30:33], 329)
    text = "\n".join(out) + "\n"
    data = text.encode("cp1252", "replace")
    # A UTF-8 line in a cp1252 file: W_ENCODING_MIXED on that line only.
    data += format_line(row_values({**rows[5], 175: "utf8-line", 21: "Très belle vue, café à côté"}, 334)).encode() + b"\n"
    if truncated:
        # Cut after an older revision's 329 fields, no final line break: every field a record needs, but
        # fewer than the file's rows have: held back as cut (E_LINE_TRUNCATED), the feed incomplete.
        data += format_line(row_values({**rows[10], 175: "cut-key"}, 329)).encode("cp1252", "replace")
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("sample", SAMPLES, ids=[s.stem for s in SAMPLES])
def test_every_sample_feed_converts_the_same_with_two_workers(sample: Path) -> None:
    one = assert_same_as_one_process(sample, chunk_bytes=2_000)
    assert one  # something was converted


@pytest.mark.parametrize("chunk_bytes", [1_500, 3_100, 7_000])
def test_records_over_several_lines_and_malformed_lines_at_chunk_edges_read_as_in_one_pass(
        tmp_path: Path, chunk_bytes: int) -> None:
    one = assert_same_as_one_process(awkward_feed(tmp_path / "Annonces.csv", seed=chunk_bytes), chunk_bytes)
    codes = {issue[0] for o in one for issue in o[-1]}
    assert {"W_LINE_JOINED", "E_LINE_MALFORMED", "E_KEY_DUPLICATE", "W_ENCODING_MIXED"} <= codes
    # The fourth record, repeated twice chunks later: both copies name where it first stood.
    first = next(o[1] for o in one if o[3] is not None and o[3].source_key.endswith("00000004"))
    again = [i[1] for o in one for i in o[-1] if i[0] == "E_KEY_DUPLICATE" and "00000004" in i[1]]
    assert len(again) == 2 and all(f"figure déjà ligne {first} ;" in m for m in again)


def test_a_file_cut_mid_record_is_incomplete_and_its_last_record_held_back_with_workers(tmp_path: Path) -> None:
    feed = awkward_feed(tmp_path / "Annonces.csv", seed=3, truncated=True)
    one = assert_same_as_one_process(feed, 2_500)  # one process and two workers: same outcomes, same facts
    _, stats = outcomes(feed, workers=2, chunk_bytes=2_500)
    assert stats.complete is False
    assert one[-1][3] is not None and one[-1][3].source_key.endswith("cut-key")
    assert [i[0] for i in one[-1][-1]] == ["E_LINE_TRUNCATED"]


def test_a_cut_last_record_whose_key_came_before_stays_a_duplicate(tmp_path: Path) -> None:
    rows = list(listings(12, agencies=AGENCIES, seed=5))
    lines = lines_of(rows)
    # The last record repeats the first one's key and has all its fields, but no final line break
    # and fewer fields than the file's rows: a cut record, and a duplicate.
    last = format_line(row_values(rows[0], 329))
    path = tmp_path / "Annonces.csv"
    path.write_bytes(("\n".join(lines) + "\n" + last).encode("cp1252", "replace"))
    one = assert_same_as_one_process(path, 3_000)
    assert one[-1][-1][0][0] == "E_KEY_DUPLICATE"


def test_one_agency_of_a_grouped_send_converts_the_same_with_workers(tmp_path: Path) -> None:
    feed = awkward_feed(tmp_path / "Annonces.csv", seed=11)
    one = assert_same_as_one_process(feed, 2_000, agency="agence-b")
    assert {o[3].agency_id for o in one if o[3] is not None} == {"agence-b"}


def test_an_accent_first_met_mid_file_and_a_byte_order_mark_convert_the_same_with_two_workers(tmp_path: Path) -> None:
    rows = [{**r, 21: "Maison de ville", 20: "Maison"} for r in listings(30, agencies=AGENCIES, seed=9)]
    text = "\r\n".join(lines_of(rows))
    text = text.encode("ascii", "replace").decode()
    accented = format_line(row_values({**rows[0], 175: "accent", 21: "Vue dégagée"}, 334))
    path = tmp_path / "Annonces.csv"
    path.write_bytes(b"\xef\xbb\xbf" + (text + "\r\n" + accented + "\r\n" + text.replace('"agence-a"', '"agence-c"')
                                        + "\r\n").encode("utf-8"))
    assert_same_as_one_process(path, 2_200)


def test_a_feed_in_a_zip_is_split_from_a_temporary_copy_that_is_removed(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    import tempfile

    send = write_zip(tmp_path / "send.zip", listings(30, agencies=AGENCIES, seed=4))
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))  # this test's own temporary folder
    feed, _ = open_source(send)
    chunking = feed.chunking(4_000)
    assert chunking is not None and [p.name for p in scratch.iterdir()] == [chunking.path.name]  # type: ignore[attr-defined]
    chunking.close()
    assert_same_as_one_process(send, 4_000)
    assert list(scratch.iterdir()) == []


def test_a_small_feed_stays_in_one_process(tmp_path: Path) -> None:
    feed, _ = open_source(SAMPLES[0])
    assert feed.chunking(1 << 20) is None  # a few dozen kilobytes: not worth a worker


def test_convert_command_writes_the_same_files_with_workers(tmp_path: Path) -> None:
    feed = awkward_feed(tmp_path / "Annonces.csv", seed=21)
    code1, _ = run_convert([feed], tmp_path / "one", workers=1, log=RunLog(stream=open(os.devnull, "w")))
    code2, _ = run_convert([feed], tmp_path / "two", workers=2, chunk_bytes=2_000, log=RunLog(stream=open(os.devnull, "w")))
    assert code1 == code2 == 0
    for name in ("payloads.jsonl", "rejections.csv"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes(), name
    one, two = (json.loads((tmp_path / d / "summary.json").read_text()) for d in ("one", "two"))
    for summary in (one, two):
        summary.pop("started_at", None), summary.pop("finished_at", None), summary.pop("durations_s", None)
    assert one == two


def test_convert_progress_is_a_bar_on_a_terminal_and_log_lines_elsewhere(tmp_path: Path) -> None:
    feed = awkward_feed(tmp_path / "Annonces.csv", seed=2)

    class Terminal:
        def __init__(self) -> None:
            self.text = ""

        def write(self, s: str) -> None:
            self.text += s

        def flush(self) -> None:
            pass

        def isatty(self) -> bool:
            return True

    class Pipe(Terminal):
        def isatty(self) -> bool:
            return False

    tty, pipe = Terminal(), Pipe()
    run_convert([feed], tmp_path / "a", workers=2, chunk_bytes=2_000, log=RunLog(stream=tty))  # type: ignore[arg-type]
    run_convert([feed], tmp_path / "b", workers=2, chunk_bytes=2_000,
                log=RunLog(stream=pipe, progress_every=0))  # type: ignore[arg-type]
    assert "\r\x1b[Kconversion de Annonces.csv [" in tty.text and "/s, reste " in tty.text and "annonces" in tty.text
    progress = [line for line in pipe.text.splitlines() if "conversion de Annonces.csv :" in line]
    assert progress and "\r" not in pipe.text
    assert progress[-1].endswith("reste 0:00") and " 100 % — " in progress[-1]
    quiet = Pipe()
    run_convert([feed], tmp_path / "c", workers=1, log=RunLog(stream=quiet))  # type: ignore[arg-type]
    assert "conversion de" not in quiet.text  # a short convert off a terminal: no progress line


def big_feed(path: Path, count: int) -> Path:
    return write_annonces(path, listings(count, agencies=AGENCIES, seed=8), newline="\n", width=334)


def _workers_of(proc: psutil.Process, timeout: float = 60) -> list[psutil.Process]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        children = proc.children()
        if len(children) >= 2:
            return children
        time.sleep(0.02)
    raise AssertionError("no worker processes started")


def test_a_killed_worker_fails_convert_with_exit_4_naming_the_chunk(tmp_path: Path) -> None:
    feed = big_feed(tmp_path / "Annonces.csv", 4_000)  # ~9 MB: nine chunks, over MIN_CHUNKS: workers start
    proc = subprocess.Popen([sys.executable, "-m", "etl", "convert", str(feed), "--out", str(tmp_path / "out"),
                             "--workers", "2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _workers_of(psutil.Process(proc.pid))[0].kill()
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 4, err
    assert "le processus qui convertissait le morceau" in err and "s'est arrêté" in err
    assert "Traceback" not in err
    assert not (tmp_path / "out" / "payloads.jsonl").exists()


def _as_from_a_shell() -> None:
    # A test runner's worker may ignore SIGINT, and an ignored SIGINT is inherited: Python then
    # never turns Ctrl-C into KeyboardInterrupt. A shell starts commands with the default action.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_stops_convert_and_its_workers(tmp_path: Path) -> None:
    feed = big_feed(tmp_path / "Annonces.csv", 4_000)
    proc = subprocess.Popen([sys.executable, "-m", "etl", "convert", str(feed), "--out", str(tmp_path / "out"),
                             "--workers", "2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, preexec_fn=_as_from_a_shell)
    workers = _workers_of(psutil.Process(proc.pid))
    time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGINT)  # as a terminal does: the whole process group
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "interrompu" in err and "Traceback" not in err
    gone, alive = psutil.wait_procs(workers, timeout=10)
    assert not alive


def test_the_convert_stage_of_run_plans_the_same_with_workers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from etl.agencies import load_config
    from etl.pipeline import convert_workers
    from etl.pipeline.run import RunOptions, run
    from test_load_helpers import write_config

    monkeypatch.setattr(convert_workers, "CHUNK_BYTES", 2_000)  # tiny chunks: a small feed is split too
    feed = awkward_feed(tmp_path / "Annonces.csv", seed=17)
    path = write_config(tmp_path, base_url="http://127.0.0.1:9", token_url="http://127.0.0.1:9/token",
                        agencies={"agence-a": feed}, agency_extra={"format": "poliris"})
    plans = []
    for workers in (1, 2):
        result = run(load_config(path), "agence-a", RunOptions(dry_run=True, workers=workers, out_dir=tmp_path / f"w{workers}"),
                     RunLog(stream=open(os.devnull, "w")))
        plan = result.agencies[0].plan
        assert plan is not None
        plans.append((plan.counts(), [(op.op, op.key, op.body, op.body_hash) for op in plan.operations]))
    assert plans[0] == plans[1]
    assert plans[0][0]["creates"] > 10
