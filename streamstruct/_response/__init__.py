"""The response pipeline: the reader feeding chunk updates into the assemblers."""
