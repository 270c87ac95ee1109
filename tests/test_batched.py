"""Batched decoding (analyzer.batched): how VAD regions become chunks, and that batched decoding of
real synthesized speech covers the VAD speech and reads like sequential decoding.

The slow tests' bounds come from bench/bench_speed.py (bench/results/speed.md): on the 15-minute
recording batched and sequential CER differ by under 0.02; on this clip batched CER was 0.19 against
sequential 0.17 (bounds: measured + margin).
"""

from __future__ import annotations

import numpy as np
import pytest

from analyzer.batched import (
    _EncodeInGroups,
    as_one_window,
    batches,
    chunk_regions,
    concat_probs,
    is_silent,
    needs_fallback,
    pauses,
    read_until,
    remainder,
    snap_to_speech,
    words_before,
)
from analyzer.transcribe import TranscribeOptions, transcribe

SR = 16_000


def _r(a_s: float, b_s: float) -> dict:
    return {"start": int(a_s * SR), "end": int(b_s * SR)}


def test_regions_pack_into_chunks_of_at_most_thirty_seconds_in_order():
    speech = [_r(0, 10), _r(12, 22), _r(25, 33), _r(40, 52), _r(60, 61)]
    chunks = chunk_regions(speech)
    assert [len(c) for c in chunks] == [3, 2]  # 10 + 10 + 8 = 28 s; + 12 would be 40 s
    assert [r for c in chunks for r in c] == speech  # every region once, in order, unchanged
    for c in chunks:
        assert sum(r["end"] - r["start"] for r in c) <= 30 * SR


def test_a_region_longer_than_a_chunk_is_cut_not_truncated():
    speech = [_r(1, 3), _r(5, 72), _r(80, 81)]
    chunks = chunk_regions(speech)
    flat = [r for c in chunks for r in c]
    assert sum(r["end"] - r["start"] for r in flat) == sum(r["end"] - r["start"] for r in speech)
    assert all(sum(r["end"] - r["start"] for r in c) <= 30 * SR for c in chunks)
    assert flat[0] == speech[0] and flat[-1] == speech[-1]
    cut = [r for r in flat if _r(5, 72)["start"] <= r["start"] < _r(5, 72)["end"]]
    assert cut[0]["start"] == speech[1]["start"] and cut[-1]["end"] == speech[1]["end"]
    assert all(a["end"] == b["start"] for a, b in zip(cut, cut[1:], strict=False))  # contiguous


def test_empty_and_tiny_inputs():
    assert chunk_regions([]) == []
    assert chunk_regions([{"start": 5, "end": 6}]) == [[{"start": 5, "end": 6}]]
    assert list(batches([[_r(0, 1)]] * 5, 2)) == [[[_r(0, 1)]] * 2, [[_r(0, 1)]] * 2, [[_r(0, 1)]]]


def test_a_chunk_is_filled_to_a_pause_inside_the_next_region_not_left_short():
    """The VAD splits long speech at its 30 s limit, leaving a short rest that does not fit beside the
    next long region: cut only between regions, it went alone into a chunk of a few seconds. The chunk
    is filled to the next region's last pause that fits (as a sequential window ends at a timestamp
    between sentences), and the rest of that region opens the next chunk."""
    speech = [_r(0, 28), _r(28, 33), _r(36, 65), _r(70, 75)]  # 28 | 5 rest | 29 | 5
    cuts = [int(s * SR) for s in (40.0, 50.0, 58.0, 62.0, 72.0)]
    chunks = chunk_regions(speech, cuts=cuts)
    lengths = [sum(r["end"] - r["start"] for r in c) / SR for c in chunks]
    assert lengths == [28.0, 5.0 + 22.0, 7.0 + 5.0]  # 33-36 s is silence, 36-58 s fits beside the rest
    assert chunks[1] == [_r(28, 33), _r(36, 58)] and chunks[2] == [_r(58, 65), _r(70, 75)]
    flat = sorted((r["start"], r["end"]) for c in chunks for r in c)
    assert flat == [
        (0, 28 * SR),
        (28 * SR, 33 * SR),
        (36 * SR, 58 * SR),
        (58 * SR, 65 * SR),
        (70 * SR, 75 * SR),
    ]
    assert chunk_regions(speech) == [[speech[0]], [speech[1]], [speech[2]], [speech[3]]]  # no pauses known


def test_a_region_longer_than_a_chunk_is_cut_at_a_pause_when_it_has_one():
    chunks = chunk_regions([_r(0, 50)], cuts=[int(12.5 * SR), int(27.0 * SR), int(45.0 * SR)])
    assert chunks == [[_r(0, 27)], [_r(27, 50)]]


