"""Error types: one per area, all caught at the edge (CLI, console) and shown as one clear line each."""

from __future__ import annotations

from dataclasses import dataclass


class MicrogovError(Exception):
    """Base of every error a user can cause with bad input; shown without a traceback, exit status 2."""

    exit_code = 2


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: where (source and line), which field, what was expected and found."""

    problem: str
    source: str | None = None
    line: int | None = None
    path: str | None = None
    expected: str | None = None
    found: str | None = None

    def render(self) -> str:
        where = f"{self.source}:{self.line}" if self.source and self.line else (self.source or "")
        head = ": ".join(p for p in (where, self.path) if p)
        detail = self.problem
        if self.expected is not None:
            detail += f": expected {self.expected}"
            if self.found is not None:
                detail += f", found {self.found}"
        elif self.found is not None:
            detail += f" (found {self.found})"
        return f"{head}: {detail}" if head else detail


class ScenarioError(MicrogovError):
    """A scenario file, an ``extends`` chain or a ``--set`` override is not valid.

    Holds every problem found; each renders as one line naming the file and line (or the ``--set``
    argument), the dotted field path, what was expected and what was found.
    """

    def __init__(self, problems: Problem | list[Problem]) -> None:
        self.problems = [problems] if isinstance(problems, Problem) else list(problems)
        super().__init__("\n".join(p.render() for p in self.problems))

    @property
    def first(self) -> Problem:
        return self.problems[0]


class StructureError(MicrogovError):
    """A query names a node the governance graph does not have, or a structure cannot be built."""
