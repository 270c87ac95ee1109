"""Many recordings: discover files and cases (loose files split by one device grouped into one
case, analyzer.grouping), skip what is current, analyse the rest (optionally in
worker processes), write each result as it finishes, and summarise worst first.

Resumable by design: every finished recording is written (atomically) and recorded in
OUT/.scriptcheck-state.json with its fingerprint (SHA-256s of the originals, guide content hash,
model identity, options). A re-run, or a run after an interruption, analyses only recordings whose
fingerprint changed or that have no result yet; failed ones are always retried.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from analyzer import report
from analyzer.executors import EXECUTORS, Executor, ExecutorError, make_executor
from analyzer.files import atomic_write_text
from analyzer.pipeline import AnalyzeOptions, RecordingResult, analyze_recording, load_guide_for

if TYPE_CHECKING:
    from analyzer.grouping import Grouping, ProbeFn
    from analyzer.guide import Guide

STATE_FILE = ".scriptcheck-state.json"
RESULTS_DIR = ".scriptcheck-results"  # results by fingerprint (content hash): one per job, however often run
STATE_VERSION = 1
WORKER_MEMORY_BYTES = 1024 * 1024 * 1024  # peak of one worker, batched int8 (bench/results/speed.md)
PER_RECORDING = ("json", "html", "srt", "vtt")
SUMMARY = ("csv", "xlsx")


@dataclass(frozen=True)
class Job:
    """One recording to analyse: a file, the files of one case folder, or loose files grouped
    into one case (same device, chained start times: `grouping` says so)."""

    name: str  # what the reviewer pointed at (file path or case folder)
    paths: tuple[str, ...]
    stem: str  # output name under OUT, without extension
    is_case: bool = False
    grouping: Grouping | None = None


@dataclass
class BatchOutcome:
    rows: list[dict[str, Any]] = field(default_factory=list)  # summary rows, worst first
    analysed: int = 0
    skipped: int = 0
    failed: int = 0
    outputs: list[Path] = field(default_factory=list)  # summary files written
    grouped: list[Job] = field(default_factory=list)  # jobs made of automatically grouped files

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0


# --------------------------------------------------------------------------- discovery


def _media_extensions() -> frozenset[str]:
    from analyzer.continuity import MEDIA_EXTENSIONS

    return MEDIA_EXTENSIONS


def _is_media(p: Path) -> bool:
    return p.is_file() and p.suffix.lower() in _media_extensions() and not p.name.startswith(".")


def _safe_stem(text: str) -> str:
    text = text.replace("\\", "/").strip("/")
    return re.sub(r"[^\w.\-/\u4e00-\u9fff]+", "_", text) or "recording"


def discover(
    inputs: Sequence[str | os.PathLike],
    *,
    folder_is_case: bool = False,
    group: bool = True,
    guide: Guide | None = None,
    probe: ProbeFn | None = None,
) -> list[Job]:
    """Files given -> one job each. A folder -> its loose media files (one job each) and each
    subfolder holding media files as one case (searched recursively). With `folder_is_case`, every
    given folder is itself one case. With `group`, loose files (in one folder, or those given
    together) that one device split from one recording become one case (analyzer.grouping)."""
    jobs: list[Job] = []
    given: list[Path] = []
    given_at = 0  # the files given are grouped together; their jobs go where the first one was given
    for raw in inputs:
        p = Path(raw)
        if p.is_dir():
            if folder_is_case:
                files = sorted(c for c in p.iterdir() if _is_media(c))
                if files:
                    jobs.append(_job(p, files, p.name))
                continue
            jobs.extend(_walk(p, p, group, guide, probe))
        else:
            given_at = given_at if given else len(jobs)
            given.append(p)
    jobs[given_at:given_at] = _loose(given, None, group, guide, probe)
    seen: dict[str, int] = {}
    unique: list[Job] = []
    for j in jobs:
        n = seen.get(j.stem, 0)
        seen[j.stem] = n + 1
        unique.append(j if n == 0 else replace(j, stem=f"{j.stem}-{n + 1}"))
    return unique


def _job(folder: Path, files: list[Path], stem: str) -> Job:
    if len(files) == 1:
        return Job(name=str(files[0]), paths=(str(files[0]),), stem=_safe_stem(stem))
    return Job(name=str(folder), paths=tuple(str(f) for f in files), stem=_safe_stem(stem), is_case=True)


def _loose(
    files: list[Path], root: Path | None, group: bool, guide: Guide | None, probe: ProbeFn | None
) -> list[Job]:
    """Loose files: one job each, except the files grouping puts into one case. A group's output
    name is its first file's (without the extension), so it stays put when a later part is added."""

    def stem_of(p: Path, suffix: bool = True) -> str:
        rel = p.relative_to(root) if root is not None else Path(p.name)
        return _safe_stem(str(rel if suffix else rel.with_suffix("")))

    if not group or len(files) < 2:
        return [Job(name=str(f), paths=(str(f),), stem=stem_of(f)) for f in files]
    from analyzer.grouping import group_paths

    unique = list(dict.fromkeys(files))
    repeated: list[Path] = []  # the same file given twice is two jobs, as without grouping
    seen: set[Path] = set()
    for f in files:
        if f in seen:
            repeated.append(f)
        seen.add(f)
    jobs: list[Job] = []
    for paths, why in group_paths([str(f) for f in unique], guide, probe=probe):
        first = Path(paths[0])
        if why is None:
            jobs.append(Job(name=paths[0], paths=(paths[0],), stem=stem_of(first)))
        else:
            jobs.append(
                Job(
                    name=f"{paths[0]} 等 {len(paths)} 个文件",
                    paths=tuple(paths),
                    stem=stem_of(first, suffix=False),
                    is_case=True,
                    grouping=why,
                )
            )
    jobs.extend(Job(name=str(f), paths=(str(f),), stem=stem_of(f)) for f in repeated)
    return jobs


