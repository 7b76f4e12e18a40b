"""Convert: extract → map → validate, one ``Outcome`` per source record (streaming).

Everything per feed (the compiled mapping, the labels of source fields, the
per-agency options) is prepared once; per record the work is one generated
mapping function, the body's schema check, the portal rules and a hash.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from etl import __version__
from etl.extract.base import Feed
from etl.extract.registry import AUTO, identify
from etl.records import FeedFacts, RecordError, SourceRecord
from etl.errors import ConfigError
from etl.issues import Issue
from etl.mapping import CompiledMapping, FeedContext, MappingSpec, load_mapping
from etl.mapping.engine import Mapped
from etl.model.canonical import payload_and_hash
from etl.model.check import check_body
from etl.outcome import ListingKey, Outcome
from etl.validate.portals import evaluate
from etl.validate.settings import PortalRules
from etl.pipeline import convert_workers
from etl.pipeline.convert_workers import Work, convert_chunks


@dataclass(frozen=True)
class AgencyOptions:
    """What conversion needs to know about one agency (from ``agencies.yaml``; defaults for ``convert``)."""

    portal_rules: PortalRules = field(default_factory=PortalRules)
    photo_base_url: str | None = None
    source_system: str | None = None
    offerer_estate_id: str | None = None  # template over {agency_id} and {source_key}


@lru_cache(maxsize=1)
def _default_options() -> AgencyOptions:
    return AgencyOptions()


class Converter:
    """One compiled mapping applied to the records of one feed."""

    def __init__(self, spec: MappingSpec, columns: dict[str, int], labels: Callable[[str], str],
                 options_for: Callable[[str], AgencyOptions], *, blank_markers: frozenset[str] = frozenset()) -> None:
        self.spec = spec
        self.compiled = CompiledMapping(spec, columns, labels, blank_markers=blank_markers)
        self.labels = labels
        self.options_for = options_for
        self._path_sources = self._index_path_sources(spec)
        # Portal rules name the field inside their messages (« complétez le descriptif (champ 21) »).
        self._source_fields = {path: labels(source) for path, source in self._path_sources}
        self._source_cache: dict[str, str | None] = {}
        choosers = self.compiled.label_choosers
        self._labels_view = ListingLabels(self._source_fields, choosers) if choosers else None
        self._feed_contexts: dict[str, FeedContext] = {}

    @staticmethod
    def _index_path_sources(spec: MappingSpec) -> list[tuple[str, str]]:
        """AVIV path → the source field that fills it, so a portal rule's issue names the column."""
        seen: dict[str, str] = {}
        for rule in spec.rules:
            if rule.sources and not rule.to.startswith("@"):
                seen.setdefault(rule.to, rule.sources[0])
        return sorted(seen.items(), key=lambda kv: -len(kv[0]))

    def source_of(self, path: str) -> str | None:
        """The label of the source field behind an AVIV path (or its nearest mapped parent/child)."""
        if path not in self._source_cache:
            self._source_cache[path] = next(
                (self.labels(source) for prefix, source in self._path_sources
                 if path == prefix or path.startswith(prefix + ".") or prefix.startswith(path + ".")), None)
        return self._source_cache[path]

    def _labelled(self, issue: Issue) -> Issue:
        """Extraction issues name fields by rank ("175"); reports name them as the mapping does."""
        name = issue.source_field
        if name and name.isdigit():
            return Issue(issue.code, issue.message, issue.severity, self.labels(name), issue.aviv_path,
                         issue.value, issue.portal)
        return issue

    def feed_context(self, agency_id: str, base: FeedContext) -> FeedContext:
        ctx = self._feed_contexts.get(agency_id)
        if ctx is None:
            options = self.options_for(agency_id)
            ctx = FeedContext(agency_id=agency_id, photos_mode=base.photos_mode,
                              photo_base_url=options.photo_base_url, photo_versions=base.photo_versions)
            self._feed_contexts[agency_id] = ctx
        return ctx

    def convert(self, record: SourceRecord, base: FeedContext) -> Outcome:
        agency = record.agency_id
        options = self.options_for(agency)
        mapped = self.compiled.apply(record, self.feed_context(agency, base))
        identity = self.spec.identity
        reference = record.get(identity.marketing_key).strip()
        template = options.offerer_estate_id or identity.offerer_estate_id
        estate_id = template.format(agency_id=agency, source_key=record.source_key)
        data = mapped.body.setdefault("data", {})
        data["metaData"] = {"source": {
            "sourceSystem": options.source_system or identity.source_system,
            "sourceSystemVersion": identity.source_system_version or __version__,
            "offererMarketingKey": reference,
            "offererEstateId": estate_id,
        }}
        issues: list[Issue] = [self._labelled(i) for i in record.issues] + mapped.issues if record.issues \
            else mapped.issues.copy()
        if len(estate_id) > 512:
            issues.append(Issue("E_ESTATE_ID_TOO_LONG",
                                f"Identifiant d'annonce trop long ({len(estate_id)} caractères, 512 au plus).",
                                aviv_path="data.metaData.source.offererEstateId", value=estate_id[:80]))

        requested = list(mapped.outputs.get("portals") or [])
        if not mapped.outputs.get("portals_explicit"):
            # Field 82 empty: "every portal the agency subscribes to", plus what the type implies.
            requested = list(dict.fromkeys([*options.portal_rules.default_portals, *requested]))
        labels = self._labels_view
        if labels is not None:
            labels.mapped = mapped
        verdict = evaluate(mapped.body, requested, options.portal_rules, source_fields=labels if labels is not None else self._source_fields)
        # The body sent: portals first, for a readable payload.
        body: dict[str, Any] = {"portals": verdict.portals, **mapped.body}
        mapped_paths = {i.aviv_path for i in mapped.issues if i.is_error} if mapped.issues else ()
        for issue in verdict.issues + check_body(body):
            if issue.is_error and issue.aviv_path in mapped_paths:
                continue  # the mapping already said what is wrong with that field, in the agency's terms
            if issue.source_field is None and issue.aviv_path:
                source = self.source_of(issue.aviv_path)
                if source:
                    issue = Issue(issue.code, issue.message, issue.severity, source, issue.aviv_path,
                                  issue.value, issue.portal)
            issues.append(issue)
        if issues:  # most listings have nothing to say: no comprehension to run then
            errors = {(i.source_field, i.value) for i in issues if i.is_error and i.source_field}
            if errors:
                # One problem, one line: a value that rejects the record is not also listed as ignored.
                issues = [i for i in issues if i.is_error or (i.source_field, i.value) not in errors]
            accepted = verdict.accepted and not any(i.is_error for i in issues)
        else:
            accepted = verdict.accepted
        payload, body_hash = payload_and_hash(body) if accepted else (None, None)
        # Positional, in the order of Outcome's fields: keywords cost more, per record.
        # (location, key, reference, accepted, body, body_hash, requested_portals, portals, issues, payload)
        return Outcome(record.location, ListingKey(agency, record.source_key), reference, accepted,
                       body if accepted else None, body_hash, verdict.requested,
                       verdict.portals if accepted else [], issues, payload)