def test_pauses_are_quiet_frames_inside_speech_regions():
    from analyzer.vad import FRAME

    probs = np.full(int(40 * SR / FRAME), 0.9, dtype=np.float32)

    def at(seconds: float) -> int:
        return int(seconds * SR / FRAME)

    probs[at(10.0) : at(10.5)] = 0.1  # a 0.5 s pause inside the region
    probs[at(20.0) : at(20.1)] = 0.1  # 0.1 s: a stop between syllables, not a pause
    probs[at(33.0) : at(35.0)] = 0.1  # outside the region: silence the VAD already cut
    cut = pauses(probs, [_r(1, 30)], neg_threshold=0.35)
    assert len(cut) == 1 and abs(cut[0] / SR - 10.25) < 0.05
    assert pauses(None, [_r(1, 30)], 0.35) == []


def test_a_word_stretched_over_a_pause_starts_where_its_speech_does():
    """Without timestamp tokens the word after a pause is aligned back over the pause (and the end of
    the sentence before it): it is moved to start after the pause, and every word ends at its last
    speech frame; a word inside speech keeps its times."""
    from analyzer.vad import FRAME

    probs = np.zeros(int(10 * SR / FRAME), dtype=np.float32)

    def frames(a: float, b: float) -> slice:
        return slice(int(a * SR / FRAME), int(b * SR / FRAME))

    probs[frames(1.0, 3.0)] = 0.9  # the sentence before
    probs[frames(4.2, 6.0)] = 0.9  # the next, after a 1.2 s pause (one VAD region)
    seg = {
        "start": 1.0,
        "end": 6.0,
        "words": [
            {"start": 1.0, "end": 2.0, "text": "开"},
            {"start": 2.0, "end": 3.6, "text": "始"},  # ends in the pause
            {"start": 2.9, "end": 4.6, "text": "你好"},  # from the sentence before, over the pause
            {"start": 4.6, "end": 5.0, "text": "请"},
        ],
    }
    out = snap_to_speech(seg, probs, 0.35)
    times = [(w["text"], round(w["start"], 1), round(w["end"], 1)) for w in out["words"]]
    assert times == [("开", 1.0, 2.0), ("始", 2.0, 3.0), ("你好", 4.2, 4.6), ("请", 4.6, 5.0)]
    assert (round(out["start"], 1), round(out["end"], 1)) == (1.0, 5.0)
    assert snap_to_speech(seg, None, 0.35) == seg
    assert snap_to_speech(seg, np.zeros_like(probs), 0.35)["words"] == seg["words"]  # nothing heard


def test_the_vad_along_a_batch_follows_its_concatenated_regions():
    from analyzer.vad import FRAME

    probs = np.zeros(int(20 * SR / FRAME), dtype=np.float32)
    probs[int(2 * SR / FRAME) : int(3 * SR / FRAME)] = 0.9  # speech at 2-3 s
    probs[int(12 * SR / FRAME) : int(13 * SR / FRAME)] = 0.9  # and at 12-13 s
    heard = concat_probs(probs, [_r(1, 4), _r(11, 14)])  # 3 s + 3 s, concatenated
    assert len(heard) == int(np.ceil(6 * SR / FRAME))
    t = np.flatnonzero(heard > 0.5) * FRAME / SR
    assert (round(t[0], 1), round(t[t < 3].max(), 1)) == (1.0, 2.0)  # 2-3 s of the block
    assert (round(t[t >= 3].min(), 1), round(t[-1], 1)) == (4.0, 5.0)  # 12-13 s of the block
    assert concat_probs(None, [_r(1, 4)]) is None


class _BoundaryPipeline:
    """One chunk of two regions whose second starts with 您好; the alignment (no timestamp tokens)
    stretches 您 back over the quiet pads around the boundary, its middle before it."""

    def transcribe(self, audio, *, clip_timestamps, **kwargs):
        from types import SimpleNamespace as NS

        def w(a: float, b: float, text: str) -> NS:
            return NS(start=a, end=b, word=text, probability=0.9)

        words = [w(0.5, 1.5, "开始"), w(1.5, 3.4, "您"), w(3.4, 3.8, "好")]  # the boundary at 3 s
        seg = NS(start=0.0, end=3.8, text="开始您好", avg_logprob=-0.2, no_speech_prob=0.01,
                 compression_ratio=1.0, tokens=[1, 2, 3], words=words)  # fmt: skip
        return (s for s in [seg]), NS(language="zh")


def test_a_word_aligned_across_a_region_boundary_is_placed_where_its_speech_is():
    """A request for ID said at 11.8 s started at 9.0 s: its first word, stretched back over the pads
    around the boundary of two VAD regions in the batch's concatenated audio, was placed by its middle
    in the region before. Snapped to the VAD's speech in the batch's own time first, it starts where
    it is said, in the region after."""
    from analyzer.transcribe import _decode_batched, _FasterWhisper
    from analyzer.vad import FRAME

    class Engine(_FasterWhisper):
        def __init__(self):
            pass

        def batched_pipeline(self):
            return _BoundaryPipeline()

    probs = np.zeros(int(20 * SR / FRAME), dtype=np.float32)
    probs[int(1.5 * SR / FRAME) : int(2.5 * SR / FRAME)] = 0.9  # 开始
    probs[int(10.3 * SR / FRAME) : int(11.0 * SR / FRAME)] = 0.9  # 您好
    speech = [_r(1, 4), _r(10, 14)]  # 3 s + 4 s: one chunk, boundary at 3 s of the batch
    opts = TranscribeOptions(batch_size=2, batch_resume_s=1000.0)
    out = [s for _, raw, _ in _decode_batched(Engine(), np.zeros(20 * SR, np.float32), speech, opts, probs)
           for s in raw]  # fmt: skip
    words = {w["text"]: (round(w["start"], 1), round(w["end"], 1)) for s in out for w in s["words"]}
    assert words["您"] == (10.3, 10.4) and words["好"] == (10.4, 10.8), words
    assert [s["text"] for s in out] == ["开始", "您好"]


