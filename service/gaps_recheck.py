"""After a docs change, re-ask the open gap groups' questions through the one answer path.

``recheck_open_groups`` takes the biggest open groups (at most ``gaps.recheck_groups``),
asks each label question as a public caller through ``runtime.answerer.answer`` (what a
customer would get now), and stores the outcome in ``gap_groups``: answered means closed
(with the time), not answered keeps it open. The report reads these states, so a doc
change that fills a gap shows up there as a closed group.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, insert

from docent.schema import Access
from service.conversation_queries import normalize_question
from service.conversation_tables import gap_groups
from service.gaps import gap_report

if TYPE_CHECKING:
    from service.runtime import Runtime

log = logging.getLogger(__name__)
# One re-check at a time per process: an ingest burst must not start a pile of answer runs.
_running = threading.Lock()


def _store(runtime: Runtime, label: str, answered: bool, answer: str, now: float) -> None:
    key = normalize_question(label)[:512]
    with runtime.conversations.engine.begin() as conn:
        conn.execute(delete(gap_groups).where(gap_groups.c.key == key))
        conn.execute(insert(gap_groups).values(key=key, label=label[:2000], checked_at=now,
                                               closed_at=now if answered else None,
                                               answer=answer[:4000] if answered else None))


async def recheck_open_groups(runtime: Runtime, *, limit: int | None = None) -> list[dict[str, Any]]:
    """Re-ask up to ``limit`` open groups' label questions (public access); returns what each got."""
    limit = runtime.settings.gaps.recheck_groups if limit is None else limit
    # Clustering is CPU work: off the event loop when this runs in the server's.
    report = await asyncio.to_thread(gap_report, runtime.conversations.engine, runtime.embedder,
                                     runtime.settings.gaps, visible_to=None, max_groups=max(limit * 3, limit))
    results = []
    for group in [g for g in report["groups"] if g["status"] == "open"][:limit]:
        ans = await runtime.answerer.answer(group["label"], [], Access.public())
        answered = bool(ans.answerable and ans.citations)
        _store(runtime, group["label"], answered, ans.text, time.time())
        results.append({"label": group["label"], "answered": answered})
    return results


def start_recheck(runtime: Runtime) -> threading.Thread | None:
    """Run ``recheck_open_groups`` in a daemon thread, unless one is already running."""
    if not _running.acquire(blocking=False):
        return None

    def run() -> None:
        try:
            results = asyncio.run(recheck_open_groups(runtime))
            if results:
                log.info("gap re-check after docs change: %d of %d groups now answered",
                         sum(r["answered"] for r in results), len(results))
        except Exception:  # a failed re-check must not take the ingest thread's host down
            log.exception("gap re-check failed")
        finally:
            _running.release()

    thread = threading.Thread(target=run, name="gap-recheck", daemon=True)
    thread.start()
    return thread
