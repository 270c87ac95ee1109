"""Coverage guarantee (analyzer/coverage.py): VAD speech that no word covers is decoded again, and what
stays unreadable is reported, turning a would-be "missing" finding into "needs listening".

Fast tests: constructed transcripts and frame probabilities, and a stand-in for the window decode that
answers like Whisper would (a skipped window, a window that yields nothing). The real-Whisper tests on
synthesized speech are in tests/test_coverage_e2e.py.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from analyzer import coverage
from analyzer.continuity import CaseFile, ContinuityReport
from analyzer.coverage import FRAME_S, CoverageSettings, ensure_coverage, find_gaps, speech_mask
from analyzer.guide import GuideError, load_guide
from analyzer.match import PhraseMatch
from analyzer.rules import evaluate
from analyzer.transcribe import Segment, TranscribeOptions, Transcript, Word

SR = 16_000


def probs_for(duration: float, speech: list[tuple[float, float]]) -> np.ndarray:
    """Silero-like frame probabilities: 0.9 inside the speech spans, 0.05 elsewhere."""
    t = np.arange(int(np.ceil(duration / FRAME_S))) * FRAME_S
    p = np.full(len(t), 0.05, np.float32)
    for a, b in speech:
        p[(t >= a) & (t < b)] = 0.9
    return p


def seg(start: float, end: float, text: str, *, recovered: bool = False) -> Segment:
    """A segment whose words (one per character) are spread evenly over [start, end]."""
    step = (end - start) / len(text)
    words = tuple(
        Word(round(start + i * step, 3), round(start + (i + 1) * step, 3), ch, 0.9)
        for i, ch in enumerate(text)
    )
    return Segment(start, end, text, text, -0.2, 0.01, 1.2, words, recovered)


def transcript(segments, duration: float, regions) -> Transcript:
    return Transcript(
        tuple(segments), "zh", duration, "faster-whisper", "base", speech_regions=tuple(regions)
    )


# Four sentences of continuous speech from 30 s; the first decode kept only the first one (the skip).
SENTENCES = [(30.0, 34.0), (34.5, 38.5), (39.0, 43.0), (43.5, 46.0)]
DURATION = 48.0


def skipped_transcript() -> Transcript:
    return transcript(
        [seg(1.0, 9.0, OPENING), seg(30.0, 34.0, TEXTS[0])],
        DURATION,
        [(0.6, 9.4), (29.6, 46.4)],
    )


def probs_skipped() -> np.ndarray:
    return probs_for(DURATION, [(1.0, 9.0), *SENTENCES])


def test_a_word_stretched_over_skipped_speech_does_not_cover_it():
    """Whisper's alignment can spread the few words of a skipping segment over the whole window."""
    t = transcript([seg(30.0, 46.0, "您好请出示证件")], DURATION, [(29.6, 46.4)])
    assert (
        find_gaps(
            t, speech_mask(probs_for(DURATION, [(30.0, 34.0)]), t.speech_regions, 0.5), CoverageSettings()
        )
        == []
    )
    speech = speech_mask(probs_skipped(), t.speech_regions, 0.5)
    gaps = find_gaps(t, speech, CoverageSettings())
    assert gaps and sum(g.speech_s for g in gaps) > 3.0


def test_find_gaps_one_stretch_for_skipped_sentences_and_none_for_a_pause():
    t = skipped_transcript()
    settings = CoverageSettings()
    speech = speech_mask(probs_skipped(), t.speech_regions, 0.5)
    gaps = find_gaps(t, speech, settings)
    assert len(gaps) == 1
    assert gaps[0].start == pytest.approx(34.5, abs=0.05) and gaps[0].end == pytest.approx(46.0, abs=0.05)
    assert gaps[0].speech_s == pytest.approx(10.5, abs=0.1)  # the pauses inside are not speech

    # A 1.9 s pause that VAD kept inside a region is not a gap; a 1.2 s unread word is below the minimum.
    t2 = transcript([seg(1.0, 4.0, "一二三四五六七八九十"), seg(5.9, 8.0, "十一十二")], 10.0, [(0.6, 8.4)])
    p2 = probs_for(10.0, [(1.0, 4.0), (5.9, 8.0)])
    assert find_gaps(t2, speech_mask(p2, t2.speech_regions, 0.5), settings) == []
    p3 = probs_for(10.0, [(1.0, 4.0), (4.4, 5.6), (5.9, 8.0)])
    assert find_gaps(t2, speech_mask(p3, t2.speech_regions, 0.5), settings) == []
    assert len(find_gaps(t2, speech_mask(p3, t2.speech_regions, 0.5), CoverageSettings(min_gap_s=1.0))) == 1


