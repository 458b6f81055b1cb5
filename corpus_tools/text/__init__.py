"""Text steps shared by ingest and decontamination: normalization, language identification,
sentence splitting."""