def test_a_read_on_is_judged_with_the_confidence_of_the_window_it_continues():
    """Read on alone, the few words after where a chunk stopped come back less sure than inside a
    window (the sample's reply at -0.85, against -0.20 in its sequential window); they carry the
    token-weighted average over the chunk's decode and the read-on, as a sequential window's
    segments carry the window's."""
    before = [{"text": "为保护您的合法权益", "avg_logprob": -0.15, "tokens": 45}]
    read_on = [{"text": "请我知道了", "avg_logprob": -0.85, "tokens": 5, "no_speech_prob": 0.4}]
    [out] = as_one_window(read_on, before)
    assert out["avg_logprob"] == pytest.approx(-0.22) and out["no_speech_prob"] == 0.4
    assert as_one_window(read_on, []) == read_on  # nothing read before it: its own
    assert as_one_window([], before) == []
    no_tokens = [{"text": "一二三", "avg_logprob": -1.0}]  # weighted by characters then
    assert as_one_window(no_tokens, [{"text": "四", "avg_logprob": 0.0}])[0]["avg_logprob"] == -0.75


def test_fallback_and_silence_follow_whispers_thresholds():
    opts = TranscribeOptions()
    good = {"compression_ratio": 1.2, "avg_logprob": -0.3, "no_speech_prob": 0.01}
    assert not needs_fallback(good, opts) and not is_silent(good, opts)
    assert needs_fallback({**good, "compression_ratio": 3.0}, opts)
    assert needs_fallback({**good, "avg_logprob": -1.5}, opts)
    assert is_silent({**good, "avg_logprob": -1.5, "no_speech_prob": 0.9}, opts)
    assert not is_silent({**good, "no_speech_prob": 0.9}, opts)  # confident text is kept


def test_batch_size_is_a_cache_key_option_and_defaults_to_batches_of_two():
    # transcribe.DEFAULT_BATCH_SIZE: chosen by measurement, see the comment there
    assert TranscribeOptions().batch_size == 2
    assert TranscribeOptions(batch_size=4).key_dict() != TranscribeOptions().key_dict()
    assert "batch_size" in TranscribeOptions().key_dict()


class _FakeWhisper:
    """Stands in for WhisperModel: encode() maps each chunk's features to a recognisable output."""

    frames_per_second = 50

    def __init__(self):
        self.seen: list[int] = []

    def encode(self, features):
        import ctranslate2

        self.seen.append(len(features))
        return ctranslate2.StorageView.from_array(np.ascontiguousarray(features[:, :2, :3] * 2))


def test_batch_encoder_runs_chunk_by_chunk_and_stacks_in_order():
    model = _FakeWhisper()
    features = np.arange(5 * 4 * 6, dtype=np.float32).reshape(5, 4, 6)
    out = np.asarray(_EncodeInGroups(model, 2).encode(features))
    assert model.seen == [2, 2, 1]
    np.testing.assert_array_equal(out, features[:, :2, :3] * 2)  # every chunk's output, in order
    assert _EncodeInGroups(model, 1).frames_per_second == 50  # the rest is the model's own
    model.seen.clear()
    _EncodeInGroups(model, 8).encode(features)
    assert model.seen == [5]


# ---------------------------------------------------------------- real speech

GUIDE = [
    "现在是2026年3月5日上午9时，我们在启明南路一号对某某商贸公司开展检查，执法全过程记录开始。",
    "您好，请出示您的营业执照。",
    "为保护您的合法权益，监督执法行为，本次执法全过程录音录像。",
    "请把近三年的账簿和凭证拿出来，我们需要查阅。",
    "您享有陈述权、申辩权和行政救济权利。",
    "请您认真阅读法律文书内容，并在签名处签名。",
    "我是执法人员，正在执行公务，执法过程已全程记录，您可以拨打110或通过其他方式行使您的监督权。",
]
MAX_CER = 0.25
MAX_DIFF_FROM_SEQUENTIAL = 0.12


