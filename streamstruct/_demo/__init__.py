"""The streamstruct demo: ``python -m streamstruct demo`` (or the ``streamstruct demo`` script).

It runs the "Streaming Basics" scenario end to end and shows it as it happens:

1. one object, field by field — ``create_partial(response_model=User)`` for a fictional user named
   Alice who is 28 years old: the fields appear, the bio grows, and the progress percentage comes
   from :func:`streamstruct.progress`;
2. a list, one complete object at a time — ``create_iterable(response_model=User)``: each user is
   printed the moment it closes, validated;
3. the token usage and the timings.

By default the answers come from the in-process simulator (:mod:`streamstruct.testing`): no
network, no API key, a scripted Alice streamed a few characters every ``--delay`` seconds so that
it looks as a model writes. Given ``--base-url`` (or ``OPENAI_BASE_URL`` together with an API
key) it asks that endpoint instead, with ``--model`` and ``--mode``.

On a terminal the current state is redrawn in place with ANSI escape codes (no dependency
needed; ``NO_COLOR`` turns the colours off); when the output is not a terminal (a pipe, a file, a
CI log) it prints plain lines: one per field as it completes, then one per user. The exit code
is 0 on success and 1 on an error, which is printed in one line (``AuthenticationError (HTTP
401): ...``).

The demo's code is written to be read: :func:`.scenario._stream_one_object` and
:func:`.scenario._stream_a_list` are what an application does; :mod:`.views` is presentation and
:mod:`.cli` the command line. ``streamstruct/__main__.py`` only calls :func:`.cli.main`.
"""

from .cli import main

__all__ = ["main"]
