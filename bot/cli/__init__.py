"""The `pulsebot` command line: main.py is the parser, one module per verb group."""
