"""`python -m uhdrestore` runs the command line."""

from .cli import app

app(prog_name="uhdrestore")
