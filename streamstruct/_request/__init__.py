"""Request planning: modes, strict schemas, per-call options and their checks."""
