"""--beam_pipeline_options parsing and bad input: one line each, nothing written."""

import os
import sys

import pytest

from magenta_style.errors import UserError
from magenta_style.stylization.api import StylizeConfig


def test_local_runner_names_give_the_fn_api_runner_with_the_options():
    from apache_beam.options.pipeline_options import DirectOptions
    from apache_beam.runners.portability.fn_api_runner import fn_runner

    from magenta_style.beam import options

    for text in ("", "runner=DirectRunner,direct_num_workers=2,"
                     "direct_running_mode=multi_processing", "runner=directrunner"):
        parsed, runner = options.parse(text)
        # Never the Prism runner, which downloads a binary at run time.
        assert isinstance(runner, fn_runner.FnApiRunner), text
    direct = parsed.view_as(DirectOptions)
    assert direct.direct_num_workers == 1 or direct.direct_num_workers is None
    parsed, _ = options.parse("direct_num_workers=2,direct_running_mode=multi_processing")
    direct = parsed.view_as(DirectOptions)
    assert (direct.direct_num_workers, direct.direct_running_mode) == (2, "multi_processing")


@pytest.mark.parametrize("text, words", [
    ("runner=NoSuchRunner", "Unknown Beam runner 'NoSuchRunner'"),
    ("direct_num_workers=two", "invalid int value: 'two'"),
    ("direct_running_mode=fast", "invalid choice"),
    ("no_such_option=1", "Unknown Beam pipeline option 'no_such_option'"),
    ("runner DirectRunner", "name=value"),
])
def test_bad_options_are_one_line(text, words):
    from magenta_style.beam import options

    with pytest.raises(UserError) as err:
        options.parse(text)
    message = str(err.value)
    assert words in message and "\n" not in message


def _config(tmp_path, **kw):
    return StylizeConfig(**{"checkpoint": "android-26", "output_dir": str(tmp_path / "out"),
                            **kw})


@pytest.mark.parametrize("case", ["nothing_matches", "unknown_runner", "malformed",
                                  "output_is_file", "empty_list"])
def test_bad_input_writes_nothing(tmp_path, photo_dir, case):
    from magenta_style.beam import stylize_collection

    pattern = str(photo_dir / "*.png")
    beam_options = "direct_num_workers=1"
    config = _config(tmp_path, input_image=pattern)
    if case == "nothing_matches":
        config = _config(tmp_path, input_image=str(photo_dir / "*.tif"))
    elif case == "unknown_runner":
        beam_options = "runner=SpeedyRunner"
    elif case == "malformed":
        beam_options = "direct_num_workers"
    elif case == "output_is_file":
        (tmp_path / "out").write_text("mine")
    elif case == "empty_list":
        (tmp_path / "list.txt").write_text("# nothing here\n")
        config = _config(tmp_path, input_image=str(tmp_path / "list.txt"))
    before = sorted(os.listdir(tmp_path))
    with pytest.raises(UserError) as err:
        stylize_collection(config, beam_options, log=lambda line: None)
    assert "\n" not in str(err.value)
    assert sorted(os.listdir(tmp_path)) == before
    if case == "output_is_file":
        assert (tmp_path / "out").read_text() == "mine"


def test_the_core_install_never_imports_beam(monkeypatch):
    # As if Beam were not installed: the flag says how to get it, in one line.
    for name in list(sys.modules):
        if name.startswith(("apache_beam", "magenta_style.beam",
                            "magenta_style.scripts.stylize")):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "apache_beam", None)
    import magenta_style
    from magenta_style.scripts import stylize as script

    assert callable(magenta_style.stylize)
    with pytest.raises(UserError, match=r"pip install 'magenta_style\[beam\]'"):
        script.stylize_on_beam(StylizeConfig(), "")


@pytest.mark.slow
def test_script_bad_runner_is_one_line_exit_2(tmp_path, photo_dir):
    import subprocess

    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    result = subprocess.run(
        [sys.executable, os.path.join(repo, "bin", "stylize"), f"--input_image={photo_dir}",
         f"--output_dir={tmp_path / 'out'}", "--beam_pipeline_options=runner=Nope"],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Unknown Beam runner 'Nope'" in errors[0]
    assert "Traceback" not in result.stderr and not (tmp_path / "out").exists()
