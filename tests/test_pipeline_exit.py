"""Exit codes cron can act on, and the JSON log's last line a log shipper can alert on."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from test_load_helpers import feed, sandbox, test_env, write_config, write_payloads  # noqa: F401  (fixtures)

from etl.errors import EXIT_GUARD, EXIT_LOCKED, EXIT_OK, worst_exit
from etl.load.schema import locks
from etl.load.state import StateStore
from etl.pipeline.__main__ import main


def _hold_lock(state_url: str, agency: str) -> None:
    """Another host's live run of ``agency`` (its heartbeat is fresh, so it is not taken over)."""
    with StateStore.open(state_url) as s, s.engine.begin() as conn:
        now = time.time()
        conn.execute(sa.insert(locks).values(agency_id=agency, run_id=41, host="autre-machine", pid=4242,
                                              acquired_at=now, heartbeat_at=now))


def _run_json(cfg: Path, capsys, *extra: str) -> tuple[int, list[dict]]:
    code = main(["run", "--config", str(cfg), "--log-format", "json", *extra])
    err = capsys.readouterr().err
    return code, [json.loads(line) for line in err.splitlines() if line.strip()]


def test_a_held_lock_exits_5_sends_nothing_and_the_json_log_ends_with_the_outcome(
        tmp_path: Path, sandbox, test_env, capsys) -> None:
    cfg = write_config(tmp_path, base_url=sandbox.base_url, token_url=sandbox.token_url,
                       agencies={"ag": write_payloads(tmp_path / "ag.jsonl", feed("ag", 4))})
    _hold_lock(f"sqlite:///{tmp_path / 'state.sqlite'}", "ag")
    code, events = _run_json(cfg, capsys)
    assert code == EXIT_LOCKED == 5
    assert sandbox.requests(kind="api") == []
    last = events[-1]
    assert last["event"] == "run_finished" and last["exit_code"] == 5
    (ag,) = last["agencies"]
    assert ag["agency"] == "ag" and ag["outcome"] == "locked" and ag["exit_code"] == 5
    assert "autre-machine" in ag["message"]
    assert [e["event"] for e in events].count("run_finished") == 1


def test_the_final_json_event_carries_the_nights_totals_per_agency(tmp_path: Path, sandbox, test_env,
                                                                    capsys) -> None:
    cfg = write_config(tmp_path, base_url=sandbox.base_url, token_url=sandbox.token_url,
                       agencies={"a1": write_payloads(tmp_path / "a1.jsonl", feed("a1", 3)),
                                 "a2": write_payloads(tmp_path / "a2.jsonl", feed("a2", 5))})
    code, events = _run_json(cfg, capsys)
    assert code == EXIT_OK
    last = events[-1]
    assert last["event"] == "run_finished" and last["exit_code"] == 0 and last["agencies_failed"] == 0
    assert last["totals"]["created"] == 8 and last["totals"]["read"] == 8
    assert {a["agency"]: (a["outcome"], a["created"]) for a in last["agencies"]} == {"a1": ("ok", 3),
                                                                                      "a2": ("ok", 5)}
    assert Path(last["reports"]).is_dir()


def test_a_guard_refusal_outranks_a_held_lock_in_a_nights_exit_code(tmp_path: Path, sandbox, test_env,
                                                                     capsys) -> None:
    path = write_payloads(tmp_path / "a1.jsonl", feed("a1", 5))
    cfg = write_config(tmp_path, base_url=sandbox.base_url, token_url=sandbox.token_url,
                       agencies={"a1": path, "a2": write_payloads(tmp_path / "a2.jsonl", feed("a2", 2))})
    assert _run_json(cfg, capsys)[0] == EXIT_OK
    path.write_bytes(b"")  # empty feed while 5 listings are online: the guard refuses a1
    _hold_lock(f"sqlite:///{tmp_path / 'state.sqlite'}", "a2")
    code, events = _run_json(cfg, capsys)
    assert code == EXIT_GUARD
    assert {a["agency"]: a["outcome"] for a in events[-1]["agencies"]} == {"a1": "feed_empty", "a2": "locked"}


@pytest.mark.parametrize("command", [["run"], ["plan"], ["status"], ["worker"], ["schedule"],
                                     ["webhook", "--listen", "127.0.0.1:0"]])
def test_a_configuration_error_ends_every_commands_json_log_with_exit_2(tmp_path: Path, capsys,
                                                                        command: list[str]) -> None:
    bad = tmp_path / "agencies.yaml"
    bad.write_text("version: 1\nagencies: []\nunknown: 1\n", encoding="utf-8")
    code = main([*command, "--config", str(bad), "--log-format", "json"])
    events = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert code == 2 and [e["event"] for e in events] == ["config_error", "run_finished"]
    assert events[-1]["exit_code"] == 2 and set(events[-1]["totals"]) >= {"read", "created", "failed"}


def test_worst_exit_ranks_a_held_lock_below_every_other_failure() -> None:
    assert worst_exit([0, 5, 1]) == 1
    assert worst_exit([5, 0]) == 5
    assert worst_exit([5, 4, 3]) == 4
    assert worst_exit([]) == 0


@pytest.mark.parametrize(("flag", "value"), [("--concurrency", "0"), ("--stall-timeout", "1"), ("--concurrency", "x")])
def test_a_bad_worker_option_is_exit_2_naming_the_flag_and_the_value(tmp_path: Path, capsys, flag: str,
                                                                     value: str) -> None:
    with pytest.raises(SystemExit) as stopped:  # not silently replaced by the configuration's value
        main(["worker", "--config", str(tmp_path / "agencies.yaml"), flag, value])
    said = capsys.readouterr().err
    assert stopped.value.code == 2 and f"argument {flag}" in said and f"invalide : {value}" in said
