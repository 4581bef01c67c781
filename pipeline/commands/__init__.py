"""One module per subcommand. Keep imports here light: stages are imported inside `run`."""
