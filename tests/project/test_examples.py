"""Every example in examples/ runs as is, offline (against the simulator), and says what it shows."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

# For each example, lines its output must contain: proof that it did what it is about.
EXPECTED = {
    "streaming_basics.py": [
        "Received chunk: PartialUser(name='Alice', age=28, bio='",
        "Final result: User(name='Alice', age=28,",
        "Current state: name='Bob', age=35, bio=None",
        "Progress: 33% - Current data: {'name': 'Carol'}",
        "Progress: 100% - Current data: {'name': 'Carol', 'age': 42, 'bio': '",
    ],
    "iterable.py": [
        "User(name='Bob', age=35,",
        "User(name='Dave', age=31,",
        "3 users, finish_reason='tool_calls'",
        "create(response_model=Iterable[User]) -> ['Bob', 'Carol', 'Dave']",
    ],
    "async_streaming.py": [
        "Async stream update: PartialUser(name='Dave', age=31, bio='Dave turns city budgets",
        "100%  {'name': 'Erin', 'age': 26, 'bio': '",
        "Final: User(name='Erin', age=26,",
        "Usage: ",
    ],
    "sync_script.py": [
        "create() -> 'Weekend pancakes', 5 ingredients",
        "100%  ingredients so far: 5",
        "streamed -> 'Weekend pancakes' in 25 min:",
        "  3. Fry thin.",
    ],
    "tools_vs_json_schema.py": [
        "== TOOLS: User(name='Alice', age=28,",
        '"tool_choice": {',
        "== JSON_SCHEMA: User(name='Alice', age=28,",
        '"type": "json_schema",',
        '"strict": true',
    ],
    "web_fastapi.py": [
        "FastAPI routes streaming answers from the simulator",
        "POST /profile -> text/event-stream",
        '{"version":1,"kind":"object"}',
        '[["append",["bio"],"Mari"]]',
        '[["done",["age"],28]]',
        '{"value":{"name":"Alice","age":28,"bio":"Marine biologist, maps coral reefs off Portugal."}',
        '{"version":1,"kind":"items"}',
        '[["done",[1],{"name":"Carol","age":42,"bio":"Ceramicist and rock climber."}]]',
    ],
    "error_handling.py": [
        "IncompleteOutputError: finish_reason='length'",
        "error.partial = PartialUser(name='Alice', age=28, bio='Alice maps co')",
        "after 2 requests",
        "with max_retries=0: RateLimitError, status 429",
        'RefusalError: error.refusal = "I can\'t help with that."',
    ],
}


def test_every_example_is_checked() -> None:
    found = {path.name for path in EXAMPLES.glob("*.py") if not path.name.startswith("_")}
    assert found == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_runs_offline(name: str) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("OPENAI_")}
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / name)],
        capture_output=True,
        text=True,
        env=env,
        cwd=EXAMPLES.parent,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert "answers from the simulator" in done.stdout
    for line in EXPECTED[name]:
        assert line in done.stdout, f"{line!r} not in the output of {name}:\n{done.stdout}"
