"""Sans-I/O core: SSE, chunk decoders, the JSON parser, fences, text, redaction (stdlib only)."""
