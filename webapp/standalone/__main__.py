"""`python -m webapp.standalone`: the launcher behind `make run` and `make demo`."""

from webapp.standalone.launcher import main

main()
