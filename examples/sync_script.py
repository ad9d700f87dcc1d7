"""A plain synchronous script: no ``async``, no event loop to manage.

``Client`` has the same API as ``AsyncClient``; it runs one event loop in a background thread for
its lifetime, so close it (``with Client() as client:``) when done. Streams are real-time: each
``for`` step waits for the next snapshot, it does not wait for the end of the answer.

Run it: ``python examples/sync_script.py`` (offline: see ``_client.py``).
"""

from __future__ import annotations

import sys

from _client import MODEL, sync_client, where
from pydantic import BaseModel, Field

from streamstruct import StreamStructError, progress
from streamstruct.testing import Reply, Simulator


class Recipe(BaseModel):
    title: str
    minutes: int = Field(description="Total time, in minutes.")
    ingredients: list[str]
    steps: list[str]


PANCAKES = {
    "title": "Weekend pancakes",
    "minutes": 25,
    "ingredients": ["200 g flour", "2 eggs", "300 ml milk", "1 tbsp sugar", "a pinch of salt"],
    "steps": ["Whisk everything into a smooth batter.", "Rest it for 10 minutes.", "Fry thin."],
}
PROMPT = [{"role": "user", "content": "A simple pancake recipe."}]

simulator = Simulator(responses=[Reply(PANCAKES), Reply(PANCAKES)], chunk_size=7)


def main() -> int:
    print(f"(answers from {where()})\n")
    try:
        with sync_client(simulator) as client:
            # The whole validated model, like any function call.
            recipe = client.chat.completions.create(
                model=MODEL, response_model=Recipe, messages=PROMPT
            )
            print(f"create() -> {recipe.title!r}, {len(recipe.ingredients)} ingredients")

            # The same, streamed: show a one-line progress report that rewrites itself.
            stream = client.chat.completions.create_partial(
                model=MODEL, response_model=Recipe, messages=PROMPT
            )
            for partial in stream:
                done = len(partial.ingredients or [])
                print(f"\r{progress(partial)!s:>4}  ingredients so far: {done}", end="", flush=True)
            recipe = stream.get_final()
            print(f"\nstreamed -> {recipe.title!r} in {recipe.minutes} min:")
            for number, step in enumerate(recipe.steps, 1):
                print(f"  {number}. {step}")
    except StreamStructError as error:  # the root of every error streamstruct raises
        print(f"error: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
