"""One agency, one run, one story: the view its report, e-mail and workbook are laid out from.

Pure functions over the summary (what was read and what is wrong) and the
run (what was sent, what failed). Order of the page: the headline in words,
then the listings to fix grouped by listing, then the changes of the night.
Nothing here touches the disk.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import PurePath

from markupsafe import Markup, escape

from etl.issues import Issue
from etl.report.i18n import (TEXTS, Lang, code_text, field_label, fmt_date, fmt_duration, fmt_int, fmt_night, portal_name,
                             stem, tr)
from etl.report.run_info import AgencyRun, Change, PortalNote, RunKind
from etl.report.summary import AgencyTotals, ConvertSummary, ListingProblem, SourceInfo

MAX_CHANGES_SHOWN = 200  # per kind of change; the workbook has them all
MAX_CARDS_SHOWN = 300    # listings to fix on the page: an e-mail stays light; the workbook has them all
TOP_REASONS = 5
MAX_VALUE_SHOWN = 120    # characters of a value on the page (the workbook has 300)


@dataclass(slots=True)
class ProblemView:
    wrong: str            # « Prix absent — champ 11 (Prix / Loyer) »
    value: str | None     # the value read, None when there is none to show
    fix: str              # what to do
    code: str             # shown discreetly
    error: bool


@dataclass(slots=True)
class ListingCard:
    reference: str
    title: str
    photo: str
    where: str            # « Annonces.csv, ligne 12 »
    badge: str
    tone: str             # refused | portal | warned
    problems: list[ProblemView]
    rank: tuple[int, int, int]


@dataclass(slots=True)
class PortalLine:
    """A listing the portals flagged, as the report shows it."""

    reference: str
    title: str
    words: str                 # what happened
    why: str = ""              # the portal's own words
    failed_media: list[str] = field(default_factory=list)


@dataclass(slots=True)
class ChangeGroup:
    label: str
    tone: str
    items: list[Change]
    more: int = 0


@dataclass(slots=True)
class Bar:
    label: str
    count: int
    tone: str
    share: float          # of the whole bar, 0..1


@dataclass(slots=True)
class AgencyStory:
    agency_id: str
    label: str
    lang: Lang
    command: str
    title: str
    meta: list[str]
    tone: str                         # ok | todo | fail
    headline: str
    facts: list[str]
    failure: str | None = None        # what went wrong with the run itself
    todo: str | None = None           # what the agency or its vendor must do
    technical: str | None = None
    cards: list[ListingCard] = field(default_factory=list)
    omitted: int = 0
    changes_title: str = ""
    changes: list[ChangeGroup] = field(default_factory=list)
    no_changes: str | None = None
    portal_notes: list[PortalLine] = field(default_factory=list)
    quota_intro: str = ""
    over_quota: list[tuple[str, str, str]] = field(default_factory=list)   # (reference, title, what happened)
    outcome_bars: list[Bar] = field(default_factory=list)
    reason_bars: list[Bar] = field(default_factory=list)
    chart: Markup = Markup("")
    subject: str = ""
    needs_agency: bool = False
    footer: str = ""


# ------------------------------------------------------------------------------ helpers

_LOCATION_PREFIX = re.compile(r"^[^:]{0,300}?, lignes? [0-9][0-9 àand-]* : ")
_ABS_PATH = re.compile(r"(?<![\w.])/(?:[^\s/:«»()\"']+/)+([^\s/:«»()\"']+)")


def _hide_paths(text: str) -> str:
    """An agency's page names files, never the server's directories."""
    return _ABS_PATH.sub(lambda m: m.group(1), text)


def _specific_fix(message: str) -> str:
    # The location is shown on the card already.
    return _hide_paths(_LOCATION_PREFIX.sub("", message, count=1))


def _where(p: ListingProblem, lang: Lang) -> str:
    name = PurePath(p.location.file).name if p.location.file else ""
    line = p.location.line
    if name and line:
        return f"{name}, {tr('line', lang, n=line)}"
    return name


def problem_view(issue: Issue, lang: Lang) -> ProblemView:
    text = code_text(issue.code)
    wrong = text.title(lang)
    if issue.source_field:
        label = field_label(issue.source_field, lang)
        if label.isdigit():
            label = field_label(f"champ {label}", lang)
        wrong = f"{wrong} — {label}"
    if issue.portal and portal_name(issue.portal) not in wrong:
        wrong = f"{wrong} ({portal_name(issue.portal)})"
    # French: the issue's own sentence, which names the field, the value and the fix.
    # English: the code's general fix (the specific sentence exists only in French).
    fix = _specific_fix(issue.message) if lang == "fr" else text.fix(lang)
    value = issue.value
    if value is not None and len(value) > MAX_VALUE_SHOWN:  # a whole raw line: its start is enough to find it
        value = value[:MAX_VALUE_SHOWN] + "…"
    return ProblemView(wrong, value, fix, issue.code, issue.is_error)


def _card(p: ListingProblem, totals: AgencyTotals, kept: set[str], lang: Lang) -> ListingCard:
    refused_portals = [x for x in p.requested_portals if x not in p.portals]
    if not p.accepted:
        tone = "refused"
        badge = tr("b_kept" if p.source_key in kept else "b_refused", lang)
        order = 0
    elif any(i.is_error for i in p.issues) or refused_portals:
        tone, order = "portal", 1
        badge = tr("b_portal", lang, portals=", ".join(portal_name(x) for x in refused_portals) or "?")
    else:
        tone, order = "warned", 2
        badge = tr("b_warned", lang)
    # errors first within a listing; then what a fix would repair on the most listings
    issues = sorted(p.issues, key=lambda i: (not i.is_error, -totals.codes[i.code].listings
                                             if i.code in totals.codes else 0))
    reach = max((totals.codes[i.code].listings for i in p.issues if i.code in totals.codes), default=0)
    return ListingCard(
        reference=p.reference or p.source_key or "—", title=p.title, photo=p.photo if _is_http(p.photo) else "",
        where=_where(p, lang), badge=badge, tone=tone, problems=[problem_view(i, lang) for i in issues],
        rank=(order, -reach, p.location.line or 0),
    )


def _is_http(url: str) -> bool:
    return url.startswith(("https://", "http://"))


def listing_cards(totals: AgencyTotals, kept: set[str], lang: Lang) -> list[ListingCard]:
    """Grouped by listing; refused before portal-refused before warned, then by how many listings a fix repairs."""
    cards = [_card(p, totals, kept, lang) for p in totals.problems]
    cards.sort(key=lambda c: c.rank)
    return cards


# ------------------------------------------------------------------------------ the headline

def _failure(run: AgencyRun, lang: Lang) -> tuple[str, str]:
    kind = run.kind
    key = str(kind) if f"fail_{kind}" in _FAIL_KEYS else "other"
    what = tr(f"fail_{key}", lang, n=len(run.failures), live=run.live_before or 0, deletes=run.deletes_planned)
    return what, tr(f"do_{key}", lang)


_GUARDS = (RunKind.FEED_EMPTY, RunKind.FEED_TRUNCATED, RunKind.MASS_DELETE)
_FAIL_KEYS = {f"fail_{k}" for k in ("source_missing", "source_unreadable", "feed_empty", "feed_truncated",
                                     "mass_delete", "credentials", "auth", "api", "locked", "config")}


def portal_status_words(status: str, lang: Lang) -> str:
    key = f"ps_{status}"
    return tr(key, lang) if key in TEXTS else tr("ps_other", lang, status=status)


def portal_note_words(note: PortalNote, lang: Lang) -> str:
    """What happened, in words: the status's, or a refusal by some portals of a listing online on others."""
    portals = ", ".join(portal_name(p) for p in note.refused)
    if note.refused and note.status in ("CREATED", "UPDATED"):
        return tr("ps_refused_on", lang, portals=portals)
    if note.refused and note.status in ("CREATED_WITH_MEDIA_ERROR", "UPDATED_WITH_MEDIA_ERROR"):
        # both: the refusal must not hide behind the picture
        return tr("ps_refused_on_media", lang, portals=portals)
    return portal_status_words(note.status, lang)