@pytest.fixture(scope="module")
def speech():
    """Sentences with short (0.6 s) and long (3 s) pauses: several regions per chunk, several chunks."""
    from bench.audio_tools import add_noise, concat
    from bench.tts import synthesize

    parts: list = [1.0]
    for i, sentence in enumerate(GUIDE * 2):
        parts += [synthesize(sentence, seed=i % 3, sr=SR)[0], 3.0 if i % 3 == 2 else 0.6]
    audio, spans = concat(parts, SR)
    return add_noise(audio, SR, 30.0, "street", seed=3), spans


def _covered(result) -> float:
    """Share of VAD speech seconds that lie in a region holding at least one word."""
    words = [(w.start, w.end) for s in result.segments for w in s.words]
    total = sum(b - a for a, b in result.speech_regions)
    hit = sum(b - a for a, b in result.speech_regions if any(ws < b and we > a for ws, we in words))
    return hit / total


@pytest.mark.slow
def test_batched_decoding_covers_speech_and_reads_like_sequential(speech):
    from analyzer.eval_metrics import cer

    audio, spans = speech
    reference = "".join(GUIDE * 2)
    batched = transcribe(audio, TranscribeOptions(batch_size=8), cache=False)
    sequential = transcribe(audio, TranscribeOptions(batch_size=1), cache=False)
    assert len(batched.speech_regions) >= 4
    assert _covered(batched) >= 0.99
    assert cer(reference, batched.text) <= MAX_CER, batched.text
    assert cer(sequential.text, batched.text) <= MAX_DIFF_FROM_SEQUENTIAL, (sequential.text, batched.text)
    for seg in batched.segments:  # on the original timeline, inside speech, words in order
        assert any(seg.start < b + 0.5 and seg.end > a - 0.5 for a, b in spans), seg
        assert seg.words and seg.start <= seg.words[0].start and seg.words[-1].end <= seg.end + 1e-6
        assert [w.start for w in seg.words] == sorted(w.start for w in seg.words)
    for sentence, (a, b) in zip(GUIDE * 2, spans, strict=True):  # each sentence at its own time
        heard = "".join(w.text for s in batched.segments for w in s.words if a - 0.3 < w.start < b + 0.3)
        assert cer(sentence, heard) <= 0.5, (sentence, heard, a, b)


@pytest.mark.slow
def test_batched_decoding_keeps_the_fallback_and_its_cpu_budget(speech, monkeypatch):
    """A chunk failing Whisper's checks is decoded again with temperature fallback under the per-piece
    CPU budget: with a zero budget the rest is decoded greedily, never dropped."""
    from analyzer import batched
    from analyzer.eval_metrics import cer

    audio, spans = speech
    failed: list[dict] = []
    monkeypatch.setattr(batched, "needs_fallback", lambda seg, opts: failed.append(seg) or True)
    opts = TranscribeOptions(batch_size=8, clip_cpu_base_s=0.0, clip_cpu_factor=0.0)
    result = transcribe(audio[: 40 * SR], opts, cache=False)
    assert failed  # the batch ran, and its chunks were handed to the fallback
    assert any("CPU budget exceeded" in w for w in result.warnings), result.warnings
    said = "".join(t for t, (_, end) in zip(GUIDE * 2, spans, strict=True) if end < 40)
    assert cer(said, result.text) <= MAX_CER, result.text
    assert _covered(result) >= 0.99


@pytest.mark.slow
def test_silence_gives_no_text_when_batched():
    rng = np.random.default_rng(0)
    noise = (rng.standard_normal(30 * SR) * 0.003).astype(np.float32)
    assert transcribe(noise, TranscribeOptions(batch_size=8), cache=False).text == ""


@pytest.mark.slow
def test_the_encoder_sees_one_chunk_at_a_time_when_batched(speech, monkeypatch):
    """Batching the encoder holds every chunk's self-attention at once (about 72 MB a chunk): a batch
    is encoded chunk by chunk and only the decoder is batched, with the same text as encoding the
    batch at once."""
    from faster_whisper import WhisperModel

    from analyzer import transcribe as transcribe_module

    audio, _ = speech
    seen: list[int] = []
    encode = WhisperModel.encode

    def spy(self, features):
        seen.append(1 if features.ndim == 2 else len(features))
        return encode(self, features)

    monkeypatch.setattr(WhisperModel, "encode", spy)
    monkeypatch.setattr(transcribe_module, "_LOADED", {})  # a model loaded with the spy in place
    chunked = transcribe(audio, TranscribeOptions(batch_size=8), cache=False)
    assert len(seen) >= 3 and max(seen) == 1, seen
    seen.clear()
    monkeypatch.setattr(transcribe_module, "ENCODE_GROUP", 8)
    together = transcribe(audio, TranscribeOptions(batch_size=8), cache=False)
    assert max(seen) >= 3, seen  # the spy sees whole batches when they are encoded at once
    assert chunked.text == together.text


