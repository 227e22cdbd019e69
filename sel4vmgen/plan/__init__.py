"""The resolved Plan: frozen dataclasses and `resolve`."""