def failure_words(run: AgencyRun, lang: Lang) -> str:
    """A few words for a subject line: « fichier non reçu »."""
    key = str(run.kind) if f"fail_{run.kind}" in _FAIL_KEYS else "other"
    return tr(f"sf_{key}", lang, n=len(run.failures))


def _facts(totals: AgencyTotals, run: AgencyRun | None, command: str, lang: Lang) -> list[str]:
    facts: list[str] = []
    applied = run is not None and not run.planned and run.kind in (RunKind.OK, RunKind.API)
    if command == "status":
        if run is not None and run.live_before is not None:
            facts.append(tr("s_online", lang, n=run.live_before))
        if run is not None and run.confirmed_online is not None:
            facts.append(tr("s_confirmed", lang, n=run.confirmed_online))
        if run is not None and run.portal_notes:
            facts.append(tr("s_portal_notes", lang, n=len(run.portal_notes)))
        return facts
    if command == "convert" or run is None:
        facts.append(tr("s_accepted", lang, n=totals.accepted))
    elif run.planned and run.kind is RunKind.OK:
        parts = [tr(k, lang, n=n) for k, n in (
            ("s_to_create", sum(1 for c in run.changes if c.planned_op == "create")),
            ("s_to_update", sum(1 for c in run.changes if c.planned_op == "update")),
            ("s_to_delete", sum(1 for c in run.changes if c.planned_op == "delete"))) if n]
        facts.append(", ".join(parts) if parts else tr("no_changes", lang))
    elif applied:
        assert run is not None
        parts = [tr(k, lang, n=n) for k, n in (("s_created", run.count("created")), ("s_updated", run.count("updated")),
                                                ("s_deleted", run.count("deleted"))) if n]
        facts.append(", ".join(parts) if parts else tr("no_changes", lang))
        if run.live_after is not None:
            facts.append(tr("s_online", lang, n=run.live_after))
        if run.confirmed_online is not None:
            facts.append(tr("s_confirmed", lang, n=run.confirmed_online))
    if totals.rejected and (run is None or run.kind in (RunKind.OK, RunKind.API)):
        kept = len(run.kept_keys) if run is not None else 0
        refused = tr("s_rejected", lang, n=totals.rejected)
        if kept:
            refused += " " + tr("s_kept", lang, n=kept)
        facts.append(refused)
    portal = sum(1 for p in totals.problems if p.accepted and (any(i.is_error and i.portal for i in p.issues)
                                                                or set(p.requested_portals) - set(p.portals)))
    if portal:
        facts.append(tr("s_portal", lang, n=portal))
    if totals.warned:
        facts.append(tr("s_warned", lang, n=totals.warned))
    if run is not None and run.portal_notes:
        facts.append(tr("s_portal_notes", lang, n=len(run.portal_notes)))
    if run is not None and run.over_quota:
        facts.append(tr("s_over_quota", lang, n=len(run.over_quota)))
    return facts


