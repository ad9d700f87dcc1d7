"""The model side: partial classes, the type tree, the assembler, items, null handling (pydantic)."""
