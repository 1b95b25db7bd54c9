"""Renderers: a Plan (or a workspace report) -> text for a person or a machine, nothing else."""