class FakeDecoder:
    """Stands in for recheck.decode_window: answers each window with the sentences it fully holds,
    except the first `skips` windows longer than 8 s, which come back with their first sentence only
    (Whisper's jump to the end of its window); `unreadable` spans never yield words."""

    def __init__(self, sentences, texts, skips: int = 0, unreadable=()):
        self.sentences, self.texts, self.skips, self.unreadable = sentences, texts, skips, unreadable
        self.calls: list[tuple[float, float, int]] = []

    def __call__(self, audio, start_s, end_s, options, beam_size, *, cache):
        self.calls.append((round(start_s, 2), round(end_s, 2), beam_size))
        inside = [
            (i, s)
            for i, s in enumerate(self.sentences)
            if s[0] >= start_s - 0.01 and s[1] <= end_s + 0.01
            and not any(a < s[1] and s[0] < b for a, b in self.unreadable)
        ]  # fmt: skip
        if self.skips and end_s - start_s > 8.0:
            self.skips -= 1
            inside = inside[:1]
        segments = [seg(s[0], s[1], self.texts[i]) for i, s in inside]
        return transcript(segments, end_s - start_s, [(start_s, end_s)])


OPENING = "今天上午九时我们在中州东路八十八号进行检查执法全过程记录开始"
TEXTS = [
    "您好请出示您的营业执照和证件",
    "您享有陈述权申辩权和行政救济权利",
    "请您认真阅读法律文书内容并签名",
    "请您收好文书",
]


def test_skipped_window_is_decoded_again_and_merged_in_time_order(monkeypatch):
    fake = FakeDecoder(SENTENCES, TEXTS, skips=1)  # the first re-decode skips too
    monkeypatch.setattr("analyzer.recheck.decode_window", fake)
    audio = np.zeros(int(DURATION * SR), np.float32)
    t = ensure_coverage(audio, probs_skipped(), skipped_transcript(), TranscribeOptions(), CoverageSettings())
    assert [s.text for s in t.segments] == [OPENING, *TEXTS]
    assert [s.recovered for s in t.segments] == [False, False, True, True, True]
    assert t.untranscribed == ()
    assert t.transcribed_s / t.vad_speech_s >= 0.99
    assert all(beam == 5 for *_, beam in fake.calls)
    # The second window starts where the first one stopped reading: a smaller window, never the same one.
    assert len(fake.calls) == len(set(fake.calls)) >= 2
    assert fake.calls[1][0] > fake.calls[0][0]


def test_unreadable_stretch_is_reported_and_each_window_tried_once(monkeypatch):
    fake = FakeDecoder(SENTENCES, TEXTS, unreadable=[(38.9, 43.1)])
    monkeypatch.setattr("analyzer.recheck.decode_window", fake)
    audio = np.zeros(int(DURATION * SR), np.float32)
    t = ensure_coverage(audio, probs_skipped(), skipped_transcript(), TranscribeOptions(), CoverageSettings())
    assert [s.text for s in t.segments if s.recovered] == [TEXTS[1], TEXTS[3]]
    assert len(t.untranscribed) == 1
    a, b = t.untranscribed[0]
    assert a == pytest.approx(39.0, abs=0.05) and b == pytest.approx(43.0, abs=0.05)
    assert t.vad_speech_s - t.transcribed_s == pytest.approx(4.0, abs=0.15)
    assert len(fake.calls) == len(set(fake.calls))  # alone, with context, then halves: each once


