"""Result bookkeeping for Delayed Job requeue / discard / unlock (bounded memory).

Classes need the handler parsed (≈0.5 ms a row with the Ruby-YAML loader): rows a class/error
filter already parsed carry theirs; for the others at most a budget of rows is parsed (2,000 for a
dry run — the preview a confirmation shows —, 50 for the run itself, where each parse is time spent
between transactions) and the result says which share the per-class counts cover.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from jobctl.model import MutationResult

if TYPE_CHECKING:
    from jobctl.backends.delayed_job.backend import DelayedJobBackend

SAMPLE = 5
CLASS_PARSE_BUDGET = 2000  # rows whose handler is parsed just to count classes (dry run)
MAX_SKIPPED_LISTED = 1000


@dataclass(slots=True)
class Sel:
    id: int
    queue: str | None
    job_class: str | None = None  # known when the handler was parsed


def sample_of(failure: Any) -> dict[str, Any]:
    return {"id": failure.id, "queue": failure.queue, "class": failure.job_class, "name": failure.name,
            "failed_at": failure.failed_at, "attempts": failure.attempts, "error": failure.error}


class Acc:
    """Counts with bounded memory. Classes need the handler parsed (≈0.5 ms a row): rows the
    filter already parsed carry theirs; others are parsed before acting, up to a budget."""

    def __init__(self, action: str, dry_run: bool, limit: int | None) -> None:
        self.res = MutationResult(action=action, dry_run=dry_run)
        self.limit = limit
        self.n_selected = 0
        self.scanned = 0
        self.budget = CLASS_PARSE_BUDGET if dry_run else CLASS_PARSE_BUDGET // 40
        self.parsed = 0
        self.unclassified = 0

    def full(self) -> bool:
        return self.limit is not None and self.n_selected >= self.limit

    def selected(self, s: Sel, sample: dict[str, Any] | None) -> None:
        self.n_selected += 1
        if sample is not None and len(self.res.sample) < SAMPLE:
            self.res.sample.append(sample)

    def wants_classes(self) -> bool:
        return self.parsed < self.budget

    def class_room(self) -> int:
        return max(0, self.budget - self.parsed)

    def classify(self, b: DelayedJobBackend, batch: list[Sel]) -> None:
        """Parse rows of this batch that have no class yet (within budget); fill the sample."""
        todo = [s for s in batch if s.job_class is None][: max(0, self.budget - self.parsed)]
        if not todo:
            return
        from sqlalchemy import select

        by_id = {s.id: s for s in todo}
        with b.read() as conn:
            t = b.table_for(conn)
            rows = conn.execute(select(*b.list_columns()).select_from(t.table).where(t.table.c.id.in_(list(by_id))))
            for row in rows:
                if row.failed_at is not None:
                    obj: Any = b.reader.failure(conn, row)
                    sample = sample_of(obj)
                else:
                    obj = b.reader.job(conn, row, now=b.now(), stale_before=b.stale_before())
                    sample = {"id": obj.id, "queue": obj.queue, "class": obj.job_class, "name": obj.name,
                              "locked_by": obj.locked_by, "locked_at": obj.locked_at, "attempts": obj.attempts}
                by_id[int(row.id)].job_class = obj.job_class
                if len(self.res.sample) < SAMPLE:
                    self.res.sample.append(sample)
        self.parsed += len(todo)

    def done_batch(self, batch: list[Sel]) -> None:
        r = self.res
        for s in batch:
            r.done += 1
            q = s.queue if s.queue is not None else "(none)"
            r.by_queue[q] = r.by_queue.get(q, 0) + 1
            if s.job_class is not None:
                r.by_class[s.job_class] = r.by_class.get(s.job_class, 0) + 1
            else:
                self.unclassified += 1

    def done_grouped(self, groups: dict[Any, int], classes: list[str]) -> None:
        """A range batch: rows done per queue, and the classes of those of them that were parsed."""
        r = self.res
        n = sum(groups.values())
        self.n_selected += n
        self.scanned += n
        r.done += n
        for q, k in groups.items():
            name = q if q is not None else "(none)"
            r.by_queue[name] = r.by_queue.get(name, 0) + k
        for cls in classes:
            r.by_class[cls] = r.by_class.get(cls, 0) + 1
        self.unclassified += n - len(classes)

    def skip(self, s: Sel, reason: str) -> None:
        self.res.skipped += 1
        if len(self.res.skipped_entries) < MAX_SKIPPED_LISTED:
            self.res.skipped_entries.append({"id": str(s.id), "reason": reason, "queue": s.queue})

    def finish_notes(self) -> None:
        if self.unclassified:
            counted = self.res.done - self.unclassified
            self.res.notes.append(
                f"per-class counts cover {counted} of {self.res.done} rows: classes need each handler parsed "
                f"(≈0.5 ms a row), so only the first {self.budget} rows without a class filter are parsed")

    def result(self) -> MutationResult:
        r = self.res
        r.selected = self.n_selected
        if r.dry_run:  # nothing was done; by_queue / by_class say what would be
            r.done = 0
        return r

    def interrupted_message(self) -> str:
        return (f"interrupted after {self.res.action} of {self.res.done} rows; every batch was one transaction, "
                "so each row is either done or untouched — rerun the same command to finish")
