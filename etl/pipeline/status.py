"""``classifieds-etl status``: fetch the latest publication status of each live listing."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any, TextIO


from etl.load.client import AvivClient
from etl.agencies import LoadedConfig
from etl.log import RunLog
from etl.load.state import StateStore
from etl.load.statuses import StatusUpdate, fold_status_events, latest_status, status_time
from etl.pipeline.reporting import portal_notes
from etl.errors import EXIT_FAILED, AuthError
from etl.load.tokens import TokenFile
from etl.report.run_info import RunKind

async def refresh_statuses(cfg: LoadedConfig, agency_id: str | None, *, state_url: str | None, out: TextIO,
                           log: RunLog, out_dir: Path | None = None) -> int:
    """Refresh the statuses, print what needs action, and write the reports (``out_dir``, default
    ``<reports_dir>/status-<timestamp>-<pid>``): each agency's page lists what its portals refused."""
    from etl.report.outdir import prepare_out_dir
    from etl.report.run_info import AgencyRun
    from etl.report.summary import ConvertSummary

    out_dir = prepare_out_dir(out_dir or cfg.reports_dir / f"status-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}")
    summary = ConvertSummary(command="status")
    store = StateStore.open(state_url or cfg.state_url)
    api = AvivClient(cfg.config.defaults.api, TokenFile(cfg.token_cache))
    code = 0
    try:
        fold_status_events(store, cfg.agencies_by_intermediary())  # callbacks first: a poll only adds newer news
        for agency in cfg.selected(agency_id):
            reports = cfg.reports(agency)
            summary.agency(agency.id)
            run = summary.runs[agency.id] = AgencyRun(agency.id, name=agency.name, language=reports.language,
                                                      recipients=list(reports.recipients), send=reports.send)
            creds = agency.credentials.resolve()
            live = [s for s in store.listings(agency.id).values() if s.live]

            async def one(s: Any) -> tuple[Any, Any]:
                return s, await api.statuses(creds, s.classified_id)

            try:
                answers = await asyncio.gather(*(one(s) for s in live))
            except AuthError as exc:
                log.event("auth_error", str(exc), level="error", agency=agency.id)
                run.kind, run.exit_code, run.message = RunKind.AUTH, EXIT_FAILED, f"authentification impossible : {exc}"
                code = 1
                continue
            run.live_before = len(live)
            counts: dict[str, int] = {}
            lag = cfg.config.defaults.api.visibility_lag
            polled: list[StatusUpdate] = []
            for s, r in answers:
                if r.status == 404 and time.time() - s.updated_at < lag:
                    # written moments ago: AVIV has not processed it yet, which is no error
                    counts["en cours de traitement"] = counts.get("en cours de traitement", 0) + 1
                    continue
                if not r.ok:
                    counts["?"] = counts.get("?", 0) + 1
                    out.write(f"[{agency.id}] {s.source_key}: statut illisible — {r.summary()}\n")
                    code = 1
                    continue
                latest = latest_status(r.body)
                status = latest.get("status") if latest else None
                counts[status or "-"] = counts.get(status or "-", 0) + 1
                if latest and status:
                    polled.append(StatusUpdate((agency.id,), s.classified_id, latest,
                                               status_time(latest.get("statusDate")) or time.time()))
            # the same fold as the webhook's, in one transaction: a newer status received by callback stays
            store.apply_statuses(polled)
            run.portal_notes, run.confirmed_online = portal_notes(store, agency.id)
            for note in run.portal_notes:
                why = note.why or (f"refusée sur {', '.join(note.refused)}" if note.refused else "")
                out.write(f"[{agency.id}] {note.source_key} : {note.status}" + (f" — {why}" if why else "") + "\n")
                for url in note.failed_media:
                    out.write(f"    média {url} : non téléchargé\n")
            line = ", ".join(f"{k}: {v}" for k, v in sorted(counts.items()))
            out.write(f"[{agency.id}] {len(live)} annonces en ligne — {line or 'aucune'}\n")
    finally:
        await api.aclose()
        store.close()
    from etl.report.writers import write_reports
    write_reports(summary, out_dir, lang=cfg.config.defaults.reports.language)
    out.write(f"\nrapports : {out_dir}\n")
    return code
