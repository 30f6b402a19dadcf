"""`python -m paperwire` runs the command line."""

from paperwire.cli import main

main()
