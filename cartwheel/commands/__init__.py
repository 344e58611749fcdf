"""Subcommands of the `cartwheel` command line."""