def _walk(root: Path, folder: Path, group: bool, guide: Guide | None, probe: ProbeFn | None) -> list[Job]:
    entries = sorted(folder.iterdir())
    jobs = _loose([e for e in entries if _is_media(e)], root, group, guide, probe)
    for d in entries:
        if not d.is_dir() or d.name.startswith("."):
            continue
        files = sorted(c for c in d.iterdir() if _is_media(c))
        if files:
            jobs.append(_job(d, files, str(d.relative_to(root))))
        else:
            jobs.extend(_walk(root, d, group, guide, probe))
    return jobs


# --------------------------------------------------------------------------- fingerprints and state


class State:
    """OUT/.scriptcheck-state.json: per output stem, the fingerprint of its current result."""

    def __init__(self, out: Path):
        self.path = out / STATE_FILE
        self.data: dict[str, Any] = {"version": STATE_VERSION, "entries": {}, "hashes": {}}
        try:
            loaded = json.loads(self.path.read_text(encoding="utf-8"))
            if loaded.get("version") == STATE_VERSION:
                self.data = loaded
        except (OSError, ValueError):
            pass

    def file_sha256(self, path: str) -> str:
        """SHA-256 of an original, re-read only when its size or mtime changed."""
        from analyzer.media import sha256_file

        st = os.stat(path)
        key = str(Path(path).resolve())
        known = self.data["hashes"].get(key)
        if known and known["size"] == st.st_size and known["mtime_ns"] == st.st_mtime_ns:
            return known["sha256"]
        digest = sha256_file(path)
        self.data["hashes"][key] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": digest}
        return digest

    def current(self, job: Job, fingerprint: str, out: Path) -> bool:
        entry = self.data["entries"].get(job.stem)
        return bool(
            entry
            and entry.get("fingerprint") == fingerprint
            and not entry.get("error")
            and (out / f"{job.stem}.json").is_file()
        )

    def record(self, job: Job, fingerprint: str, error: str | None) -> None:
        self.data["entries"][job.stem] = {
            "name": job.name,
            "paths": list(job.paths),
            "fingerprint": fingerprint,
            "error": error,
            "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        self.save()

    def save(self) -> None:
        atomic_write_text(self.path, json.dumps(self.data, ensure_ascii=False, indent=1))


def run_fingerprint(options: AnalyzeOptions) -> dict[str, Any]:
    """What every result of this run depends on besides the files: guide content, model, options."""
    from analyzer.models import resolve_model

    guide = load_guide_for(options)
    topts = options.transcribe_options()
    try:
        model_id = resolve_model(topts.model, topts.engine).model_id
    except Exception as err:  # noqa: BLE001 - reported per recording when the model is really needed
        model_id = f"unresolved:{err.__class__.__name__}"
    return {"guide_sha256": report.guide_sha256(guide), "model_id": model_id, **options.fingerprint()}


def job_fingerprint(job: Job, state: State, run: dict[str, Any]) -> str:
    files = []
    for p in job.paths:
        try:
            files.append(state.file_sha256(p))
        except OSError as err:
            files.append(f"unreadable:{err.__class__.__name__}")
    # A result also depends on each file's name and modification time (grouping, the device clock's
    # start time, the paths in the report): two copies of the same audio are two results.
    where = []
    for p in job.paths:
        try:
            where.append([str(Path(p).resolve()), os.stat(p).st_mtime_ns])
        except OSError:
            where.append([str(p), None])
    blob = json.dumps({"files": files, "where": where, "run": run}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()


# --------------------------------------------------------------------------- workers


def plan_workers(
    requested: int, cores: int | None = None, available: int | None = None, jobs: int | None = None
) -> tuple[int, int]:
    """(processes, Whisper threads each): no more processes than cores, than fit in free memory, or
    than there are jobs; the cores are shared out among the processes that run. `requested` 0 = as
    many as that allows."""
    cores = cores or os.cpu_count() or 1
    available = _available_memory() if available is None else available
    fit = max(1, int(available // WORKER_MEMORY_BYTES)) if available else cores
    workers = max(1, min(requested if requested > 0 else cores, cores, fit, jobs if jobs else cores))
    return workers, max(1, cores // workers)


def _available_memory() -> int:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def write_outputs(
    rec: dict[str, Any],
    guide: dict[str, Any],
    out: Path,
    stem: str,
    formats: Sequence[str],
    *,
    embed_media: bool = False,
) -> list[Path]:
    """The per-recording files (json/html/srt/vtt) of one result."""
    base = out / stem
    base.parent.mkdir(parents=True, exist_ok=True)
    written = []
    # The JSON is the stored result (resume, summaries, other formats later): always written.
    written.append(report.write_json(base.with_name(base.name + ".json"), report.document([rec], guide)))
    if "html" in formats:
        written.append(
            report.write_html(rec, guide, base.with_name(base.name + ".html"), embed_media=embed_media)
        )
    for fmt in ("srt", "vtt"):
        if fmt in formats and not rec.get("error"):
            written.extend(report.write_subtitles(rec, base, fmt))
    return written


def _analyse_job(
    job: Job,
    fingerprint: str,
    options: AnalyzeOptions,
    out: str,
    formats: tuple[str, ...],
    embed_media: bool,
) -> tuple[str, dict[str, Any]]:
    """Worker body (a local process or a Ray task): analyse one job and write its files; returns
    (stem, recording dict). A result already published under this fingerprint (an earlier run of
    the same task: a retry, a lost node) is used as it is, so a job that runs twice has one result."""
    published = Path(out) / RESULTS_DIR / f"{fingerprint}.json"
    rec = _read_published(published)
    if rec is None:
        result: RecordingResult = analyze_recording(list(job.paths), options)
        result.name = job.name
        result.is_case = job.is_case
        result.grouping = job.grouping.to_dict() if job.grouping is not None else None
        rec = report.recording_to_dict(result)
        if not rec.get("error"):  # a failed recording is retried on the next run: never published
            rec = _publish_once(published, rec)
    guide = report.guide_to_dict(load_guide_for(options))
    write_outputs(rec, guide, Path(out), job.stem, formats, embed_media=embed_media)
    return job.stem, rec


def _read_published(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _publish_once(path: Path, rec: dict[str, Any]) -> dict[str, Any]:
    """Store `rec` at `path` unless a result is already there; return the one that is stored.
    A hard link publishes a complete file in one step and fails when the name exists, so two runs
    of one task racing on a shared file system keep the first result."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{time.monotonic_ns()}.tmp")
    tmp.write_text(json.dumps(rec, ensure_ascii=False), encoding="utf-8")
    try:
        os.link(tmp, path)
    except FileExistsError:
        return _read_published(path) or rec
    except OSError:  # a file system without hard links: the last complete write wins
        os.replace(tmp, path)
        return rec
    finally:
        tmp.unlink(missing_ok=True)
    return rec


# --------------------------------------------------------------------------- the batch


def run_batch(
    inputs: Sequence[str | os.PathLike],
    out: str | os.PathLike,
    options: AnalyzeOptions | None = None,
    *,
    formats: Sequence[str] = ("json", "html", "csv", "xlsx"),
    workers: int = 1,
    folder_is_case: bool = False,
    group: bool = True,
    force: bool = False,
    embed_media: bool = False,
    progress: bool = True,
    on_error: Callable[[str], None] | None = None,
    executor: str | Executor = "local",
    ray_address: str | None = None,
) -> BatchOutcome:
    """Analyse everything under `inputs` into `out`; see the module docstring. `executor` is
    "local" (this machine, `workers` processes), "ray" (one Ray task per job; `ray_address` joins a
    cluster, None starts a local instance) or an analyzer.executors.Executor."""
    options = options or AnalyzeOptions()
    if isinstance(executor, str) and executor not in EXECUTORS:
        raise ExecutorError(f"未知的执行方式 / unknown executor: {executor}（可选：{', '.join(EXECUTORS)}）")
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    formats = tuple(f for f in formats if f)
    unknown = sorted(set(formats) - set(report.FORMATS))
    if unknown:
        raise ValueError(
            f"未知的输出格式 / unknown format: {', '.join(unknown)}（可选：{', '.join(report.FORMATS)}）"
        )
    loaded = load_guide_for(options)
    jobs = discover(inputs, folder_is_case=folder_is_case, group=group, guide=loaded)
    outcome = BatchOutcome(grouped=[j for j in jobs if j.grouping is not None])
    if not jobs:
        return outcome

    if options.profile and options.profile not in {p.id for p in loaded.profiles}:
        known = ", ".join(p.id for p in loaded.profiles)
        raise ValueError(f"未知的执法类型 / unknown profile {options.profile!r}（可选：{known}）")
    state = State(out_dir)
    run = run_fingerprint(options)
    guide = report.guide_to_dict(loaded)
    fingerprints = {j.stem: job_fingerprint(j, state, run) for j in jobs}
    state.save()
    todo = [j for j in jobs if force or not state.current(j, fingerprints[j.stem], out_dir)]
    outcome.skipped = len(jobs) - len(todo)
    for j in jobs:
        if j not in todo:
            _refresh_outputs(j, out_dir, guide, formats, embed_media)
    if force:
        for j in todo:
            (out_dir / RESULTS_DIR / f"{fingerprints[j.stem]}.json").unlink(missing_ok=True)

    owned = isinstance(executor, str)
    if executor == "ray" and not todo:
        executor = "local"  # nothing to run: no cluster to start or join
    if executor == "ray":
        # One task per job; each asks for the CPU threads it uses (1 unless --threads says more).
        if options.threads <= 0:
            options = replace(options, threads=1)
        executor = make_executor(
            "ray", address=ray_address, threads=options.threads, memory=WORKER_MEMORY_BYTES
        )
    elif executor == "local":
        n_workers, threads = plan_workers(workers, jobs=max(1, len(todo)))
        if options.threads <= 0:
            options = replace(options, threads=threads)
        executor = make_executor("local", workers=n_workers)
    assert not isinstance(executor, str)

    def fail(job: Job, cause: str) -> dict[str, Any]:
        rec = _error_dict(job, f"{job.name}: {cause}")
        report.write_json(out_dir / f"{job.stem}.json", report.document([rec], guide))
        return rec

    bar = None
    try:
        if todo:  # what this machine cannot read either is a bad input, reported per recording
            readable = [p for j in todo for p in j.paths if os.access(p, os.R_OK)]
            executor.check_storage(readable, str(out_dir))
        bar = _progress_bar(todo, outcome.skipped, len(jobs), progress)
        hours = [0.0]

        def finished(job: Job, rec: dict[str, Any]) -> None:
            err = rec.get("error")
            state.record(job, fingerprints[job.stem], err)
            if err:
                outcome.failed += 1
                (on_error or _print_error)(err)
            else:
                outcome.analysed += 1
            hours[0] += float(rec.get("duration_s") or 0.0) / 3600
            if bar is not None:
                bar.update(1)
                bar.set_postfix_str(f"音频 {hours[0]:.2f} 小时 失败 {outcome.failed}")

        def args_of(job: Job) -> tuple:
            return (job, fingerprints[job.stem], options, str(out_dir), formats, embed_media)

        for job, rec in executor.run(todo, _analyse_job, args_of, fail):
            finished(job, rec)
    finally:
        if bar is not None:
            bar.close()
        if owned:
            executor.close()

    records = [_load_record(j, out_dir) for j in jobs]
    outcome.rows = report.worst_first(report.summary_row(r) for r in records)
    if len(jobs) > 1 and "json" in formats:
        outcome.outputs.append(report.write_json(out_dir / "report.json", report.document(records, guide)))
    if "csv" in formats:
        outcome.outputs.append(report.write_csv(outcome.rows, out_dir / "summary.csv"))
    if "xlsx" in formats:
        outcome.outputs.append(report.write_xlsx(outcome.rows, out_dir / "summary.xlsx"))
    outcome.failed = sum(1 for r in outcome.rows if r["error"])
    _prune_published(out_dir, state)
    return outcome


def _prune_published(out: Path, state: State) -> None:
    """Results by fingerprint that no current entry refers to (changed recordings) go."""
    keep = {f"{e.get('fingerprint')}.json" for e in state.data["entries"].values()}
    folder = out / RESULTS_DIR
    if folder.is_dir():
        for p in folder.glob("*.json"):
            if p.name not in keep:
                p.unlink(missing_ok=True)


def _refresh_outputs(job: Job, out: Path, guide: dict[str, Any], formats: Sequence[str], embed: bool) -> None:
    """A current result may lack a format asked for now: render it from the stored JSON."""
    base = out / job.stem
    wanted = [f for f in ("html", "srt", "vtt") if f in formats]
    missing = [
        f
        for f in wanted
        if not base.with_name(f"{base.name}.{f}").exists()
        and not base.with_name(f"{base.name}.1.{f}").exists()
    ]
    if missing:
        rec = _load_record(job, out)
        write_outputs(rec, guide, out, job.stem, missing, embed_media=embed)


def _load_record(job: Job, out: Path) -> dict[str, Any]:
    try:
        doc = json.loads((out / f"{job.stem}.json").read_text(encoding="utf-8"))
        return doc["recordings"][0]
    except (OSError, ValueError, KeyError, IndexError):
        return _error_dict(job, f"{job.name}: 结果文件缺失或损坏 / result missing")


def _error_dict(job: Job, message: str) -> dict[str, Any]:
    result = RecordingResult(
        paths=list(job.paths),
        name=job.name,
        is_case=job.is_case,
        grouping=job.grouping.to_dict() if job.grouping is not None else None,
        error=message,
    )
    return report.recording_to_dict(result)


def _progress_bar(todo: list[Job], skipped: int, total: int, enabled: bool):
    if enabled and skipped:
        print(f"跳过 {skipped}/{total} 个结果仍有效的录音 / skipped (results current)", file=sys.stderr)
    if not enabled or not todo:
        return None
    from tqdm import tqdm

    return tqdm(
        total=len(todo),
        unit="条",
        desc="分析 / analyse",
        file=sys.stderr,
        dynamic_ncols=True,
    )


def _print_error(message: str) -> None:
    print(f"错误 / error: {message}", file=sys.stderr)