@pytest.mark.slow
def test_the_short_rest_of_a_region_the_vad_split_is_decoded_with_the_speech_after_it(monkeypatch):
    """34 s of sentences with short pauses (one VAD region, split at its 30 s limit into about 29 s and
    a short rest), 3 s of silence, then 28 s more. Cut only between regions, the rest went into a chunk
    of its own, decoded without the sentences around it; now every chunk but the last holds 15 s of
    speech or more (the real VAD's pauses reach the chunking), and the text reads as before."""
    from analyzer import batched
    from analyzer.eval_metrics import cer
    from bench.audio_tools import add_noise, concat
    from bench.tts import synthesize

    said: list[str] = []
    parts: list = [1.0]
    for length, gap in ((34.0, 3.0), (28.0, 1.0)):
        run = 0.0
        while run < length:
            sentence = GUIDE[len(said) % len(GUIDE)]
            clip = synthesize(sentence, seed=len(said) % 3, sr=SR)[0]
            said.append(sentence)
            parts += [clip, 0.5]
            run += len(clip) / SR + 0.5
        parts[-1] = gap
    audio, _ = concat(parts, SR)
    audio = add_noise(audio, SR, 30.0, "street", seed=5)
    chunks: list[list[float]] = []
    make = batched.pipeline

    def spy(model, group=1):
        pipe = make(model, group)
        run = pipe.transcribe

        def transcribe(audio, **kwargs):
            chunks.append([c["end"] - c["start"] for c in kwargs["clip_timestamps"]])
            return run(audio, **kwargs)

        pipe.transcribe = transcribe
        return pipe

    monkeypatch.setattr(batched, "pipeline", spy)
    result = transcribe(audio, TranscribeOptions(batch_size=4), cache=False)
    lengths = [x for c in chunks for x in c]
    assert len(lengths) >= 3 and min(lengths[:-1]) >= 15.0, lengths
    assert cer("".join(said), result.text) <= MAX_CER, result.text
    assert _covered(result) >= 0.99


@pytest.mark.slow
def test_a_line_after_a_short_pause_starts_at_its_time_when_batched(tmp_path):
    """A scenario recording (the seed-53 corpus's 17th: the opening, the party's reply 1 s later, the
    request for documents 0.85 s after that, white noise at 10 dB; all one VAD region). Decoded without
    timestamp tokens, the request's first word was aligned back over the pause and the party's last
    syllable (15.18 s for a line said at 16.24 s; phrase starts 1.0-1.6 s early on that corpus); each
    line's first word now starts within 0.4 s of the line, window by window and batched alike."""
    import dataclasses

    from bench.scenarios import build_scenario, make_corpus_plan

    scenario = make_corpus_plan(48, seed=53, snr_levels=(None, 10.0, 5.0))[16]
    scenario = dataclasses.replace(
        scenario, conditions=dataclasses.replace(scenario.conditions, container="wav")
    )
    truth = build_scenario(scenario, tmp_path)
    path = next(tmp_path.rglob(truth["files"][0]["name"]))
    lines = truth["script"]
    for batch in (1, 4):
        result = transcribe(str(path), TranscribeOptions(batch_size=batch), cache=False)
        words = [w for s in result.segments for w in s.words]
        for before, line in zip(lines, lines[1:4], strict=False):
            first = next(w for w in words if (w.start + w.end) / 2 > before["end_s"])  # its first word
            assert abs(first.start - line["start_s"]) <= 0.4, (
                batch,
                line,
                [(w.text, w.start) for w in words],
            )


# ---------------------------------------------------------------- a decode that stops early


def test_read_until_is_the_last_believable_word_end():
    words = [{"start": 1.0, "end": 1.2, "text": "您好"}, {"start": 1.2, "end": 1.5, "text": "。"}]
    assert read_until([{"start": 0.5, "end": 9.0, "text": "您好。", "words": words}], 0.0) == 1.5
    assert read_until([], 4.0) == 4.0  # nothing read: from the chunk's start
    assert read_until([{"start": 4.0, "end": 6.0, "text": "好", "words": []}], 4.0) == 6.0
    # One character stretched over 8 s of speech Whisper did not read: read on from its start.
    stretched = [*words, {"start": 2.0, "end": 10.0, "text": "门", "probability": 0.1}]
    assert read_until([{"start": 0.5, "end": 10.0, "text": "x", "words": stretched}], 0.0) == 2.0


def test_a_stretched_word_inside_a_decode_marks_where_it_stopped_reading():
    words = [{"start": 0.0, "end": 0.3, "text": "您"}, {"start": 0.3, "end": 0.9, "text": "监"}]
    stretched = [*words, {"start": 1.0, "end": 4.8, "text": "好,"}, {"start": 4.8, "end": 5.1, "text": "请"}]
    segs = [{"start": 0.0, "end": 5.1, "text": "您监好,请", "words": stretched}]
    assert read_until(segs, 0.0) == 1.0  # one letter, 3.8 s: from its start
    kept = words_before(segs, 1.0)
    assert [w["text"] for w in kept[0]["words"]] == ["您", "监"] and kept[0]["text"] == "您监"
    assert kept[0]["end"] == kept[0]["words"][-1]["end"] == 0.9
    assert words_before(segs, 0.2)[0]["words"] == [
        {"start": 0.0, "end": 0.2, "text": "您"}
    ]  # cut to the point
    assert (
        read_until([{**segs[0], "words": [*words, {**stretched[2], "end": 2.5}]}], 0.0) == 2.5
    )  # 1.5 s: a slow word


