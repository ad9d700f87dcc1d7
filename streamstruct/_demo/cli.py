"""The demo's command line: ``python -m streamstruct demo [options]``."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Sequence

import anyio

from .. import (
    AuthenticationError,
    Mode,
    StreamStructError,
    build_info,
)
from .scenario import (
    API_ENVIRONMENT,
    DEFAULT_ANTHROPIC_MODEL,
    DEFAULT_DELAY,
    DEFAULT_MODEL,
    run,
    serve_web,
)
from .views import make_view

__all__ = ["main"]


# -- command line ---------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m streamstruct",
        description="streamstruct: stream structured output (pydantic models) from "
        "OpenAI-compatible chat-completion endpoints.",
    )
    # the version and the build (compiled or pure Python: which one a user got is worth knowing)
    parser.add_argument("--version", action="version", version=str(build_info()))
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    demo = commands.add_parser(
        "demo",
        help="stream a User field by field, then a list of users (no API key needed)",
        description="Stream the profile of a fictional user, Alice, field by field, then a list "
        "of users one complete object at a time, and print the usage and timings. Without "
        "--base-url the answers come from the in-process simulator: no network, no API key.",
        epilog="With OPENAI_BASE_URL and OPENAI_API_KEY both set, the demo asks that endpoint "
        "(as with --base-url); --simulator keeps it offline. NO_COLOR turns colours off.",
    )
    speed = demo.add_mutually_exclusive_group()
    speed.add_argument(
        "--delay",
        type=_seconds,
        default=DEFAULT_DELAY,
        metavar="SECONDS",
        help=f"simulator: pause between two deltas (default {DEFAULT_DELAY})",
    )
    speed.add_argument(
        "--fast", action="store_const", const=0.0, dest="delay", help="simulator: no pauses"
    )
    web = demo.add_argument_group("in a browser")
    web.add_argument(
        "--web",
        action="store_true",
        help="serve the demo as a web page (streamstruct.web) instead of printing it; needs "
        "uvicorn (the streamstruct[sim] extra)",
    )
    web.add_argument(
        "--port", type=int, default=8000, help="--web: the port to listen on (default 8000)"
    )
    web.add_argument(
        "--host", default="127.0.0.1", help="--web: the address to listen on (default 127.0.0.1)"
    )
    demo.add_argument(
        "--api",
        choices=API_ENVIRONMENT.keys(),
        default="chat",
        help="the wire dialect: chat completions (default), the OpenAI Responses API or "
        "Anthropic Messages; the simulator speaks all three",
    )
    demo.add_argument(
        "--plain",
        action="store_true",
        help="print plain lines even on a terminal (the default when output is not a terminal)",
    )
    endpoint = demo.add_argument_group("a real endpoint")
    endpoint.add_argument(
        "--base-url",
        metavar="URL",
        help="an OpenAI-compatible API, e.g. https://api.openai.com/v1 (default: $OPENAI_BASE_URL "
        "when an API key is set too, else the simulator)",
    )
    endpoint.add_argument(
        "--api-key",
        metavar="KEY",
        help="the API key (default: $OPENAI_API_KEY; local servers need none)",
    )
    endpoint.add_argument(
        "--model",
        help=f"the model to ask (default {DEFAULT_MODEL}, {DEFAULT_ANTHROPIC_MODEL} with "
        "--api anthropic)",
    )
    endpoint.add_argument(
        "--mode",
        choices=[mode.value for mode in Mode],
        default=Mode.TOOLS.value,
        help="how structured output is requested (default tools)",
    )
    endpoint.add_argument(
        "--timeout",
        type=_seconds,
        default=60.0,
        metavar="SECONDS",
        help="read timeout (default 60)",
    )
    endpoint.add_argument(
        "--simulator",
        action="store_true",
        help="use the simulator even when OPENAI_BASE_URL and OPENAI_API_KEY are set",
    )
    return parser


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must not be negative")
    return value


def _resolve_endpoint(args: argparse.Namespace) -> None:
    """Fill in ``base_url`` and ``api_key``: a real endpoint, or ``None`` for the simulator."""
    if args.model is None:
        args.model = DEFAULT_ANTHROPIC_MODEL if args.api == "anthropic" else DEFAULT_MODEL
    if args.simulator:
        args.base_url = None
        return
    # Anthropic's variables for --api anthropic, OpenAI's otherwise, as the client reads them.
    key_variable, url_variable = API_ENVIRONMENT[args.api]
    if args.api_key is None:
        args.api_key = os.environ.get(key_variable) or None
    if args.base_url is None and args.api_key:
        args.base_url = os.environ.get(url_variable) or None


def _describe(error: StreamStructError, api: str) -> str:
    message = f"error: {type(error).__name__}: {error}"  # a status error says "HTTP 401: ..."
    if isinstance(error, AuthenticationError):
        message += f"\nhint: check --api-key or {API_ENVIRONMENT[api][0]}"
    return message


def main(argv: Sequence[str] | None = None) -> int:
    """The command line: ``python -m streamstruct demo [options]``; returns the exit code."""
    args = _parser().parse_args(argv)
    _resolve_endpoint(args)
    if args.web:
        serve_web(args)
        return 0
    view = make_view(sys.stdout, plain=args.plain)
    try:
        anyio.run(run, args, view)
    except StreamStructError as error:
        print(_describe(error, args.api), file=sys.stderr)
        return 1
    except BrokenPipeError:  # `... | head`: the reader has seen enough
        with contextlib.suppress(OSError, ValueError):  # keep Python's exit flush quiet too
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        view.close()  # whatever happened, the terminal gets its cursor back
    return 0
