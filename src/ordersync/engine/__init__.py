"""The run's stages, source row to board: filters, extract, transform, stage, diff, plan, apply, settle."""
