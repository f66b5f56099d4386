"""Run-folder and configuration infrastructure shared by every stage: errors, files, paths and
guards, the stage records and their parameters, provenance, the run folder, progress, precision."""
