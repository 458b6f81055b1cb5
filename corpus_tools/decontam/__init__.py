"""Decontamination: the eval-set index and check (contamination), the eval files, and the
decontaminate command."""