def test_remainder_skips_seconds_of_concatenated_speech():
    chunk = [_r(0, 4), _r(10, 13), _r(20, 30)]
    assert remainder(chunk, 0.0) == chunk
    assert remainder(chunk, 5.0) == [_r(11, 13), _r(20, 30)]
    assert remainder(chunk, 7.0) == [_r(20, 30)]
    assert remainder(chunk, 17.0) == []


class _StoppingPipeline:
    """BatchedInferencePipeline stand-in: the first chunk of every batch comes back with words up to
    `stop_s` seconds and nothing after, as Whisper's end-of-text before the chunk's speech ends."""

    def __init__(self, stop_s: float):
        self.stop_s = stop_s
        self.asked: list[dict] = []  # the decode options of each call

    def transcribe(self, audio, *, clip_timestamps, **kwargs):
        from types import SimpleNamespace as NS

        self.asked.append(kwargs)

        def segments():
            for k, clip in enumerate(clip_timestamps):
                end = clip["start"] + self.stop_s if k == 0 else clip["end"] - 0.5
                times = np.arange(clip["start"], end - 1e-6, 0.25)
                words = [NS(start=t, end=t + 0.25, word="话", probability=0.9) for t in times]
                yield NS(start=clip["start"], end=end, text="话" * len(words), avg_logprob=-0.2,
                         no_speech_prob=0.01, compression_ratio=1.0, words=words)  # fmt: skip

        return segments(), NS(language="zh")


def _stopping_engine(stop_s: float):
    from analyzer.transcribe import _FasterWhisper

    class Engine(_FasterWhisper):
        def __init__(self):
            self.asked: list[float] = []  # seconds of speech handed to the sequential decode

        def batched_pipeline(self):
            return _StoppingPipeline(stop_s)

        def decode(self, audio, opts, deadline):
            self.asked.append(len(audio) / SR)
            words = [{"start": t, "end": t + 0.5, "text": "续", "probability": 0.9}
                     for t in np.arange(0.0, len(audio) / SR - 1e-6, 0.5)]  # fmt: skip
            return [{"start": 0.0, "end": words[-1]["end"], "text": "续" * len(words), "avg_logprob": -0.2,
                     "no_speech_prob": 0.01, "compression_ratio": 1.0, "words": words}], ""  # fmt: skip

    return Engine()


class _SkippingPipeline(_StoppingPipeline):
    """The first chunk's words run to its end, but one word at 4 s is stretched over 3 s: Whisper
    skipped the line said there."""

    def transcribe(self, audio, *, clip_timestamps, **kwargs):
        from types import SimpleNamespace as NS

        def segments():
            clip = clip_timestamps[0]
            times = [t for t in np.arange(clip["start"], clip["end"] - 0.5, 0.25) if not 4.25 <= t < 7.0]
            words = [
                NS(start=t, end=t + (3.0 if t == 4.0 else 0.25), word="话", probability=0.9) for t in times
            ]
            yield NS(start=clip["start"], end=words[-1].end, text="话" * len(words), avg_logprob=-0.2,
                     no_speech_prob=0.01, compression_ratio=1.0, words=words)  # fmt: skip

        return segments(), NS(language="zh")


def test_a_line_skipped_inside_a_chunk_is_read_on_sequentially_from_the_skip():
    """Whisper may skip a line inside a batched chunk and stretch the word before it over the line
    (the coverage pass sees that speech as covered): the chunk is read on sequentially from where the
    stretched word stops being believable, and the batch's words after it are not kept twice."""
    from analyzer.transcribe import _decode_batched

    block = np.zeros(40 * SR, dtype=np.float32)
    speech = [_r(1, 8), _r(10, 17)]  # one chunk of 14 s of speech
    engine = _stopping_engine(0.0)
    engine.batched_pipeline = lambda: _SkippingPipeline(0.0)
    out = [seg for _, raw, _ in _decode_batched(engine, block, speech, TranscribeOptions(batch_size=4))
           for seg in raw]  # fmt: skip
    assert engine.asked == [10.0]  # read to 4 s of the 14 s: from the stretched word's start
    words = sorted((w["start"], w["end"], w["text"]) for s in out for w in s["words"])
    assert [w for w in words if w[2] == "话"][-1][1] == pytest.approx(5.0)  # 4 s of speech, in the block
    assert {w[2] for w in words if w[0] >= 5.0} == {"续"}
    assert all(b[0] >= a[0] for a, b in zip(words, words[1:], strict=False))


