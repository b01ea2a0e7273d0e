"""Runs ``microgov`` commands one after another in one process, for the fuzz harness (``tests/fuzz.py``).

Starting a Python process that imports the library takes about a second, so the harness sends its cases
here one at a time instead: each line read from stdin is a JSON case (``{"argv": [...], "cwd": ...}``);
the command runs in this process with stdout and stderr captured, and one JSON line comes back with its
exit status (or the traceback of an exception that escaped the command), what it printed and how long it
took. Memory is capped, so a runaway allocation fails here rather than taking the machine down; a case
that hangs or kills the process is the harness's to notice (it starts another driver for the rest).

    python tests/fuzz_driver.py [SOURCE_ROOT]

``SOURCE_ROOT`` imports ``sim`` from another checkout (to measure it with this harness).
"""

from __future__ import annotations

import io
import json
import os
import resource
import sys
import time
import traceback

MEMORY_LIMIT = 4 * 1024**3
KEEP = 20_000  # characters of each output stream sent back


def _run(argv: list[str]) -> tuple[int | None, str | None]:
    from sim.cli import main

    try:
        main(argv)
    except SystemExit as exc:
        code = exc.code
        return (code if isinstance(code, int) else (0 if code is None else 1)), None
    except BaseException:  # everything that would reach a user as a traceback
        return None, traceback.format_exc()
    return 0, None


def main() -> None:
    if len(sys.argv) > 1:
        sys.path.insert(0, sys.argv[1])
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    import sim.cli

    real_out, real_err, real_in = sys.stdout, sys.stderr, sys.stdin
    real_out.write(json.dumps({"ready": sim.cli.__file__}) + "\n")
    real_out.flush()
    for line in real_in:
        case = json.loads(line)
        os.chdir(case["cwd"])
        # encoded as a terminal's streams are: stdout strict UTF-8, stderr with escapes for what is not
        out_bytes, err_bytes = io.BytesIO(), io.BytesIO()
        out = io.TextIOWrapper(out_bytes, encoding="utf-8", errors="strict", write_through=True)
        err = io.TextIOWrapper(err_bytes, encoding="utf-8", errors="backslashreplace", write_through=True)
        sys.stdout, sys.stderr, sys.stdin = out, err, io.StringIO("")
        start = time.perf_counter()
        try:
            code, tb = _run(case["argv"])
        finally:
            sys.stdout, sys.stderr, sys.stdin = real_out, real_err, real_in
        seconds = time.perf_counter() - start
        texts = [b.getvalue().decode("utf-8", "replace")[:KEEP] for b in (out_bytes, err_bytes)]
        reply = {"code": code, "traceback": tb, "out": texts[0], "err": texts[1]}
        real_out.write(json.dumps({**reply, "seconds": seconds}, ensure_ascii=True) + "\n")
        real_out.flush()


if __name__ == "__main__":
    main()