class ListingLabels(Mapping[str, str]):
    """AVIV path → source field label for one listing: where several rules write a path, the label
    of the rule that applies to this listing (the mapping's ``label_choosers``)."""

    __slots__ = ("_base", "_choosers", "mapped")

    def __init__(self, base: Mapping[str, str], choosers: Mapping[str, Callable[..., str]]) -> None:
        self._base = base
        self._choosers = choosers
        self.mapped: Mapped | None = None  # the listing being checked (one view per converter, reused)

    def __getitem__(self, path: str) -> str:
        choose = self._choosers.get(path)
        if choose is None:
            return self._base[path]
        m = self.mapped
        assert m is not None
        return choose(m.values, m.body, m.outputs)

    def __iter__(self) -> Iterator[str]:
        return iter(self._base)

    def __len__(self) -> int:
        return len(self._base)


def rejected_at_extraction(error: RecordError) -> Outcome:
    key = ListingKey(error.agency_id, error.source_key) if error.agency_id and error.source_key else None
    return Outcome(location=error.location, key=key, reference="", accepted=False, issues=list(error.issues))


def open_source(source: str | Path, *, mapping: str | Path | None = None, format: str = AUTO,
                agency_id: str | None = None, options: Mapping[str, Any] | None = None) -> tuple[Feed, MappingSpec]:
    """The feed and the mapping that reads it. A mapping names its format, so the content must be
    of that format; without a mapping, the content decides and its format's default mapping is used.
    ``options`` override the mapping's ``source:`` block (an agency's ``source_options``)."""
    spec = load_mapping(mapping) if mapping is not None else None
    if spec is not None and format not in (AUTO, spec.format):
        raise ConfigError(f"le format demandé ({format}) n'est pas celui de la mapping {spec.mapping} ({spec.format})")
    container, fmt = identify(source, format=spec.format if spec is not None else format)
    if spec is None:
        if fmt.default_mapping is None:
            # A format that reads nothing unmapped (any XML by XPath) or only refuses (OpenImmo)
            # says itself what is wrong with the source; failing that, the mapping is missing.
            fmt.open(container, agency_id=agency_id, options=options or {})
            raise ConfigError(f"aucune mapping par défaut pour le format {fmt.name} : indiquez-en une (--mapping)")
        spec = load_mapping(fmt.default_mapping)
    try:
        feed = fmt.open(container, agency_id=agency_id, options={**spec.source, **(options or {})})
    except ConfigError as exc:  # the format knows the options, not the file they came from
        raise ConfigError(f"mapping {spec.mapping} : {exc}") from None
    return feed, spec


