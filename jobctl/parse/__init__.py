"""Parsers for stored formats: Resque JSON payloads, Ruby-YAML handlers, Delayed Job names,
time formats, MONITOR lines. Pure functions over bytes/str -> model values; stdlib, PyYAML, orjson."""
