"""From the loader's results to the reports' terms (``etl.report.run_info``).

The reports never import the loader; this is the one place that translates
an ``AgencyResult`` (exit code, message, plan, operation results) into an
``AgencyRun``: which failure it was, what changed, what stays online.
"""

from __future__ import annotations

from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any

import orjson

from etl.agencies import Agency, LoadedConfig
from etl.errors import EXIT_FAILED, EXIT_GUARD, EXIT_LOCKED, EXIT_OK, EXIT_SOURCE, EXIT_USAGE
from etl.report.run_info import AgencyRun, Change, PortalNote, QuotaNote, RunKind
from etl.load.planner import Plan
from etl.load.state import StateStore
from etl.log import RunLog
from etl.report.summary import ConvertSummary, listing_title

if TYPE_CHECKING:  # run.py imports this module when it writes the reports
    from etl.pipeline.run import AgencyResult

MAX_PORTAL_NOTES = 200  # per agency: the listings a portal refused or could not complete
_DONE = {"created", "updated", "deleted"}


def classify(res: AgencyResult) -> RunKind:
    """Which failure an agency's run met, from its exit code, message and plan."""
    code, message, p = res.exit_code, (res.message or ""), res.plan
    if code == EXIT_OK:
        return RunKind.OK
    if code == EXIT_SOURCE:
        return RunKind.SOURCE_MISSING if res.source_missing else RunKind.SOURCE_UNREADABLE
    if code == EXIT_USAGE:
        return RunKind.CREDENTIALS if "variable d'environnement" in message else RunKind.CONFIG
    if code == EXIT_LOCKED:  # another run held the lock: refused before planning
        return RunKind.LOCKED
    if code == EXIT_GUARD and p is not None:
        if not p.feed_complete:
            return RunKind.FEED_TRUNCATED
        seen = len(p.creates) + len(p.updates) + len(p.unchanged) + len(p.kept) + len(p.deferred)
        return RunKind.FEED_EMPTY if seen == 0 else RunKind.MASS_DELETE
    if code == EXIT_FAILED:
        if message.startswith("authentification"):
            return RunKind.AUTH
        return RunKind.API
    return RunKind.OTHER


def _op_index(p: Plan | None) -> dict[str, tuple[str, str, str]]:
    """source key → (planned op, reference, title) from the plan's operations."""
    out: dict[str, tuple[str, str, str]] = {}
    if p is None:
        return out
    for op in p.operations:
        ref = op.outcome.reference if op.outcome is not None else ""
        title, _ = listing_title(op.body)
        out[op.key.source_key] = (op.op, ref, title)
    return out


def agency_run(cfg: LoadedConfig, agency: Agency, res: AgencyResult, *, dry_run: bool) -> AgencyRun:
    reports = cfg.reports(agency)
    p = res.plan
    run = AgencyRun(
        agency_id=agency.id, kind=classify(res), name=agency.name, exit_code=res.exit_code, message=res.message,
        guard=p.guard if p is not None else None, planned=dry_run,
        source_name=PurePath(res.source).name if res.source else PurePath(agency.source).name,
        duration_s=res.duration_s, live_before=p.live_before if p is not None else None,
        deletes_planned=len(p.deletes) if p is not None else 0,
        kept_keys={o.key.source_key for o in p.kept if o.key is not None} if p is not None else set(),
        language=reports.language, recipients=list(reports.recipients), send=reports.send,
    )
    if p is not None:
        run.quotas = {str(k): v for k, v in agency.quotas.items()}
        run.over_quota = [QuotaNote(m.source_key, m.reference, list(m.portals), m.published, m.was_online,
                                    listing_title(m.body)[0]) for m in p.over_quota]
    ops = _op_index(p)
    if dry_run:
        if p is not None and run.kind is RunKind.OK:
            run.changes = [Change("planned", sk, ref, title, planned_op=op) for sk, (op, ref, title) in ops.items()]
        return run
    for r in res.results:
        planned_op, ref, title = ops.get(r.source_key, (r.op, "", ""))
        result = r.result if r.result in _DONE else ("in_doubt" if r.result == "unknown" else "failed")
        run.changes.append(Change(result, r.source_key, r.reference or ref, title, planned_op=planned_op,
                                  http_status=r.http_status, detail=r.detail, traceparent=r.traceparent))
    return run


