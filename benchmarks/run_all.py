"""Run every benchmark in this folder, one after another, and print their figures."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def main() -> None:
    names = sys.argv[1:] or sorted(p.stem for p in HERE.glob("bench_*.py"))
    for name in names:
        importlib.import_module(name).main()
        print()


if __name__ == "__main__":
    main()
