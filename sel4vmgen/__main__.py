"""`python -m sel4vmgen`: the command line."""

from sel4vmgen.cli import main

main()