def test_a_window_is_decoded_once_even_when_two_stretches_give_it(monkeypatch):
    """A stretch with no words around it (a whole short file unread, seed 31's 031 at 10 dB) gets the
    same window alone and with the sentences around it: decoded once, its answer reused."""
    speech = [(1.0, 5.0), (5.6, 11.0)]
    fake = FakeDecoder(speech, ["请您签字", "请您收好证件"], unreadable=[(0.0, 12.0)])
    monkeypatch.setattr("analyzer.recheck.decode_window", fake)
    audio = np.zeros(int(12.0 * SR), np.float32)
    first = transcript([], 12.0, [(0.6, 11.4)])
    t = ensure_coverage(audio, probs_for(12.0, speech), first, TranscribeOptions(), CoverageSettings())
    assert t.untranscribed and sum(b - a for a, b in t.untranscribed) >= 9.0
    assert len(fake.calls) >= 2  # the whole stretch, then its halves
    assert len(fake.calls) == len(set(fake.calls)), fake.calls


def test_beam_zero_reports_without_decoding_and_budget_bounds_the_cost(monkeypatch):
    fake = FakeDecoder(SENTENCES, TEXTS)
    monkeypatch.setattr("analyzer.recheck.decode_window", fake)
    audio = np.zeros(int(DURATION * SR), np.float32)
    off = ensure_coverage(
        audio, probs_skipped(), skipped_transcript(), TranscribeOptions(), CoverageSettings(beam_size=0)
    )
    assert fake.calls == [] and len(off.untranscribed) == 1
    poor = ensure_coverage(
        audio,
        probs_skipped(),
        skipped_transcript(),
        TranscribeOptions(),
        CoverageSettings(max_redecode_s=5.0),
    )
    assert fake.calls == [] and len(poor.untranscribed) == 1
    assert any("budget" in w for w in poor.warnings)


def test_recovered_words_never_duplicate_words_already_heard(monkeypatch):
    """The window's margins hear the neighbouring sentence again; only the stretch's words are added."""

    def decode(audio, start_s, end_s, options, beam_size, *, cache):
        heard = [seg(29.9, 34.0, TEXTS[0]), seg(34.5, 38.5, TEXTS[1])]
        return transcript(heard, 20.0, [])

    monkeypatch.setattr("analyzer.recheck.decode_window", decode)
    audio = np.zeros(int(DURATION * SR), np.float32)
    t = ensure_coverage(audio, probs_skipped(), skipped_transcript(), TranscribeOptions(), CoverageSettings())
    assert [s.text for s in t.segments] == [OPENING, *TEXTS[:2]]
    assert [s.recovered for s in t.segments] == [False, False, True]
    assert [s.recovered for s in t.segments] == [False, False, True]


def test_invented_text_of_a_re_decode_is_not_taken_for_speech(monkeypatch):
    """Beam search on unreadable audio invents text (a courtesy phrase, one question in a loop): it must
    not cover the stretch, which is then reported."""

    def decode(audio, start_s, end_s, options, beam_size, *, cache):
        unsure = dataclasses.replace(seg(34.5, 36.0, "谢谢谢谢"), no_speech_prob=0.64, avg_logprob=-0.87)
        loop = [seg(37.0, 39.0, "那些人在哪里"), seg(40.0, 42.0, "那些人在哪里")]
        # Clear speech from the same window: the no-speech judgement is the window's, not the segment's.
        clear = dataclasses.replace(seg(43.5, 46.0, TEXTS[3]), no_speech_prob=0.66, avg_logprob=-0.26)
        return transcript([unsure, *loop, clear], end_s - start_s, [])

    monkeypatch.setattr("analyzer.recheck.decode_window", decode)
    audio = np.zeros(int(DURATION * SR), np.float32)
    t = ensure_coverage(audio, probs_skipped(), skipped_transcript(), TranscribeOptions(), CoverageSettings())
    assert [s.text for s in t.segments if s.recovered] == [TEXTS[3]]
    assert len(t.untranscribed) == 1
    assert t.untranscribed[0] == pytest.approx((34.5, 43.0), abs=0.05)


