"""``classifieds-etl sandbox`` as a separate process: configuration file, fault flags, state file, restart."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from test_sandbox_helpers import TLS, UA, example

from etl.sandbox import SandboxClient

CONFIG = """\
clients:
  - client_id: acme-crm
    client_secret: s3cret
    scopes: ["caas:classifieds:*"]
    intermediaries: ["AG75011"]
intermediaries:
  AG75011:
    portals: [SL]
    quotas: {SL: 10}
processing:
  delay_s: 0
  visibility_delay_s: 0
faults:
  seed: 3
"""


# The product command, and the same parser alone (quicker to start: it skips the other commands' imports).
FULL_COMMAND = [sys.executable, "-m", "etl", "sandbox"]
SANDBOX_ONLY = [sys.executable, "-m", "etl.sandbox"]


@contextmanager
def sandbox_process(*args: str, command: list[str] = SANDBOX_ONLY,
                    ) -> Iterator[tuple[subprocess.Popen[str], SandboxClient]]:
    process = subprocess.Popen([*command, "--port", "0", "--log-level", "warning", *args],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline() if process.stdout else ""
        assert "/caas/v4" in line, (line, process.stderr.read() if process.stderr else "")
        root = line.split("API ", 1)[1].split("/caas/v4", 1)[0]
        client = SandboxClient(root)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.health()
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the sandbox process never answered"
                time.sleep(0.05)
        yield process, client
        client.close()
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for stream in (process.stdout, process.stderr):
            if stream:
                stream.close()


def _token(sb: SandboxClient) -> str:
    response = httpx.post(sb.token_url, verify=TLS, json={
        "client_id": "acme-crm", "client_secret": "s3cret", "grant_type": "client_credentials",
        "audience": "https://api.aviv-group.com/caas/v4", "intermediary_id": "AG75011"})
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def test_the_command_serves_the_configured_sandbox_and_keeps_its_state_across_restarts(tmp_path: Path) -> None:
    config = tmp_path / "sandbox.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    state = tmp_path / "sandbox.sqlite"
    with sandbox_process("--config", str(config), "--state", str(state), command=FULL_COMMAND) as (process, sb):
        token = _token(sb)
        headers = {"Authorization": f"Bearer {token}", "User-Agent": UA}
        body = example("CLI-1", portals=["SL", "BD"])
        response = httpx.post(f"{sb.base_url}/classifieds", json=body, headers=headers, verify=TLS)
        assert response.status_code == 202, response.text
        cid = response.json()["classifiedId"]
        assert sb.classified(cid)["publishedPortals"] == ["SL"]  # BD is not in AG75011's contract
        assert sb.token_requests("acme-crm") == 1
        assert sb.faults().seed == 3
    assert process.returncode == 0
    with sandbox_process("--state", str(state), "--config", str(config), "--error-rate", "1") as (_, sb):
        assert sb.faults().error_rate == 1.0  # the flag overrides the file
        assert [c["classifiedId"] for c in sb.classifieds()] == [cid]
        failing = httpx.get(f"{sb.base_url}/classifieds/{cid}", headers=headers, verify=TLS)
        assert failing.status_code in (500, 502, 503)
        sb.clear_faults()
        assert httpx.get(f"{sb.base_url}/classifieds/{cid}", headers=headers, verify=TLS).status_code == 200


def test_a_bad_configuration_file_exits_2_naming_the_field(tmp_path: Path) -> None:
    config = tmp_path / "sandbox.yaml"
    config.write_text("faults:\n  error_rate: 3\n", encoding="utf-8")
    result = subprocess.run([*SANDBOX_ONLY, "--config", str(config)],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert "sandbox.yaml" in result.stderr and "faults.error_rate" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_out_of_range_fault_flag_exits_2() -> None:
    result = subprocess.run([*SANDBOX_ONLY, "--drop-rate", "1.5"],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2 and "faults.drop_rate" in result.stderr


def test_the_documented_configuration_file_is_valid(tmp_path: Path) -> None:
    from etl.sandbox import load_config

    docs = Path(__file__).resolve().parents[1] / "docs" / "sandbox.md"
    text = docs.read_text(encoding="utf-8")
    block = text.split("```yaml\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "sandbox.yaml"
    path.write_text(block, encoding="utf-8")
    config = load_config(path)
    assert config.contract("AG75011").quotas == {"BD": 5}
    assert config.processing.visibility_delay_s == 1.0 and config.processing.etag_on_write
    assert config.client("acme-crm") is not None and config.client("acme-crm").allows("AG69003")


def test_the_visibility_and_412_flags_reach_the_configuration() -> None:
    with sandbox_process("--visibility-delay", "2.5", "--precondition-failed-rate", "0.2") as (_, sb):
        config = httpx.get(f"{sb.root_url}/_sandbox/config", verify=TLS).json()
        assert config["processing"]["visibility_delay_s"] == 2.5 and config["processing"]["etag_on_write"] is True
        assert sb.faults().precondition_failed_rate == 0.2


def test_a_negative_visibility_delay_exits_2() -> None:
    result = subprocess.run([*SANDBOX_ONLY, "--visibility-delay", "-1"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 2 and "processing.visibility_delay_s" in result.stderr