def convert(source: str | Path, *, agency_id: str | None = None, mapping: str | Path | None = None,
            stats: FeedFacts | None = None, only_agency: str | None = None,
            options_for: Callable[[str], AgencyOptions] | None = None, format: str = AUTO,
            source_options: Mapping[str, Any] | None = None, workers: int = 1) -> Iterator[Outcome]:
    """Stream the outcomes of one source (``open_source`` then ``convert_feed``).

    ``agency_id`` is the agency of records that name none; ``only_agency`` keeps the records of
    one agency of a grouped send. Raises ``SourceUnreadable`` when the source cannot be opened
    at all (``UnsupportedFeed`` when it is in no format this configuration reads).
    """
    feed, spec = open_source(source, mapping=mapping, format=format, agency_id=agency_id, options=source_options)
    return convert_feed(feed, spec, stats=stats, only_agency=only_agency, options_for=options_for, workers=workers)


def convert_feed(feed: Feed, spec: MappingSpec, *, stats: FeedFacts | None = None, only_agency: str | None = None,
                 options_for: Callable[[str], AgencyOptions] | None = None, workers: int = 1,
                 keep_bodies: bool = True, chunk_bytes: int | None = None,
                 progress: Callable[[int, int, int], None] | None = None) -> Iterator[Outcome]:
    """Stream the outcomes of an opened feed. ``stats`` (the conductor's facts about the feed,
    counted after the ``only_agency`` filter) is final once the outcomes are exhausted.

    ``workers`` > 1: a feed whose format can split it and that is large enough (``MIN_CHUNKS``
    chunks of ``chunk_bytes``, default ``convert_workers.CHUNK_BYTES``) is converted by that many processes, with the same outcomes in the
    same order (``convert_workers``). ``keep_bodies=False``: accepted listings with nothing to
    report come without ``body`` (their ``payload`` is the body, serialised). ``progress`` is told
    (records, bytes read, bytes in all; 0, 0 when unknown) now and then."""
    stats = stats if stats is not None else FeedFacts(source=feed.source)
    stats.format = feed.format.name
    converter = Converter(spec, dict(feed.columns), feed.label, options_for or (lambda _a: _default_options()),
                          blank_markers=feed.format.blank_markers)
    base = FeedContext(photos_mode=feed.media_mode, photo_versions=feed.media_versions())
    chunk_bytes = chunk_bytes or convert_workers.CHUNK_BYTES
    chunking = feed.chunking(chunk_bytes, min_bytes=convert_workers.MIN_CHUNKS * chunk_bytes) if workers > 1 else None
    if chunking is not None:
        work = Work(chunking, converter.convert, rejected_at_extraction, base, only_agency, keep_bodies,
                    feed.facts.dialect)
        yield from convert_chunks(work, stats, workers=workers, progress=progress)
    else:
        for item in feed.records():
            if only_agency is not None:
                item_agency = item.agency_id
                if item_agency is not None and item_agency != only_agency:
                    stats.other_agencies += 1
                    continue
            stats.records += 1
            if isinstance(item, RecordError):
                yield rejected_at_extraction(item)
            else:
                if stats.dialect is None:
                    stats.dialect = item.format_version or feed.facts.dialect
                yield converter.convert(item, base)
            if progress is not None and not stats.records & 1023:
                progress(stats.records, 0, 0)
        if progress is not None:
            progress(stats.records, 0, 0)
    stats.encoding = feed.facts.encoding
    stats.errors = feed.facts.errors
    stats.lines = feed.facts.lines
    if stats.dialect is None:
        stats.dialect = feed.facts.dialect
    stats.problems.extend(i.message for i in feed.issues)
    if not stats.records:
        # Not an unknown format and not an error: the loader's guard decides what it means for a run.
        whose = f" pour l'agence {only_agency}" if only_agency is not None else ""
        stats.problems.append(f"{feed.source} : aucune annonce{whose} dans ce flux (export vide ?).")
    if feed.facts.complete is False:
        stats.complete = False
        stats.problems.extend(feed.facts.problems)