@pytest.mark.parametrize("stop_s, resumed", [(5.0, [9.0]), (12.5, [])])
def test_a_chunk_cut_short_is_read_on_sequentially_from_its_last_word(stop_s, resumed):
    """Whisper decoding a batch (no timestamp tokens) may end its text before the chunk's speech ends;
    sequential decoding would seek to its last timestamp and read on. The chunk's rest is decoded by
    the sequential engine (its fallback and CPU budget), from the last word on, in the block's time."""
    from analyzer.transcribe import _decode_batched

    block = np.zeros(40 * SR, dtype=np.float32)
    speech = [_r(1, 8), _r(10, 17)]  # one chunk of 14 s of speech
    engine = _stopping_engine(stop_s)
    out = [seg for _, raw, _ in _decode_batched(engine, block, speech, TranscribeOptions(batch_size=4))
           for seg in raw]  # fmt: skip
    assert engine.asked == resumed
    texts = [(round(s["start"], 1), s["text"][0]) for s in sorted(out, key=lambda s: s["start"])]
    if resumed:  # read to 5 s of speech (6 s in the block); the rest, 6-8 s and 10-17 s, read on
        assert texts == [(1.0, "话"), (6.0, "续"), (10.0, "续")]
    else:  # words up to 1.5 s before the chunk's end: complete
        assert texts == [(1.0, "话"), (10.0, "话")]


@pytest.mark.slow
def test_batched_decoding_reads_a_recording_to_its_end(tmp_path):
    """A scenario recording (the seed-31 corpus's second: three lines with short pauses, quick voices)
    on which Whisper's batched decode ended its text after the second line, dropping the recording
    notice said at 7-13 s: the rest of the chunk is now read on, as sequential decoding reads it."""
    import dataclasses

    from analyzer.eval_metrics import cer
    from bench.scenarios import build_scenario, make_corpus_plan

    scenario = make_corpus_plan(48, seed=31, snr_levels=(None, 10.0, 5.0))[1]
    scenario = dataclasses.replace(
        scenario, conditions=dataclasses.replace(scenario.conditions, container="wav")
    )
    truth = build_scenario(scenario, tmp_path)
    path = next(tmp_path.rglob(truth["files"][0]["name"]))
    result = transcribe(str(path), TranscribeOptions(batch_size=4), cache=False)
    lines = truth["script"]
    assert len(lines) == 3 and lines[-1]["phrase_id"] == "recording_notice"
    notice = lines[-1]
    a, b = notice["start_s"], notice["end_s"]
    heard = "".join(w.text for s in result.segments for w in s.words if a - 0.3 < w.start < b + 0.3)
    assert cer(notice["text"], heard) <= 0.3, (notice["text"], heard, result.text)


def test_batched_decoding_and_its_read_on_keep_the_beam_size():
    """`--beam-size` reaches the batched decode and the sequential read-on of a chunk cut short."""
    from analyzer.transcribe import _decode_batched

    engine = _stopping_engine(5.0)
    pipeline = _StoppingPipeline(5.0)
    engine.batched_pipeline = lambda: pipeline
    beams: list[int] = []
    decode = engine.decode
    engine.decode = lambda audio, opts, deadline: (
        beams.append(opts.beam_size) or decode(audio, opts, deadline)
    )
    speech = [_r(1, 8), _r(10, 17)]
    list(
        _decode_batched(
            engine, np.zeros(40 * SR, dtype=np.float32), speech, TranscribeOptions(batch_size=4, beam_size=2)
        )
    )
    assert [k["beam_size"] for k in pipeline.asked] == [2] and beams == [2]


class _ScriptedEngine:
    """Stands in for the faster-whisper engine in transcribe._decode_batched: the batched pipeline
    reads each chunk as the next line of `lines` (one segment, a word a character from its start) and
    records the prompt it was given; engine.run (the sequential re-read) records what it re-read."""

    def __init__(self, lines: list[str], logprobs: list[float] | None = None):
        self.lines, self.logprobs = list(lines), list(logprobs or [-0.2] * len(lines))
        self.prompts: list[str | None] = []
        self.reread: list[list[dict]] = []

    def batched_pipeline(self):
        return self

    def transcribe(self, audio, **kw):
        self.prompts.append(kw["initial_prompt"])
        segs = []
        for clip in kw["clip_timestamps"]:
            text, lp = self.lines.pop(0), self.logprobs.pop(0)
            a = clip["start"]
            words = [{"start": a + 0.5 * i, "end": a + 0.5 * i + 0.5, "text": ch, "probability": 0.9}
                     for i, ch in enumerate(text)]  # fmt: skip
            segs.append({"start": a, "end": words[-1]["end"], "text": text, "avg_logprob": lp,
                         "no_speech_prob": 0.01, "compression_ratio": 1.0, "words": words})  # fmt: skip
        return segs

    def segments_from(self, segs):
        return iter(segs)

    def run(self, block, chunk, opts):
        self.reread.append(chunk)
        return [], ""


