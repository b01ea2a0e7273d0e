"""The ``microgov`` command: a thin shell over the library; every command calls ``sim`` and prints.

Errors a user can cause (bad scenario, bad option value, bad input file) end as one line on stderr and
exit status 2; they never show a traceback. Other packages (the console) add commands through the
``microgov.commands`` entry-point group, so this package never imports them.
"""

from __future__ import annotations

import errno
import inspect
import sys
from importlib.metadata import entry_points

import typer

from sim.cli import common
from sim.errors import MicrogovError

app = typer.Typer(
    name="microgov",
    help="Simulate and operate neighbourhood-level request handling in a five-level governance structure.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


_registered: list[bool] = []


def _register_commands() -> None:
    if _registered:
        return
    _registered.append(True)
    from sim.cli import experiment_cmds, queue_cmds, realdata_cmds, run_cmds, scenario_cmds, validate_cmds

    scenario_cmds.register(app)
    run_cmds.register(app)
    validate_cmds.register(app)
    experiment_cmds.register(app)
    realdata_cmds.register(app)
    queue_cmds.register(app)
    for ep in entry_points(group="microgov.commands"):
        try:
            ep.load()(app)
        except Exception as exc:  # a broken plugin must not take the headless commands down with it
            sys.stderr.write(f"warning: commands from '{ep.name}' are unavailable ({exc})\n")
    _reflow(app)


def reflow(doc: str) -> str:
    """A docstring as help text: each paragraph on one line (the terminal wraps it), except blocks that
    keep their lines (the dim examples, indented lines)."""
    out = []
    for block in inspect.cleandoc(doc).split("\n\n"):
        keep = block.lstrip().startswith("[dim]") or any(line.startswith(" ") for line in block.splitlines())
        out.append(block if keep else " ".join(line.strip() for line in block.splitlines()))
    return "\n\n".join(out)


def _reflow(typer_app: typer.Typer) -> None:
    """Reflow the help of every command (Typer's rich mode keeps a docstring's line breaks as written)."""
    for info in typer_app.registered_commands:
        if info.help is None and info.callback is not None and info.callback.__doc__:
            info.help = reflow(info.callback.__doc__)
    for group in typer_app.registered_groups:
        if group.typer_instance is not None:
            _reflow(group.typer_instance)


def main(argv: list[str] | None = None) -> None:
    _register_commands()
    try:
        code = app(args=argv, prog_name="microgov", standalone_mode=False)
    except MicrogovError as exc:
        common.fail(exc)
    except typer.TyperException as exc:  # Click's usage errors (bad or missing options and arguments)
        _usage(exc)
    except typer.Abort:
        sys.stderr.write("aborted\n")
        sys.exit(1)
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)
    except OSError as exc:
        if exc.errno == errno.EPIPE:  # the reader went away (| head): nothing more to say
            sys.exit(1)
        where = f"{exc.filename}: " if exc.filename else ""
        common.fail(common.OptionError(f"{where}{exc.strerror or exc}"))
    sys.exit(code if isinstance(code, int) else 0)


def _usage(exc: typer.TyperException) -> None:
    """A usage error as one line; a command given nothing at all shows its help instead (exit status 2)."""
    message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
    if type(exc).__name__ == "NoArgsIsHelpError":
        sys.stderr.write(message + "\n")
        sys.exit(2)
    ctx = getattr(exc, "ctx", None)
    command = ctx.command_path if ctx is not None else "microgov"
    hint = None
    param = getattr(exc, "param", None)
    if type(exc) is typer.BadParameter and param is not None:
        option = [o for o in param.opts if o.startswith("--")]
        hint = option[0] if option and param.param_type_name == "option" else (param.metavar or param.name or "")
        message = exc.message
    common.usage_error(message, hint, command)