# Continuous speech over a cut the transcriber made at 30.0 s (a region longer than its window): the
# window before stopped at its last clear clause, the one after started at its first, and the clause
# across the cut (1.4 s, under coverage_min_gap_s) was read by neither.
ACROSS_CUT = [(25.0, 29.0), (29.2, 30.6), (30.8, 34.0)]
ACROSS_TEXTS = ["已被全过程记录涉嫌违反", "妨害公务罪", "将承担刑事责任"]


def across_cut(regions) -> Transcript:
    heard = [
        seg(1.0, 9.0, OPENING),
        seg(*ACROSS_CUT[0], ACROSS_TEXTS[0]),
        seg(*ACROSS_CUT[2], ACROSS_TEXTS[2]),
    ]
    return transcript(heard, DURATION, regions)


def test_speech_lost_at_a_cut_inside_continuous_speech_is_decoded_again(monkeypatch):
    """Shorter than a gap, but lost to both windows at a cut: decoded again with the sentences around
    the cut (beam search), and merged in time order; the same short stretch away from a cut is not
    (there it is a short misread, and decoding each would cost a window per pause)."""
    fake = FakeDecoder(ACROSS_CUT, ACROSS_TEXTS)
    monkeypatch.setattr("analyzer.recheck.decode_window", fake)
    audio = np.zeros(int(DURATION * SR), np.float32)
    probs = probs_for(DURATION, [(1.0, 9.0), *ACROSS_CUT])
    cut = across_cut([(0.6, 9.4), (24.6, 30.0), (30.0, 34.4)])
    speech = speech_mask(probs, cut.speech_regions, 0.5)
    assert find_gaps(cut, speech, CoverageSettings()) == []  # too short for the first pass

    t = ensure_coverage(audio, probs, cut, TranscribeOptions(), CoverageSettings())
    assert len(fake.calls) == 1
    start, end, beam = fake.calls[0]
    assert start <= ACROSS_CUT[0][0] and end >= ACROSS_CUT[2][1] and beam == 5  # the sentences around it
    recovered = [s for s in t.segments if s.recovered]
    assert len(recovered) == 1 and recovered[0].text in ACROSS_TEXTS[1] and len(recovered[0].text) >= 3
    assert [s.start for s in t.segments] == sorted(s.start for s in t.segments)
    assert t.transcribed_s / t.vad_speech_s >= 0.99 and t.untranscribed == ()
    assert coverage.gaps_at_cuts(cut, speech, CoverageSettings(), 0.25) == [
        pytest.approx((29.3, 30.5), abs=0.1)
    ]

    fake.calls.clear()
    paused = across_cut([(0.6, 9.4), (24.6, 34.4)])  # one region: no cut
    t = ensure_coverage(audio, probs, paused, TranscribeOptions(), CoverageSettings())
    assert fake.calls == [] and not any(s.recovered for s in t.segments)


def test_one_clause_looped_inside_a_segment_is_not_taken_for_speech():
    """Babble re-decoded gave 再偷懒,再偷懒,再偷懒 as one segment at -0.88: a loop inside one segment,
    not speech; a line that repeats a word inside other words is still speech."""
    options, settings = TranscribeOptions(), CoverageSettings()

    def heard(text: str) -> bool:
        s = dataclasses.replace(seg(10.0, 12.0, text), no_speech_prob=0.27, avg_logprob=-0.88)
        return coverage.plausible(s, options, settings, [text])

    assert not heard("再偷懒,再偷懒,再偷懒")
    assert not heard("好的 好的")
    assert heard("请您签字")
    assert heard("好的,请您签字,好的")


