"""The `stratus` command."""

from __future__ import annotations

import click

from stratus import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="stratus")
def main() -> None:
    """stratus: five AWS serverless solutions, deployable with SAM, runnable on one machine.

    Run `stratus COMMAND --help` for the options of a command.
    """