def _quota_lines(run: AgencyRun, lang: Lang) -> tuple[str, list[tuple[str, str, str]]]:
    quotas = ", ".join(tr("quota_quota", lang, n=n, portal=portal_name(p)) for p, n in sorted(run.quotas.items()))
    lines = []
    for q in sorted(run.over_quota, key=lambda q: q.reference or q.source_key):
        portals = ", ".join(portal_name(p) for p in q.portals)
        lines.append((q.reference or q.source_key, q.title,
                      tr("quota_withdrawn" if q.was_online else "quota_not_published", lang, portals=portals)))
    return tr("quota_intro", lang, quotas=quotas), lines


# ------------------------------------------------------------------------------ the chart

_TONE_COLOURS = {"online": "#8c959f", "created": "#1a7f37", "updated": "#0969da", "deleted": "#8250df",
                 "rejected": "#cf222e", "failed": "#82071e", "accepted": "#1a7f37", "reason-e": "#cf222e",
                 "reason-w": "#bf8700"}


def _outcome_bars(totals: AgencyTotals, run: AgencyRun | None, lang: Lang) -> list[Bar]:
    if run is None or run.planned or run.kind not in (RunKind.OK, RunKind.API):
        items = [("k_accepted", totals.accepted, "accepted"), ("k_rejected", totals.rejected, "rejected")]
    else:
        created, updated, deleted = run.count("created"), run.count("updated"), run.count("deleted")
        unchanged = max(0, (run.live_after or 0) - created - updated)
        items = [("k_online", unchanged, "online"), ("k_created", created, "created"),
                 ("k_updated", updated, "updated"), ("k_deleted", deleted, "deleted"),
                 ("k_rejected", totals.rejected, "rejected"), ("k_failed", len(run.failures), "failed")]
    total = sum(n for _, n, _ in items) or 1
    return [Bar(tr(k, lang), n, tone, n / total) for k, n, tone in items if n]


