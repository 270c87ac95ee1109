"""Scriptcheck: speech-aware script-compliance analysis of enforcement recordings.

The pipeline reads top to bottom in the module list:
media -> transcribe -> normalize -> match -> continuity -> resumption -> rules -> report,
with `files` (atomic writes) below them all. `guide` loads phrase guides (phrasebook/);
`pipeline` composes one recording or case;
`batch` runs many; `training` and `web` sit on top of the same pipeline.
"""

__version__ = "0.1.0"
