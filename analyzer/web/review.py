"""Reviewer decisions on findings, and the final score that reflects them.

An overridden finding gives back the points the evaluation took for it: the finding's own
`points_lost` when the report states one, otherwise its phrase's `points_lost` from the per-phrase
breakdown, shared among the findings that name that phrase. Confirmed findings change nothing.
An interruption with a written explanation (第十条: recording truly could not continue) is no
violation: it gives its points back and leaves the open flags like an overridden finding.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from analyzer.web.db import Decision, Explanation, Recording, utcnow

ACTIONS = {"confirm": "确认", "override": "驳回（误报）"}
# Findings about an interruption of recording, which a written explanation (第十条) may answer.
EXPLAINABLE_CODES = ("interruption_unexplained", "gap", "dropout")


def keyed_findings(recording: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Stable keys for the findings of one analysed recording: code@start#n."""
    seen: Counter[str] = Counter()
    keyed = []
    for f in recording.get("findings") or []:
        start = f.get("start_s")
        base = f"{f.get('code', '?')}@{'-' if start is None else f'{float(start):.2f}'}"
        seen[base] += 1
        keyed.append((f"{base}#{seen[base]}", f))
    return keyed


def finding_points(recording: dict[str, Any]) -> dict[str, float]:
    keyed = keyed_findings(recording)
    phrase_lost = {
        p.get("id"): float(p.get("points_lost") or 0.0) for p in recording.get("phrases") or [] if p.get("id")
    }
    per_phrase = Counter(f.get("phrase_id") for _k, f in keyed if f.get("phrase_id"))
    points: dict[str, float] = {}
    for key, f in keyed:
        own = f.get("points_lost", f.get("points"))
        if isinstance(own, int | float):
            points[key] = float(own)
        elif f.get("phrase_id") in phrase_lost:
            points[key] = phrase_lost[f["phrase_id"]] / per_phrase[f["phrase_id"]]
        else:
            points[key] = 0.0
    return points


def latest_decisions(db: Session, rec: Recording) -> dict[str, Decision]:
    rows = db.scalars(select(Decision).where(Decision.recording_id == rec.id).order_by(Decision.id))
    return {d.finding_key: d for d in rows}


def explanations(db: Session, rec: Recording) -> dict[str, list[Explanation]]:
    """finding key -> its written explanations, newest first."""
    rows = db.scalars(
        select(Explanation).where(Explanation.recording_id == rec.id).order_by(Explanation.id.desc())
    )
    out: dict[str, list[Explanation]] = {}
    for e in rows:
        out.setdefault(e.finding_key, []).append(e)
    return out


def final_score(
    score: float,
    points: dict[str, float],
    decisions: dict[str, Decision],
    explained: set[str] | frozenset[str] = frozenset(),
) -> float:
    cleared = {k for k, d in decisions.items() if d.action == "override"} | set(explained)
    restored = sum(points.get(k, 0.0) for k in cleared)
    return round(min(100.0, score + restored), 1)


def recompute_final_score(db: Session, rec: Recording, recording: dict[str, Any]) -> None:
    rec.final_score = final_score(
        float(recording.get("score") or 0.0),
        finding_points(recording),
        latest_decisions(db, rec),
        set(explanations(db, rec)),
    )


def open_flags(db: Session, rec: Recording, recording: dict[str, Any]) -> list[str]:
    """Finding codes still standing (not overridden, not explained in writing), for the queue's
    flags and filters."""
    decisions = latest_decisions(db, rec)
    explained = set(explanations(db, rec))
    codes = []
    for key, f in keyed_findings(recording):
        d = decisions.get(key)
        standing = (d is None or d.action != "override") and key not in explained
        if standing and f.get("code") not in codes:
            codes.append(f.get("code"))
    from analyzer.web.metadata import RecordMetadata

    meta = db.get(RecordMetadata, rec.id)
    if meta is not None and meta.stored_late:
        codes.append("stored_late")  # 第十一条: stored more than 24 hours after recording
    return codes


def record_decision(
    db: Session,
    rid: int,
    recording: dict[str, Any],
    finding_key: str,
    action: str,
    comment: str,
    reviewer_id: int,
) -> Recording:
    """Store a decision and the final score and flags it leads to, in one transaction.

    The recording's row is locked first (SELECT ... FOR UPDATE on a server database); on SQLite the
    decision's INSERT takes the database's write lock before the decisions are read back, so two
    reviewers deciding at once are serialised and the score always reflects the latest decision.
    """
    rec = db.scalars(
        select(Recording)
        .where(Recording.id == rid)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    db.add(
        Decision(
            recording_id=rid,
            finding_key=finding_key,
            action=action,
            comment=comment,
            reviewer_id=reviewer_id,
            created_at=utcnow(),
        )
    )
    db.flush()
    # Re-read under the lock: a score loaded before it may be stale, and an attribute set to its
    # stale value again would not be written back at all.
    db.refresh(rec)
    recompute_final_score(db, rec, recording)
    rec.flags_json = json.dumps(open_flags(db, rec, recording))
    db.commit()
    return rec
