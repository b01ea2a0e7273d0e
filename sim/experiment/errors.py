"""The experiment harness's error type."""

from sim.errors import MicrogovError


class ExperimentError(MicrogovError):
    """An experiment cannot be set up or run as asked (a bad design, target, executor or KPI)."""


class ScenarioFailed(ExperimentError):
    """A replication cannot run its scenario as given (the district cannot be built, an inject's node
    does not exist): the same on every attempt, so the experiment stops instead of retrying.

    Holds only the message, so it crosses process boundaries as it is."""
