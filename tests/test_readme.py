"""The README runs: every shell command in its ```sh blocks, in order, against a scratch folder.

The rules (the README states them under "The README runs"):

- **A block is a unit.** Each ```sh block runs in a fresh scratch folder holding copies of
  ``scenarios/`` and ``tests/`` and ``pyproject.toml``, the checkout's ``.venv`` linked, and
  ``../shared/data`` linked when it exists beside the checkout (a block that reads it is skipped, with
  the reason, when it does not). Its commands run one after another, each in a fresh process, and may
  use what the ones before them wrote; no block relies on another.
- **Sizes: one mechanism, this file.** Before a command runs, its size options are capped (``--days``
  at 1, ``--warmup-days`` at 0.5, ``--reps`` and ``--max-reps`` at 2, ``--customers`` at 2,000,
  ``--samples`` at 2, the fuzz harness's ``--generated`` at 3), and the commands that would otherwise
  simulate at their default size get the caps added (``--days 1`` for ``run``; ``--reps 2 --days 1``
  for ``compare``, ``sweep`` and ``staff``; ``--reps 2 --customers 2000`` for ``validate``). Nothing
  else changes: the same subcommands, files, flags and values. The product has no test-only switch.
- **What passes.** A command passes when it exits 0, or the status a trailing ``# exits N`` comment
  in the README names, and prints no traceback.
- **What is not run.** ``make`` lines (this test runs under ``make test``, and ``make run`` opens the
  console) and the suite's own runner (``.venv/bin/pytest``). Commands that open the interactive
  console (``microgov console``, ``microgov train`` without ``--autopilot``) are parsed by the command
  line (subcommand, options, their types and files) but not run; the console's own tests drive it.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
SHARED_DATA = ROOT.parent / "shared" / "data"

#: The caps on size options (the one size mechanism).
CAPS = {"--days": 1.0, "--warmup-days": 0.5, "--reps": 2, "--max-reps": 2, "--customers": 2000, "--samples": 2}
ALIASES = {"-d": "--days", "-r": "--reps"}
#: Size options added where a command would otherwise simulate at its default size.
ADDED = {
    "run": {"--days": "1"},
    "compare": {"--reps": "2", "--days": "1"},
    "sweep": {"--reps": "2", "--days": "1"},
    "staff": {"--reps": "2", "--days": "1"},
    "validate": {"--reps": "2", "--customers": "2000"},
}
#: The fuzz harness's size (``python -m tests.fuzz``).
HARNESS_CAPS = {"--generated": 3}
#: Commands that open the interactive console: parsed, not run.
CONSOLE = ("console", "train")
EXIT_MARK = re.compile(r"#\s*exits\s+(\d+)\s*$")
TRACEBACK = "Traceback (most recent call last)"

# Parse a microgov command line as the command would, without running any command: every command's
# callback is replaced by one that does nothing.
PARSE_ONLY = """
import sys, typer
from sim.cli import app, _register_commands
_register_commands()
root = typer.main.get_command(app)
def quiet(command):
    subcommands = getattr(command, "commands", None)
    if subcommands is None:
        command.callback = lambda **kwargs: None
    for sub in (subcommands or {}).values():
        quiet(sub)
quiet(root)
try:
    root.main(sys.argv[1:], prog_name="microgov", standalone_mode=False)
except Exception as exc:
    if not hasattr(exc, "show"):
        raise
    exc.show()
    sys.exit(2)
print("parsed")
"""


@dataclass
class Command:
    """One command line of a block: as the README shows it, and as it runs."""

    line: int
    text: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    exits: int = 0


@dataclass
class Block:
    line: int
    commands: list[Command]

    @property
    def id(self) -> str:
        first = self.commands[0].argv if self.commands else ["empty"]
        return f"line{self.line}-{'-'.join(first[:2])}"


def read_blocks(text: str) -> list[Block]:
    """The ```sh blocks of a Markdown text, each command with its line number (continuation lines
    joined) and the exit status its trailing ``# exits N`` comment names (0 without one)."""
    blocks: list[Block] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        if lines[i].strip() != "```sh":
            i += 1
            continue
        block = Block(i + 1, [])
        i += 1
        pending = ""
        start = 0
        while i < len(lines) and lines[i].strip() != "```":
            raw = lines[i].strip()
            if not pending:
                start = i + 1
            if raw.endswith("\\"):
                pending += raw[:-1] + " "
            else:
                whole = pending + raw
                pending = ""
                if whole.strip() and not whole.lstrip().startswith("#"):
                    block.commands.append(parse_command(start, whole))
            i += 1
        blocks.append(block)
        i += 1
    return blocks