def portal_notes(store: StateStore, agency_id: str) -> tuple[list[PortalNote], int | None]:
    """What the portals last said (``status`` polls and ``webhook`` callbacks) of the agency's live
    listings: the ones that need the agency — refused by a portal and why, pictures not downloadable —
    and how many a portal confirmed online (None when no status is known yet)."""
    from etl.load.statuses import ONLINE, Publication

    live = [s for s in store.listings(agency_id).values() if s.status == "live"]
    known = [s for s in live if s.publication_status]
    confirmed = sum(1 for s in known if s.publication_status in ONLINE) if known else None
    flagged = []
    for s in sorted(known, key=lambda s: s.source_key):  # the same ones every night, whatever the store's order
        pub = Publication.load(s.publication_status, s.publication_detail)
        if pub is not None and pub.needs_action:
            flagged.append((s, pub))
    notes = []
    for s, pub in flagged[:MAX_PORTAL_NOTES]:
        full = store.listing(agency_id, s.source_key)
        body = orjson.loads(full.body) if full is not None and full.body else None
        reference = ""
        if isinstance(body, dict):
            reference = str(((body.get("data") or {}).get("metaData") or {}).get("source", {}).get("offererMarketingKey") or "")
        title, _ = listing_title(body)
        notes.append(PortalNote(s.source_key, reference, pub.status, title, refused=list(pub.refused), why=pub.why,
                                failed_media=list(pub.failed_media)))
    return notes, confirmed


def add_portal_notes(summary: ConvertSummary, state_url: str, agencies_of: dict[str, list[str]],
                     store: StateStore | None = None) -> None:
    """What the portals last said of each agency's listings, for their reports (from ``store``, or one
    opened on ``state_url`` for the purpose); the status callbacks the workers have not folded yet are
    folded first, so that the report misses none."""
    from etl.load.statuses import fold_status_events

    if store is None:
        with StateStore.open(state_url) as opened:
            add_portal_notes(summary, state_url, agencies_of, opened)
        return
    # a worker passes its own: opening one per agency was a connection and a migration check each
    fold_status_events(store, agencies_of)
    for agency_id, run in summary.runs.items():
        run.portal_notes, run.confirmed_online = portal_notes(store, agency_id)


def publish_reports(cfg: LoadedConfig, agencies: list[AgencyResult], summary: ConvertSummary, out_dir: Path, *,
                    dry_run: bool, log: RunLog, state_url: str | None = None,
                    operator: bool = True, store: StateStore | None = None) -> tuple[dict[str, Path], dict[str, Any]]:
    """Write the run's reports into ``out_dir``, e-mail them (not for a dry run), prune old run folders.

    ``operator=False`` (one queued agency's run) leaves out the operator's run e-mail: a night on
    workers is a thousand small runs, and the operator watches the queue instead.
    Returns (paths written, what became of the e-mails). Sending never raises: a message
    that cannot go stays in the outbox and is named in the log and in load.json.
    """
    from etl.report.mail import Delivery, Outbox, deliver, queue_run_messages
    from etl.report.outdir import prune_runs
    from etl.report.writers import write_reports

    by_id = {a.id: a for a in cfg.config.agencies}
    for res in agencies:
        agency = by_id.get(res.agency_id)
        if agency is not None:
            summary.runs[res.agency_id] = agency_run(cfg, agency, res, dry_run=dry_run)
    try:
        add_portal_notes(summary, state_url or cfg.state_url, cfg.agencies_by_intermediary(), store)
    except Exception as exc:  # noqa: BLE001 — the night's reports must not depend on this extra
        log.event("portal_notes", f"statuts des portails illisibles : {exc.__class__.__name__}", level="warning")
    defaults = cfg.config.defaults
    paths = write_reports(summary, out_dir, lang=defaults.reports.language, keep=("payloads.jsonl",))
    if out_dir.parent == cfg.reports_dir:
        prune_runs(cfg.reports_dir, defaults.reports_keep)
    delivery = Delivery()
    if dry_run:
        return paths, delivery.as_dict()
    email = defaults.email
    outbox = Outbox(cfg.outbox)
    try:
        queue_run_messages(summary, paths, outbox, sender=email.sender,
                           operator_recipients=email.operator_recipients if operator else (),
                           lang=defaults.reports.language, delivery=delivery)
    except OSError as exc:  # an unwritable outbox must not fail the night's data work
        log.event("mail_failed", f"boîte d'envoi {cfg.outbox} inutilisable : {exc.strerror or exc}", level="error")
        return paths, delivery.as_dict()
    deliver(outbox, email.smtp, delivery=delivery)
    for path, why in delivery.failed:
        log.event("mail_failed", f"e-mail {path.name} non envoyé, gardé dans {cfg.outbox} pour la prochaine "
                  f"exécution : {why}", level="warning")
    if delivery.sent or delivery.queued:
        where = "envoyés" if email.smtp is not None else f"déposés dans {cfg.outbox}"
        log.event("mail", f"{len(delivery.queued)} e-mails préparés, {len(delivery.sent)} envoyés"
                  if email.smtp is not None else f"{len(delivery.queued)} e-mails {where}",
                  queued=len(delivery.queued), sent=len(delivery.sent), failed=len(delivery.failed))
    return paths, delivery.as_dict()
