"""One module per CLI command beyond the core ones (see ``cli.COMMAND_MODULES``)."""
