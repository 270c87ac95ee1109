"""An opening said but garbled beyond recognition is held for a reviewer, never asserted missing; an
opening not said stays flagged: the real pipeline (Whisper, its second looks, speakers, the rules) on
two scenario recordings of the seed-73 corpus, clean, the officer's voice sped up.

* 005 (inspection_partial): 2026年12月1日下午1时5分，在那个，呃，瀍河回族区启明南路兴隆建材门市部，
  执法全过程那个记录。 Whisper heard it clearly (log-probability -0.3) as 2026年12月1日下午一十五分,
  再那更,噩, 纯和回组取起名南路新王剑才没事捕, 只法全过成那个记录: too little of the wording for a partial
  opening, so it was reported `opening_missing` although a time and 执法全过程…记录 were heard.
* 001 (inspection_no_opening): the request for ID, a party's reply, the recording notice (with its own
  执法全过程): no opening, and `opening_missing` must stay."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from analyzer.pipeline import AnalyzeOptions, RecordingResult, analyze_recording

pytestmark = pytest.mark.slow


def _render(index: int, out: Path) -> list[str]:
    from bench.scenarios import build_scenario, make_corpus_plan

    scenario = make_corpus_plan(48, seed=73, snr_levels=(None, 10.0, 5.0))[index]
    truth = build_scenario(scenario, out)
    return [str(next(out.rglob(f["name"]))) for f in truth["files"]]


def _analyze_fresh(paths: list[str]) -> RecordingResult:
    """In a new process: Whisper's fallback sampler is seeded once per process."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(analyze_recording, (paths, AnalyzeOptions(cache=False)))


def _codes(r: RecordingResult) -> list[str]:
    assert r.error is None and r.evaluation is not None
    return [f.code for f in r.evaluation.findings]


def test_a_garbled_opening_is_held_for_listening_not_missing(tmp_path):
    r = _analyze_fresh(_render(5, tmp_path))
    codes = _codes(r)
    assert "opening_missing" not in codes
    opening = next(m for m in r.matches if m.phrase_id == "opening")
    if opening.status == "absent":  # as Whisper base reads it today
        held = next(f for f in r.evaluation.findings if f.code == "opening_needs_listening")
        assert "部分相符" in held.message
        assert held.start_s is not None and held.end_s is not None and held.start_s < 11.0  # said 1.0-10.4 s


def test_an_inspection_without_an_opening_stays_flagged(tmp_path):
    r = _analyze_fresh(_render(1, tmp_path))
    codes = _codes(r)
    assert "opening_missing" in codes and "opening_needs_listening" not in codes
    assert next(m for m in r.matches if m.phrase_id == "opening").status == "absent"
