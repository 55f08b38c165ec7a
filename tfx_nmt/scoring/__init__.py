"""Scoring translations: corpus metrics as pure functions (`translation_metrics`), the registry of the
scorers a run reports (`scorers`) and the blessing rule over a registered metric (`blessing`).

Below reporting, serving, components and models; imports only `tfx_nmt.text` and the core below it.
"""