def _reason_bars(totals: AgencyTotals, lang: Lang) -> list[Bar]:
    top = totals.codes_by_frequency()[:TOP_REASONS]
    most = max((c.listings for _, c in top), default=1) or 1
    seen: dict[str, Bar] = {}
    for code, c in top:
        label = code_text(code).title(lang)
        tone = "reason-e" if c.severity == "error" else "reason-w"
        if label in seen:  # two codes, one title (E_/W_ of a portal rule): one bar
            seen[label].count += c.listings
            continue
        seen[label] = Bar(label, c.listings, tone, c.listings / most)
    return list(seen.values())


def chart_svg(bars: Sequence[Bar], label: str) -> Markup:
    """A stacked bar of outcomes: shapes only (the legend is HTML, so it reflows on a phone)."""
    x = 0.0
    rects = []
    for b in bars:
        w = b.share * 1000
        rects.append(f'<rect x="{x:.1f}" y="0" width="{w:.1f}" height="28" fill="{_TONE_COLOURS[b.tone]}">'
                     f"<title>{escape(b.label)} : {b.count}</title></rect>")
        x += w
    return Markup(f'<svg class="stack" viewBox="0 0 1000 28" preserveAspectRatio="none" role="img" '
                  f'aria-label="{escape(label)}">{"".join(rects)}</svg>')


def reason_svg(bar: Bar) -> Markup:
    w = max(bar.share * 1000, 8)
    return Markup(f'<svg class="bar" viewBox="0 0 1000 12" preserveAspectRatio="none" aria-hidden="true" '
                  f'><rect x="0" y="0" width="1000" height="12" fill="#eef1f4"/>'
                  f'<rect x="0" y="0" width="{w:.1f}" height="12" fill="{_TONE_COLOURS[bar.tone]}"/></svg>')


# ------------------------------------------------------------------------------ changes

def _change_groups(run: AgencyRun, lang: Lang) -> list[ChangeGroup]:
    if run.planned:
        groups = [(tr("c_created", lang), "created", [c for c in run.changes if c.planned_op == "create"]),
                  (tr("c_updated", lang), "updated", [c for c in run.changes if c.planned_op == "update"]),
                  (tr("c_deleted", lang), "deleted", [c for c in run.changes if c.planned_op == "delete"])]
    else:
        groups = [(tr("c_created", lang), "created", [c for c in run.changes if c.op == "created"]),
                  (tr("c_updated", lang), "updated", [c for c in run.changes if c.op == "updated"]),
                  (tr("c_deleted", lang), "deleted", [c for c in run.changes if c.op == "deleted"]),
                  (tr("c_failed", lang), "failed", run.failures)]
    out = []
    for label, tone, items in groups:
        if items:
            items = sorted(items, key=lambda c: (c.reference or c.source_key))
            out.append(ChangeGroup(f"{label} ({fmt_int(len(items), lang)})", tone, items[:MAX_CHANGES_SHOWN],
                                   max(0, len(items) - MAX_CHANGES_SHOWN)))
    return out


# ------------------------------------------------------------------------------ the story

def agency_sources(summary: ConvertSummary, totals: AgencyTotals) -> list[SourceInfo]:
    """The sources an agency's records came from (a single-source run is everybody's source)."""
    if len(summary.sources) <= 1:
        return list(summary.sources)
    return [s for s in summary.sources if any(f == s.path or f.startswith(s.path) for f in totals.files)]


