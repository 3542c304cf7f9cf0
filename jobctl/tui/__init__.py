"""`jobctl top`: the live Textual TUI (imported only by `jobctl top`, never by `jobctl --help`)."""
