"""Training: a person works one post of a simulated district and is scored on what they did.

Like a flight simulator's session, a training shift (``shift``) lets the simulation fly the rest of the
district while a trainee works one desk through the operators' register; afterwards the shift is
scored against the engine's own policy at the same post and written up as an after-action report
(``scoring``); scripted trainees (``autopilot``) play a whole shift headless for a trainer.
"""