def _decode_scripted(engine: _ScriptedEngine, chunks: int, **options) -> list[str]:
    from analyzer.transcribe import _decode_batched

    speech = [_r(1 + 30 * i, 26 + 30 * i) for i in range(chunks)]  # 25 s regions, 5 s apart
    block = np.zeros(30 * chunks * SR, dtype=np.float32)
    # Nothing is read on (the scripted words end early in their chunks).
    opts = TranscribeOptions(batch_size=2, batch_resume_s=1000.0, **options)
    return [s["text"] for _, raw, _ in _decode_batched(engine, block, speech, opts) for s in raw]


def test_each_batch_is_prompted_with_the_text_before_it():
    """Batched chunks were decoded with nothing before them, window by window as sequential decoding
    with condition_on_previous_text off; each batch now gets the last batch_context_chars characters
    of the chunk before it (the first batch of a block nothing)."""
    lines = ["第一句话说完了。", "第二句也说完了。", "第三句话。", "第四句。", "第五句。"]
    engine = _ScriptedEngine(lines)
    assert _decode_scripted(engine, 5) == lines
    assert engine.prompts == [None, "第二句也说完了。", "第四句。"]
    engine = _ScriptedEngine(lines)
    _decode_scripted(engine, 5, batch_context_chars=4)
    assert engine.prompts == [None, "说完了。", "第四句。"]
    engine = _ScriptedEngine(lines)
    _decode_scripted(engine, 5, batch_context_chars=0)
    assert engine.prompts == [None, None, None]
    engine = _ScriptedEngine(lines)
    _decode_scripted(engine, 5, initial_prompt="以下是普通话。")  # the user's prompt wins
    assert engine.prompts == ["以下是普通话。"] * 3


def test_a_chunk_that_repeats_its_prompt_is_read_again_without_it():
    """Conditioned on earlier text, Whisper can copy it over audio it cannot read: a chunk repeating
    batch_echo_chars characters of its prompt is re-read window by window (no prompt), and a chunk
    re-read at a higher temperature is not carried on as the next batch's prompt."""
    lines = ["请出示您的营业执照谢谢配合。", "好的。", "请出示您的营业执照谢谢配合。", "嗯。", "对。", "行。"]
    engine = _ScriptedEngine(lines, logprobs=[-0.2, -0.2, -0.2, -1.5, -0.2, -0.2])
    texts = _decode_scripted(engine, 6, batch_context_chars=60, batch_echo_chars=6)
    assert engine.prompts == [None, "好的。", None]  # chunk 4 fell back: no prompt after it
    assert texts == ["请出示您的营业执照谢谢配合。", "好的。", "请出示您的营业执照谢谢配合。", "对。", "行。"]
    assert len(engine.reread) == 1  # the fallback; chunk 3 does not echo "好的。"
    engine = _ScriptedEngine(["说完了。", "请出示您的营业执照。", "甲", "请出示您的营业执照。"])
    texts = _decode_scripted(engine, 4, batch_echo_chars=6)
    assert engine.prompts == [None, "请出示您的营业执照。"]
    assert texts == ["说完了。", "请出示您的营业执照。", "甲"]  # the echo went back to be re-read
    assert engine.reread == [[_r(91, 116)]]


def test_a_batched_segment_is_cut_into_lines_at_sentence_ends_and_long_pauses():
    """A batched chunk comes back as one segment; it is cut where a sequential window's timestamps
    would have cut it: after a sentence's closing punctuation and at a pause of a second or more."""
    from analyzer.batched import sentences

    def word(text, start, end):
        return {"text": text, "start": start, "end": end, "probability": 0.9}

    seg = {
        "text": "您好,请出示证件。好的稍等请您签字",
        "start": 0.0,
        "end": 9.0,
        "avg_logprob": -0.3,
        "no_speech_prob": 0.01,
        "compression_ratio": 1.1,
        "tokens": 16,
        "words": [
            word("您好,", 0.0, 0.6),
            word("请", 0.8, 1.0),
            word("出示", 1.0, 1.5),
            word("证件。", 1.5, 2.1),
            word("好的", 2.4, 2.8),
            word("稍等", 3.1, 3.6),  # 0.3 s pauses: one line
            word("请您", 4.8, 5.2),
            word("签字", 5.2, 5.9),  # after 1.2 s: a line of its own
        ],
    }
    lines = sentences(seg)
    assert [line["text"] for line in lines] == ["您好,请出示证件。", "好的稍等", "请您签字"]
    assert [(line["start"], line["end"]) for line in lines] == [(0.0, 2.1), (2.4, 3.6), (4.8, 5.9)]
    assert all(line["avg_logprob"] == -0.3 and line["no_speech_prob"] == 0.01 for line in lines)
    assert sum(line["tokens"] for line in lines) == 16  # the tokens shared out by characters
    assert sentences({**seg, "words": seg["words"][:4]}) == [{**seg, "words": seg["words"][:4]}]
    single = {**seg, "words": [word("好", 0.0, 0.2)], "text": "好"}
    assert sentences(single) == [single]
