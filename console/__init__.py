"""microgov's terminal console (Textual): operators, trainers and policy teams on one app."""