def test_settings_come_from_the_guide_and_are_validated(tmp_path):
    guide = load_guide()
    settings = CoverageSettings.from_settings(guide.settings)
    assert (settings.min_gap_s, settings.beam_size) == (1.5, 5)
    assert set(coverage.DEFAULTS) <= set(guide.settings)
    text = guide_text = open(guide.path, encoding="utf-8").read()
    for bad in ("coverage_beam_size = 2.5", "coverage_min_gap_s = 0.0", "coverage_tolerance_s = -1"):
        key = bad.split(" =")[0]
        line = next(ln for ln in guide_text.splitlines() if ln.startswith(key + " "))
        path = tmp_path / f"{key}.toml"
        path.write_text(text.replace(line, bad), encoding="utf-8")
        with pytest.raises(GuideError, match=key):
            load_guide(path)


# ---------------------------------------------------------------- rules


def absent_except(guide, said: dict[str, tuple[float, float]]):
    out = []
    for p in guide.phrases:
        if p.id in said:
            a, b = said[p.id]
            out.append(
                PhraseMatch(
                    p.id, "present", 95.0, a, b, p.standards[0], p.standards[0], occurrences=((a, b),)
                )
            )
        else:
            out.append(PhraseMatch(p.id, "absent", 0.0, None, None, "", p.standards[0]))
    return out


def one_file(duration: float) -> ContinuityReport:
    return ContinuityReport(
        files=(CaseFile("a.wav", 0.0, duration, None, "order"),), events=(), resumptions=()
    )


def test_missing_phrase_whose_window_overlaps_untranscribed_speech_needs_listening():
    guide = load_guide()
    said = {"request_id": (40.0, 43.0), "recording_notice": (44.0, 50.0)}
    base = transcript([seg(40.0, 43.0, TEXTS[0])], 60.0, [(1.0, 12.0), (40.0, 50.0)])
    plain = evaluate(absent_except(guide, said), one_file(60.0), base, guide)
    assert "opening_missing" in [f.code for f in plain.findings]

    unread = dataclasses.replace(base, untranscribed=((2.0, 11.5),), vad_speech_s=18.0, transcribed_s=8.5)
    ev = evaluate(absent_except(guide, said), one_file(60.0), unread, guide)
    codes = {f.code: f for f in ev.findings}
    assert "opening_missing" not in codes
    f = codes["opening_needs_listening"]
    assert (f.start_s, f.end_s, f.phrase_id) == (2.0, 11.5, "opening")
    assert f.severity == guide.findings["needs_listening"].severity
    assert "需人工听取" in f.message
    assert codes["untranscribed_speech"].start_s == 2.0
    opening = next(ps for ps in ev.phrase_scores if ps.phrase_id == "opening")
    assert opening.needs_listening and opening.points_lost == 0
    assert ev.score > plain.score

    # Outside the opening's window (30 s), the same stretch leaves the opening missing.
    late = dataclasses.replace(base, untranscribed=((52.0, 56.0),))
    ev = evaluate(absent_except(guide, said), one_file(60.0), late, guide)
    codes = [f.code for f in ev.findings]
    assert "opening_missing" in codes and "opening_needs_listening" not in codes


# ---------------------------------------------------------------- report