def agency_label(totals: AgencyTotals, run: AgencyRun | None) -> str:
    if run is not None and run.name:
        return run.name
    return totals.agency_id or "(agence non identifiée)"


def build_story(summary: ConvertSummary, totals: AgencyTotals, run: AgencyRun | None = None, *,
                lang: Lang = "fr", generated_at: datetime | None = None) -> AgencyStory:
    command = summary.command
    label = agency_label(totals, run)
    now = generated_at or datetime.now().astimezone()
    meta = [tr("processed_at", lang, date=fmt_date(summary.started_at, lang),
               duration=fmt_duration(run.duration_s if run else summary.elapsed_s(), lang))]
    files = [PurePath(f).name for f in totals.files if f]
    source = run.source_name if run is not None and run.source_name else (", ".join(dict.fromkeys(files)) or None)
    # a feed that never came is named as expected, not as received
    received = "file_expected" if run is not None and run.kind is RunKind.SOURCE_MISSING else "file_received"
    meta.append(tr(received, lang, name=source) if source else tr("no_file", lang))
    if command == "convert":
        meta.append(tr("convert_note", lang))
    elif run is not None and run.planned:
        meta.append(tr("plan_note", lang))
    elif command == "status":
        meta.append(tr("status_note", lang))

    kept = run.kept_keys if run is not None else set()
    cards = listing_cards(totals, kept, lang)
    failed = run is not None and run.kind.failed
    # convert has no run: a source cut short is its failure (the loader's guard names it as a run failure)
    incomplete = [src for src in agency_sources(summary, totals) if not src.complete or src.problems]
    failed = failed or (run is None and bool(incomplete))
    to_fix = totals.rejected + sum(1 for c in cards if c.tone == "portal")
    if failed:
        tone, headline = "fail", tr("h_failed", lang)
    elif to_fix:
        tone, headline = "todo", tr("h_todo", lang)
    elif run is not None and run.portal_notes:
        tone, headline = "todo", tr("h_portals", lang)
    elif run is not None and run.over_quota:
        # valid listings the contract had no room for: not "everything online", and nothing to fix either
        tone, headline = "todo", tr("h_over_quota", lang)
    elif command == "convert":
        tone, headline = "ok", tr("h_checked", lang)
    else:
        tone, headline = "ok", tr("h_ok", lang)

    story = AgencyStory(agency_id=totals.agency_id, label=label, lang=lang, command=command,
                        title=tr("title", lang, agency=label), meta=meta, tone=tone, headline=headline,
                        facts=_facts(totals, run, command, lang))
    if failed and run is not None:
        story.failure, story.todo = _failure(run, lang)
        # a guard's own message speaks to the operator (--allow-mass-delete): the agency reads the headline
        tech = None if run.kind in _GUARDS else (run.guard or run.message)
        story.technical = _hide_paths(tech) if tech else None
    elif failed:
        story.failure, story.todo = tr("fail_file_incomplete", lang), tr("do_feed_truncated", lang)
        story.technical = _hide_paths(" ; ".join(pb for src in incomplete for pb in src.problems)) or None

    story.cards = cards[:MAX_CARDS_SHOWN]
    story.omitted = totals.omitted_problems + max(0, len(cards) - MAX_CARDS_SHOWN)
    if run is not None and command in ("run", "plan") and (run.planned or run.kind in (RunKind.OK, RunKind.API)):
        story.changes_title = tr("changes_title_plan" if run.planned else "changes_title", lang)
        story.changes = _change_groups(run, lang)
        if not story.changes:
            story.no_changes = tr("no_changes", lang)
    if run is not None and run.over_quota:
        story.quota_intro, story.over_quota = _quota_lines(run, lang)
    if run is not None:
        story.portal_notes = [PortalLine(n.reference or n.source_key, n.title, portal_note_words(n, lang), n.why,
                                         list(n.failed_media)) for n in run.portal_notes]

    story.outcome_bars = _outcome_bars(totals, run, lang)
    story.reason_bars = _reason_bars(totals, lang)
    story.chart = chart_svg(story.outcome_bars, tr("chart_title", lang))

    night = fmt_night(summary.started_at, lang)
    online = run.live_after if run is not None and run.live_after is not None else totals.accepted
    if failed:
        what = failure_words(run, lang) if run is not None else tr("sf_feed_truncated", lang)
        story.subject = tr("subj_failed", lang, what=what, agency=label, night=night)
    elif to_fix:
        story.subject = tr("subj_fix", lang, n=to_fix, online=online, agency=label, night=night)
    elif run is not None and run.portal_notes:
        story.subject = tr("subj_portals", lang, n=len(run.portal_notes), online=online, agency=label, night=night)
    elif run is not None and run.over_quota:
        story.subject = tr("subj_over_quota", lang, n=len(run.over_quota), online=online, agency=label, night=night)
    else:
        story.subject = tr("subj_ok", lang, n=online, agency=label, night=night)
    story.needs_agency = bool(to_fix) or (failed and (run is None or run.kind.needs_agency)) or \
        bool(run is not None and (run.portal_notes or run.over_quota))
    story.footer = tr("footer", lang, date=fmt_date(now, lang))
    return story


