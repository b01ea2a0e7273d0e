"""The fuzz harness: bad input through the ``microgov`` command, each outcome judged by the project's rule.

A case is a command line and the files it reads. Its outcome is **clean** when the command exits 0
with a valid result (``--json`` prints JSON) or exits 2 with its last stderr line an ``error:`` line, no
traceback, and nothing written (no new file in the case's folder, no request added to its queue store).
Anything else is counted by what went wrong: a **traceback**, a **hang** (no answer within the time
limit), an **abort** (the process died), an **acceptance** of input the case says must be refused, or
another exit status.

Cases come from the corpus (``tests/data/fuzz/corpus.toml``: every input that once crashed, hung or was
wrongly accepted) and from hypothesis strategies (option values, ``--set`` values, intake records,
import rows). They run in a driver process (``tests/fuzz_driver.py``) that runs commands one after
another, so the import cost is paid once; a case that hangs or kills the driver costs only a restart.

    python -m tests.fuzz [--source DIR] [--generated N] [--seed N] [-v]

prints tried / clean / traceback / hang / abort / accepted / other counts (``--source`` measures another
checkout's ``sim``, e.g. an older commit exported with ``git archive``).
"""

from __future__ import annotations

import argparse
import json
import os
import selectors
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import tomllib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
FUZZ = DATA / "fuzz"
CORPUS = FUZZ / "corpus.toml"
DRIVER = ROOT / "tests" / "fuzz_driver.py"
#: Seconds a case may take before it counts as a hang (the slowest clean case takes a few seconds).
TIME_LIMIT = 30.0
KINDS = ("clean", "traceback", "hang", "abort", "accepted", "other")
#: Files SQLite keeps beside a database; opening a store may touch them without writing anything.
_SQLITE_SIDE = ("-wal", "-shm", "-journal")


@dataclass(frozen=True)
class FileSpec:
    """A file a case reads: text built from parts (``[text, times]`` repeats ``text``, with ``@i@`` the
    repetition's number), written in an encoding; or a FIFO."""

    name: str
    parts: tuple[Any, ...] = ()
    encoding: str = "utf-8"
    kind: str = "file"
    raw: bytes | None = None

    def write(self, folder: Path, values: dict[str, str]) -> Path:
        path = folder / self.name
        path.parent.mkdir(parents=True, exist_ok=True)
        if self.kind == "fifo":
            os.mkfifo(path)
            return path
        if self.raw is not None:
            path.write_bytes(self.raw)
            return path
        chunks: list[str] = []
        for part in self.parts:
            if isinstance(part, str):
                chunks.append(substitute(part, values))
            else:
                text, times = part
                chunks.extend(substitute(text, {**values, "i": str(i + 1)}) for i in range(times))
        path.write_bytes("".join(chunks).encode(self.encoding, "surrogatepass"))
        return path


@dataclass(frozen=True)
class Case:
    """A command line, the files it reads and what must come of it: ``error`` (exit 2), ``ok`` (exit 0)
    or ``any`` (either, as long as it is clean). ``message`` must appear in the error; ``forbid`` must
    appear nowhere in the output; ``check`` holds dotted keys of the ``--json`` output and their values."""

    name: str
    argv: tuple[str, ...]
    expect: str = "any"
    files: tuple[FileSpec, ...] = ()
    message: str | None = None
    forbid: str | None = None
    check: tuple[tuple[str, Any], ...] = ()
    store: bool = False


@dataclass
class Outcome:
    case: Case
    kind: str
    code: int | None
    seconds: float
    out: str = ""
    err: str = ""
    why: str = ""

    def describe(self) -> str:
        tail = (self.err or self.out).strip().splitlines()[-6:]
        shown = "\n      ".join(line[:200] for line in tail)
        return f"[{self.kind}] {self.case.name}: {self.why} (exit {self.code}, {self.seconds:.1f} s)\n      {shown}"


def substitute(text: str, values: dict[str, str]) -> str:
    for key, value in values.items():
        text = text.replace(f"@{key}@", value)
    return text


def load_corpus(path: Path = CORPUS) -> tuple[list[tuple[str, ...]], list[Case]]:
    """The corpus's setup commands (run once, in the shared folder) and its cases."""
    doc = tomllib.loads(path.read_text(encoding="utf-8"))
    setup = [tuple(s["argv"]) for s in doc.get("setup", [])]
    cases = []
    for c in doc.get("case", []):
        files = tuple(
            FileSpec(
                f["name"],
                tuple(f.get("parts", ())),
                f.get("encoding", "utf-8"),
                f.get("kind", "file"),
                bytes.fromhex(f["hex"]) if "hex" in f else None,
            )
            for f in c.get("files", [])
        )
        cases.append(
            Case(
                c["name"],
                tuple(c["argv"]),
                c.get("expect", "any"),
                files,
                c.get("message"),
                c.get("forbid"),
                tuple(c.get("check", {}).items()),
                any("@db@" in a for a in c["argv"]),
            )
        )
    return setup, cases


