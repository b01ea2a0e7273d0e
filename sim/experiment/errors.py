"""The experiment harness's error type."""

from sim.errors import MicrogovError


class ExperimentError(MicrogovError):
    """An experiment cannot be set up or run as asked (a bad design, target, executor or KPI)."""
