"""The container every request and worker gets: built by the composition root
(`api.bootstrap.build_container`), read by the routes and pages (`api.deps`)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from intake.context import IntakeContext
from intake.settings import IntakeSettings
from search import open_engine
from search.ports import SearchEngine
from tickets.core.attachments import BlobStore
from tickets.core.db import Database
from tickets.core.settings import Settings
from tickets.curation.linkcheck import LinkCheckSettings
from tickets.curation.search_log import log_search_queries
from tickets.curation.search_log_buffer import SearchLogBuffer
from tickets.curation.weeks import CurationSettings
from tickets.planner.settings import PlannerSettings
from tickets.protocol.settings import ProtocolSettings
from tickets.telephony.settings import TelephonySettings
from tickets.timecost.settings import TimeCostSettings


@dataclass
class Container:
    """Everything a request or a worker needs, built once per process."""

    settings: Settings
    db: Database
    blobs: BlobStore
    intake: IntakeSettings = field(default_factory=IntakeSettings)
    curation: CurationSettings = field(default_factory=CurationSettings)
    linkcheck: LinkCheckSettings = field(default_factory=LinkCheckSettings)
    planner: PlannerSettings = field(default_factory=PlannerSettings)
    telephony: TelephonySettings = field(default_factory=TelephonySettings)
    timecost: TimeCostSettings = field(default_factory=TimeCostSettings)
    """Time reports: the desk's days (`SEDNO_TIMEZONE`) and the longest range."""
    protocol: ProtocolSettings = field(default_factory=ProtocolSettings)
    """The printed ticket protocol: fonts and issuer (`SEDNO_PROTOCOL_*`)."""
    devops_timeout_s: float = 10.0
    """Timeout of one Azure DevOps request (tests shorten it)."""
    metrics: list[Callable[[], list[str]]] = field(default_factory=list)
    """Extra Prometheus lines contributed at run time (`/metrics`)."""
    _search: SearchEngine | None = None
    _search_lock: threading.Lock = field(default_factory=threading.Lock)
    _intake_ctx: IntakeContext | None = None
    _search_log: SearchLogBuffer | None = None
    _lazy_lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def search(self) -> SearchEngine:
        """The search engine, opened on first use (embedded tantivy or Meilisearch)."""
        with self._search_lock:
            if self._search is None:
                self._search = open_engine(
                    self.settings.data_dir,
                    self.settings.search.url,
                    self.settings.search.key,
                    embeddings=self.settings.search.embeddings,
                )
            return self._search

    @property
    def intake_ctx(self) -> IntakeContext:
        """Intake's context, one per process (it caches the current spam model)."""
        with self._lazy_lock:
            if self._intake_ctx is None:
                self._intake_ctx = IntakeContext(
                    self.settings, blobs=self.blobs, intake=self.intake
                )
            return self._intake_ctx

    @property
    def search_log(self) -> SearchLogBuffer:
        """The buffer of typed search queries, written to the curation's search log."""
        with self._lazy_lock:
            if self._search_log is None:
                self._search_log = SearchLogBuffer(self.db, log_search_queries)
            return self._search_log

    def close(self) -> None:
        if self._search_log is not None:
            self._search_log.close()
            self._search_log = None
        if self._search is not None:
            self._search.close()
            self._search = None
        self.db.dispose()


def planner_settings(container: Container) -> PlannerSettings:
    """The planner's settings (`SEDNO_TIMEZONE`, `SEDNO_PLANNER_*`)."""
    return container.planner