def test_report_coverage_on_the_case_timeline_and_in_html(tmp_path):
    from analyzer import report
    from analyzer.pipeline import RecordingResult, case_transcript

    guide = load_guide()
    a, b = str(tmp_path / "A_1.wav"), str(tmp_path / "A_2.wav")
    files = (CaseFile(a, 0.0, 30.0, None, "order"), CaseFile(b, 100.0, 30.0, None, "order"))
    first = transcript([seg(1.0, 5.0, TEXTS[0])], 30.0, [(0.6, 5.4)])
    second = transcript([seg(2.0, 6.0, TEXTS[1], recovered=True)], 30.0, [(1.6, 14.4)])
    transcripts = {
        a: dataclasses.replace(first, vad_speech_s=4.0, transcribed_s=4.0),
        b: dataclasses.replace(second, vad_speech_s=12.0, transcribed_s=4.0, untranscribed=((7.0, 14.0),)),
    }
    merged = case_transcript(files, transcripts)
    assert merged.untranscribed == ((107.0, 114.0),) and merged.vad_speech_s == 16.0
    matches = absent_except(guide, {"request_id": (101.0, 105.0)})
    cont = ContinuityReport(files=files, events=(), resumptions=())
    ev = evaluate(matches, cont, merged, guide)
    result = RecordingResult(
        paths=[a, b], name=str(tmp_path), is_case=True, files=files, duration_s=130.0,
        transcripts=transcripts, transcript=merged, matches=matches, continuity=cont, evaluation=ev,
        guide=guide,
    )  # fmt: skip
    rec = report.recording_to_dict(result)
    cov = rec["coverage"]
    assert (cov["vad_speech_s"], cov["transcribed_s"], cov["untranscribed_s"]) == (16.0, 8.0, 7.0)
    assert cov["untranscribed"] == [{"start_s": 107.0, "end_s": 114.0, "file": b, "file_start_s": 7.0}]
    assert cov["recovered_segments"] == 1
    assert [s["recovered"] for s in rec["transcript"]["segments"]] == [False, True]
    codes = [f["code"] for f in rec["findings"]]
    assert "opening_missing" in codes  # its window is the first 30 s: the stretch at 107 s cannot hold it
    listen = next(f for f in rec["findings"] if f["code"] == "recording_notice_needs_listening")
    assert listen["file"] == b and listen["file_start_s"] == 7.0  # untimed: the whole recording
    assert next(p for p in rec["phrases"] if p["id"] == "recording_notice")["needs_listening"] is True
    assert report.summary_row(rec)["untranscribed_s"] == 7.0

    html = report.render_html(rec, None, tmp_path / "r.html")
    assert html.count('class="item untr"') == 1 and "未转写语音" in html
    assert 'data-file="1" data-t="7.00"' in html  # the coverage line seeks into the second file
    assert "补回" in html and "需人工听取" in html


@pytest.mark.usefixtures("deaf_decoder")
def test_every_entry_point_passes_its_first_decode_through_the_coverage_pass(tmp_path, monkeypatch):
    """`analyze`, `transcribe`, `train` and the web app's jobs all run coverage.ensure_coverage on the
    transcript they decoded (through pipeline.covered_transcript or training), with the guide's settings,
    so none of them can lose a skipped window silently. Whisper is replaced by a decoder that hears
    nothing; what each entry point wrote is checked for the coverage figures."""
    import json

    import soundfile as sf

    from analyzer.cli import main
    from analyzer.web import jobs

    passed: list[tuple[Transcript, CoverageSettings]] = []
    real = coverage.ensure_coverage

    def spy(audio, probs, transcript, options, settings, **kw):
        passed.append((transcript, settings))
        return real(audio, probs, transcript, options, dataclasses.replace(settings, beam_size=0), **kw)

    monkeypatch.setattr(coverage, "ensure_coverage", spy)
    path = tmp_path / "clip.wav"
    sf.write(path, (0.01 * np.random.default_rng(13).standard_normal(3 * SR)).astype(np.float32), SR)
    entries = {
        "cli analyze": lambda: main(
            ["analyze", str(path), "-o", str(tmp_path / "out"), "--workers", "1", "--no-progress", "--force"]
        ),
        "cli transcribe": lambda: main(["transcribe", str(path), "-o", str(tmp_path / "tx")]),
        "cli train": lambda: main(["train", "--phrase", "opening", str(path)]),
        "web analysis job": lambda: jobs.run_pipeline([str(path)], None, lambda fraction, stage: None),
        "web training job": lambda: jobs.run_training(str(path), "opening", None, "张三", tmp_path / "web"),
    }
    guide = CoverageSettings.from_settings(load_guide().settings)
    for name, enter in entries.items():
        before = len(passed)
        enter()
        assert len(passed) > before, f"{name}: no coverage pass"
        assert passed[before][1] == guide, name
    written = json.loads((tmp_path / "tx" / "clip.json").read_text(encoding="utf-8"))
    assert written["vad_speech_s"] is not None and written["transcribed_s"] is not None
