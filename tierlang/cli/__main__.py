"""`python -m tierlang.cli`: the `tierlang` command line."""

from tierlang.cli import main

main()
