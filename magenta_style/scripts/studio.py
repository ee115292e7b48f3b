r"""Serves the style studio: mix a model's styles live in a browser.

    bin/studio --checkpoint=android-26 --port=8000

then open the printed address. Needs the `studio` extra
(`pip install magenta_style[studio]`). See docs/studio.md.
"""

from magenta_style.scripts import flagutil
from magenta_style.studio.config import StudioConfig

flagutil.define_flags(StudioConfig)


def main(argv):
    del argv
    config = flagutil.config_from_flags(StudioConfig)  # checks every flag
    try:
        from magenta_style.studio import server
    except ImportError as e:  # starlette/uvicorn missing
        from magenta_style.errors import UserError

        raise UserError(
            "The studio needs its web server: pip install 'magenta_style[studio]' "
            f"({e}).") from None
    server.serve(config)


def run():
    flagutil.run(main)


if __name__ == "__main__":
    run()