def setup_for(setup: Sequence[Sequence[str]], cases: Sequence[Case]) -> list[Sequence[str]]:
    """The setup commands whose products (``@shared@/NAME``; the queue store for ``@db@``) the cases use."""
    used = " ".join(a for c in cases for a in c.argv) + " @shared@/queue.db" * any(c.store for c in cases)
    needed = []
    for argv in setup:
        made = [a for a in argv if a.startswith("@shared@/")]
        if any(m in used for m in made):
            needed.append(argv)
    return needed


def _lookup(data: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if isinstance(data, dict) and part in data:
            data = data[part]
        else:
            return "<missing>"
    return data


def _snapshot(folder: Path) -> set[str]:
    return {
        str(p.relative_to(folder))
        for p in folder.rglob("*")
        if not str(p).endswith(_SQLITE_SIDE) and not p.name.startswith(".")
    }


def _requests(db: Path) -> int | None:
    if not db.is_file():
        return None
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
        try:
            return int(con.execute("SELECT COUNT(*) FROM requests").fetchone()[0])
        except sqlite3.Error:
            return None


def classify(case: Case, reply: dict[str, Any] | None, seconds: float, written: set[str], added: bool) -> Outcome:
    """Judge one case's outcome (``reply`` is None when the driver died or stopped answering)."""
    if reply is None:
        kind = "hang" if seconds >= TIME_LIMIT else "abort"
        return Outcome(case, kind, None, seconds, why="no answer" if kind == "hang" else "the process died")
    code, out, err = reply["code"], reply["out"], reply["err"]
    result = Outcome(case, "clean", code, seconds, out, err)
    lines = [line for line in err.splitlines() if line.strip()]
    if reply["traceback"] is not None or "Traceback" in err:
        result.kind, result.err = "traceback", reply["traceback"] or err
        result.why = (reply["traceback"] or err).strip().splitlines()[-1]
    elif case.forbid and (case.forbid in out or case.forbid in err):
        result.kind, result.why = "other", f"the output shows {case.forbid!r}"
    elif code == 0:
        if case.expect == "error":
            result.kind, result.why = "accepted", "exit 0 on input that must be refused"
        elif "--json" in case.argv:
            try:
                data = json.loads(out)
            except ValueError:
                result.kind, result.why = "other", "--json printed no JSON"
            else:
                wrong = [(k, v, _lookup(data, k)) for k, v in case.check if _lookup(data, k) != v]
                if wrong:
                    result.kind, result.why = "other", "; ".join(f"{k} is {g!r}, not {v!r}" for k, v, g in wrong)
    elif code == 2:
        if not lines or not lines[-1].startswith("error: "):
            result.kind, result.why = "other", "exit 2 without an error: line at the end"
        elif any("╭" in line or "│" in line for line in lines):
            result.kind, result.why = "other", "the error is not one plain line"
        elif case.expect == "ok":
            result.kind, result.why = "other", "refused input that must be accepted"
        elif case.message and case.message not in err:
            result.kind, result.why = "other", f"the error does not say {case.message!r}"
        elif written:
            result.kind, result.why = "other", f"wrote {', '.join(sorted(written))} although it failed"
        elif added:
            result.kind, result.why = "other", "added requests to the store although it failed"
    else:
        result.kind, result.why = "other", f"exit status {code}"
    return result


class Harness:
    """Runs cases through a driver process in a scratch folder; ``shared`` holds what the setup made."""

    def __init__(self, folder: Path, source: Path | None = None, time_limit: float = TIME_LIMIT) -> None:
        self.folder = folder
        self.shared = folder / "shared"
        self.shared.mkdir(parents=True, exist_ok=True)
        self.source = source
        self.time_limit = time_limit
        self.proc: subprocess.Popen[str] | None = None
        self.count = 0
        self.values = {
            "data": str(DATA),
            "fuzz": str(FUZZ),
            "tiny": str(FUZZ / "tiny.toml"),
            "shared": str(self.shared),
            "scenarios": str(ROOT / "scenarios"),
            "undecodable": "\udcff",  # a byte that is not UTF-8, as Python hands it over from the shell
        }

    def __enter__(self) -> Harness:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> subprocess.Popen[str]:
        if self.proc is None or self.proc.poll() is not None:
            argv = [sys.executable, str(DRIVER)] + ([str(self.source)] if self.source else [])
            env = {**os.environ, "COLUMNS": "100", "NO_COLOR": "1", "PYTHONHASHSEED": "0"}
            self.proc = subprocess.Popen(
                argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
                cwd=self.folder,
                env=env,
                start_new_session=True,
            )
            ready = self._read(60.0)
            if ready is None or "ready" not in ready:
                raise RuntimeError("the fuzz driver did not start")
        return self.proc

    def stop(self) -> None:
        if self.proc is not None:
            if self.proc.poll() is None:
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            for stream in (self.proc.stdin, self.proc.stdout):
                if stream is not None:
                    stream.close()
            self.proc = None

    def _read(self, timeout: float) -> dict[str, Any] | None:
        assert self.proc is not None and self.proc.stdout is not None
        with selectors.DefaultSelector() as sel:
            sel.register(self.proc.stdout, selectors.EVENT_READ)
            if not sel.select(timeout):
                return None
        line = self.proc.stdout.readline()
        return json.loads(line) if line else None

    def ask(self, argv: Sequence[str], cwd: Path, timeout: float) -> tuple[dict[str, Any] | None, float]:
        proc = self.start()
        assert proc.stdin is not None
        start = time.perf_counter()
        try:
            proc.stdin.write(json.dumps({"argv": list(argv), "cwd": str(cwd)}) + "\n")
            proc.stdin.flush()
            reply = self._read(timeout)
        except (BrokenPipeError, ValueError):
            reply = None
        seconds = time.perf_counter() - start
        if reply is None:
            self.stop()
        return reply, seconds

    def setup(self, commands: Iterable[Sequence[str]]) -> None:
        for argv in commands:
            args = [substitute(a, self.values) for a in argv]
            reply, _ = self.ask(args, self.shared, 300.0)
            if reply is None or reply["code"] != 0:
                detail = reply and (reply["traceback"] or reply["err"])
                raise RuntimeError(f"fuzz setup failed: microgov {' '.join(args)}: {detail}")

    def run(self, case: Case) -> Outcome:
        self.count += 1
        folder = self.folder / f"case-{self.count:04d}"
        folder.mkdir()
        values = {**self.values, "case": str(folder)}
        for spec in case.files:
            path = spec.write(folder, values)
            values[f"file:{spec.name}"] = str(path)
            if spec.kind == "file" and spec.raw is None:
                values[f"content:{spec.name}"] = path.read_text(encoding=spec.encoding, errors="surrogateescape")
        if case.files:
            values["file"] = values[f"file:{case.files[0].name}"]
        db = folder / "queue.db"
        if case.store:
            shutil.copyfile(self.shared / "queue.db", db)
            values["db"] = str(db)
        argv = [substitute(a, values) for a in case.argv]
        before, requests = _snapshot(folder), _requests(db)
        reply, seconds = self.ask(argv, folder, self.time_limit)
        written = _snapshot(folder) - before
        added = requests is not None and _requests(db) != requests
        outcome = classify(case, reply, seconds, written, added)
        if outcome.kind == "clean":
            shutil.rmtree(folder, ignore_errors=True)
        return outcome


def counts(outcomes: Sequence[Outcome]) -> dict[str, int]:
    found = Counter(o.kind for o in outcomes)
    return {"tried": len(outcomes), **{k: found.get(k, 0) for k in KINDS}}


def run_cases(cases: Sequence[Case], setup: Sequence[Sequence[str]], source: Path | None = None) -> list[Outcome]:
    with tempfile.TemporaryDirectory(prefix="microgov-fuzz-") as tmp, Harness(Path(tmp), source) as harness:
        harness.setup(setup_for(setup, cases))
        return [harness.run(case) for case in cases]


@dataclass
class Report:
    outcomes: list[Outcome] = field(default_factory=list)

    def lines(self, verbose: bool = False) -> list[str]:
        c = counts(self.outcomes)
        head = " / ".join(f"{k} {v}" for k, v in c.items())
        bad = [o.describe() for o in self.outcomes if o.kind != "clean"]
        return [head, *(bad if verbose else [])]


def main(argv: Sequence[str] | None = None) -> None:
    from tests.fuzz_cases import generated_cases

    parser = argparse.ArgumentParser(prog="python -m tests.fuzz", description="Run the fuzz harness and count.")
    parser.add_argument("--source", type=Path, help="import sim from this checkout instead")
    parser.add_argument("--generated", type=int, default=60, help="hypothesis cases besides the corpus")
    parser.add_argument("--seed", type=int, default=0, help="hypothesis seed for the generated cases")
    parser.add_argument("-v", "--verbose", action="store_true", help="describe every case that is not clean")
    args = parser.parse_args(argv)
    setup, corpus = load_corpus()
    cases = corpus + generated_cases(args.generated, args.seed)
    start = time.perf_counter()
    outcomes = run_cases(cases, setup, args.source)
    for name, part in (("corpus", outcomes[: len(corpus)]), ("generated", outcomes[len(corpus) :])):
        print(f"{name}: " + Report(part).lines()[0])
    for line in Report(outcomes).lines(args.verbose):
        print(line)
    print(f"{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