def parse_command(line: int, text: str) -> Command:
    mark = EXIT_MARK.search(text)
    words = shlex.split(text, comments=True)
    env = {}
    while words and re.fullmatch(r"[A-Z_][A-Z0-9_]*=.*", words[0]):
        key, _, value = words.pop(0).partition("=")
        env[key] = value
    return Command(line, text, words, env, int(mark.group(1)) if mark else 0)


def _cap(value: str, cap: float) -> str:
    try:
        number = float(value)
    except ValueError:
        return value  # 'auto' and the like: left as written
    if number <= cap:
        return value
    return f"{cap:g}"


def resize(argv: list[str], caps: dict[str, float], added: dict[str, str]) -> list[str]:
    """``argv`` with its size options capped and the missing ones in ``added`` appended."""
    out: list[str] = []
    seen: set[str] = set()
    i = 0
    while i < len(argv):
        word = argv[i]
        name, eq, value = word.partition("=")
        name = ALIASES.get(name, name)
        if name in caps and eq:
            out.append(f"{name}={_cap(value, caps[name])}")
            seen.add(name)
        elif name in caps and i + 1 < len(argv):
            out += [word, _cap(argv[i + 1], caps[name])]
            seen.add(name)
            i += 1
        else:
            out.append(word)
        i += 1
    if "--reps" in seen and "auto" in argv and "--max-reps" not in seen:
        out += ["--max-reps", f"{caps['--max-reps']:g}"]
    for name, value in added.items():
        if name not in seen:
            out += [name, value]
    return out


def runnable(command: Command) -> tuple[str, list[str], dict[str, str]]:
    """How a README command runs here: ("run" | "parse" | "skip: why", argv, environment additions)."""
    argv, env = command.argv, dict(command.env)
    program, args = argv[0], argv[1:]
    if program == "make":
        return "skip: make (this test runs under make test; make run opens the console)", argv, env
    if program == ".venv/bin/pytest":
        return "skip: the test suite's own runner", argv, env
    if program == ".venv/bin/python":
        if args[:2] == ["-m", "tests.fuzz"]:
            args = resize(args, HARNESS_CAPS, {})
        return "run", [sys.executable, *args], env
    if program != "microgov":
        raise AssertionError(f"README line {command.line}: no rule to run '{program}' ({command.text})")
    sub = args[0] if args else ""
    if sub in CONSOLE and not (sub == "train" and "--autopilot" in args):
        return "parse", [sys.executable, "-c", PARSE_ONLY, *args], env
    args = resize(args, CAPS, ADDED.get(sub, {}))
    return "run", [sys.executable, "-m", "sim", *args], env


BLOCKS = read_blocks(README.read_text(encoding="utf-8"))


def make_scratch(root: Path) -> Path:
    """A folder laid out like a checkout: copies of what README commands read, the environment linked,
    and ../shared/data beside it when the checkout has it."""
    work = root / "checkout"
    work.mkdir()
    shutil.copytree(ROOT / "scenarios", work / "scenarios")
    shutil.copytree(ROOT / "tests", work / "tests", ignore=shutil.ignore_patterns("__pycache__", "__snapshots__"))
    shutil.copy(ROOT / "pyproject.toml", work / "pyproject.toml")
    (work / ".venv").symlink_to(Path(sys.prefix), target_is_directory=True)
    if SHARED_DATA.is_dir():
        (root / "shared").mkdir()
        (root / "shared" / "data").symlink_to(SHARED_DATA, target_is_directory=True)
    return work


