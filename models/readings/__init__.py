"""Readings: (model, text, options) -> plain numpy dataclasses, everything a page draws. Torch stays in here."""
