"""absl-flag entry points. Each module parses flags and calls one library function.

`bin/<name>` and the console script `magenta_style_<name>` both call
`magenta_style.scripts.<name>.run()`.
"""