def test_readme_has_blocks_and_every_command_has_a_rule():
    assert len(BLOCKS) >= 8
    for block in BLOCKS:
        for command in block.commands:
            runnable(command)  # raises for a program without a rule


def test_sizes_are_capped_and_nothing_else_changes():
    command = parse_command(1, 'microgov compare a.toml --variant "x: y=1" --reps 10 --days 14 --out o  # note')
    assert runnable(command)[1][3:] == [
        "compare",
        "a.toml",
        "--variant",
        "x: y=1",
        "--reps",
        "2",
        "--days",
        "1",
        "--out",
        "o",
    ]
    assert runnable(parse_command(1, "microgov run a.toml"))[1][3:] == ["run", "a.toml", "--days", "1"]
    assert runnable(parse_command(1, "microgov run a.toml --days 0.5"))[1][3:] == ["run", "a.toml", "--days", "0.5"]
    auto = runnable(parse_command(1, "microgov compare a.toml b.toml --reps auto --ci-width 0.01"))[1][3:]
    assert auto == [
        "compare",
        "a.toml",
        "b.toml",
        "--reps",
        "auto",
        "--ci-width",
        "0.01",
        "--max-reps",
        "2",
        "--days",
        "1",
    ]
    validate = runnable(parse_command(1, "microgov validate all --quick"))[1][3:]
    assert validate == ["validate", "all", "--quick", "--reps", "2", "--customers", "2000"]
    assert runnable(parse_command(1, "microgov queue list --as S1 --db q.db"))[1][3:] == [
        "queue",
        "list",
        "--as",
        "S1",
        "--db",
        "q.db",
    ]
    fuzz = runnable(parse_command(1, ".venv/bin/python -m tests.fuzz --generated 300 --seed 7"))
    assert fuzz[1][1:] == ["-m", "tests.fuzz", "--generated", "3", "--seed", "7"]
    suite = runnable(parse_command(1, "FUZZ_EXAMPLES=300 .venv/bin/pytest tests/test_fuzz.py"))
    assert suite[0].startswith("skip") and suite[2] == {"FUZZ_EXAMPLES": "300"}
    assert runnable(parse_command(1, "microgov console --as S1"))[0] == "parse"
    assert runnable(parse_command(1, "microgov train t.toml --autopilot idle"))[0] == "run"
    assert parse_command(1, "microgov queue claim 9 --as S2   # exits 2").exits == 2


@pytest.mark.slow
@pytest.mark.timeout(1800)  # a block of experiments on a busy machine; each command has its own 300 s
@pytest.mark.parametrize("block", BLOCKS, ids=[b.id for b in BLOCKS])
def test_readme_block_runs(block: Block, tmp_path: Path):
    if any("../shared/data" in c.text for c in block.commands) and not SHARED_DATA.is_dir():
        pytest.skip(f"{SHARED_DATA} is absent: the block reads the real 311 logs kept there")
    work = make_scratch(tmp_path)
    env = {
        **os.environ,
        "HOME": str(tmp_path / "home"),
        "XDG_DATA_HOME": str(tmp_path / "home" / "data"),
        "COLUMNS": "120",
        "PYTHONPATH": str(work),
    }
    ran = 0
    for command in block.commands:
        how, argv, extra = runnable(command)
        if how.startswith("skip"):
            continue
        result = subprocess.run(
            argv,
            cwd=work,
            env={**env, **extra},
            capture_output=True,
            text=True,
            timeout=300 if how == "run" else 60,
            stdin=subprocess.DEVNULL,
        )
        shown = f"README line {command.line}: {command.text}\nran: {shlex.join(argv[1:] if how == 'run' else argv[3:])}"
        output = (
            f"{shown}\nexit {result.returncode}\n--- stdout\n{result.stdout[-3000:]}"
            f"\n--- stderr\n{result.stderr[-3000:]}"
        )
        if how == "parse":
            assert result.stdout.endswith("parsed\n"), output
        assert TRACEBACK not in result.stdout + result.stderr, output
        assert result.returncode == command.exits, output
        ran += 1
    if not ran:
        pytest.skip("every command of the block is skipped by rule")
