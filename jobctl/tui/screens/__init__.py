"""Screens of `jobctl top`: dashboard, queue jobs, failures of a group, detail, modals."""
