"""Analyses of the engine and its runs: the validation suite (the engine against queueing theory)."""