def build_stories(summary: ConvertSummary, *, languages: Mapping[str, Lang] | None = None,
                  generated_at: datetime | None = None) -> list[AgencyStory]:
    out = []
    for totals in summary.agencies:
        run = summary.runs.get(totals.agency_id)
        lang: Lang = run.language if run is not None else (languages or {}).get(totals.agency_id, "fr")
        out.append(build_story(summary, totals, run, lang=lang, generated_at=generated_at))
    return out


def plain_text(story: AgencyStory) -> str:
    """The e-mail's text part: the same story, for a client that shows no HTML."""
    lang = story.lang
    lines = [story.title, "=" * min(len(story.title), 72), "", *story.meta, "", story.headline.upper()]
    if story.failure:
        lines += ["", story.failure, f"{tr('what_to_do', lang)} {story.todo}"]
    lines += [f"- {f}" for f in story.facts]
    if story.cards:
        lines += ["", tr("fix_title", lang), "-" * len(tr("fix_title", lang))]
        for c in story.cards[:100]:
            head = f"* {c.reference}" + (f" — {c.title}" if c.title else "") + f" [{c.badge}]"
            lines.append(head + (f" ({c.where})" if c.where else ""))
            for pv in c.problems:
                value = "" if pv.value is None else f" « {pv.value} »" if pv.value else f" {tr('empty', lang)}"
                lines.append(f"    {pv.wrong}{value}")
                lines.append(f"      → {pv.fix}")
        if len(story.cards) > 100:
            lines.append(tr("c_more", lang, n=len(story.cards) - 100))
    if story.over_quota:
        lines += ["", tr("quota_title", lang), "-" * len(tr("quota_title", lang)), story.quota_intro]
        lines += [f"  - {ref}" + (f" — {title}" if title else "") + f"{tr('colon', lang)}{what}"
                  for ref, title, what in story.over_quota]
    if story.portal_notes:
        title = tr("portal_side_title", lang)
        lines += ["", title, "-" * len(title), tr("portal_side_intro", lang)]
        colon = tr("colon", lang)
        for n in story.portal_notes:
            lines.append(f"  - {n.reference}" + (f" — {n.title}" if n.title else "") + f"{colon}{n.words}")
            if n.why:
                lines.append(f"      {tr('ps_why', lang)}{colon}« {n.why} »")
            lines += [f"      {tr('ps_media', lang)}{colon}{url}" for url in n.failed_media]
    if story.changes:
        lines += ["", story.changes_title, "-" * len(story.changes_title)]
        for g in story.changes:
            lines.append(g.label)
            for ch in g.items[:50]:
                lines.append(f"  - {ch.reference or ch.source_key}" + (f" — {ch.title}" if ch.title else ""))
            if len(g.items) > 50 or g.more:
                lines.append("  " + tr("c_more", lang, n=len(g.items) - 50 + g.more if len(g.items) > 50 else g.more))
    elif story.no_changes:
        lines += ["", story.no_changes]
    lines += ["", story.footer, ""]
    return "\n".join(lines)
