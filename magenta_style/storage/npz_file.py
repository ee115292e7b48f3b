"""What reading a damaged `.npz` (NumPy's zip of arrays) may raise.

Training checkpoints and style sets are `.npz` files the project wrote and
reads back as untrusted input: a copy cut short, a full disk or flipped
bytes must become one line naming the file, so their readers catch
`READ_ERRORS`.
"""

import tokenize
import zipfile
import zlib

# zip structure (BadZipFile), compressed data (zlib.error), a short read
# (EOFError, OSError), a bad array header (ValueError; numpy parses the
# header as a Python literal, so also SyntaxError and TokenError), a missing
# member (KeyError), a header of the wrong type (TypeError).
READ_ERRORS = (OSError, ValueError, KeyError, EOFError, TypeError, zipfile.BadZipFile,
               zlib.error, SyntaxError, tokenize.TokenError)
