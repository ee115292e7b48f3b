"""`load_base_model`: a trained model a run starts from or learns from.

Fine-tuning and appending (`modes`), continuing an arbitrary-style model
(`arbitrary`) and distilling a teacher (`distill`) all read a model named by
a flag: a model directory, a shipped model name or a Magenta checkpoint.
Reading goes through `storage.model_format.load_model`; what is not a model
becomes one `UserError` line naming the flag's value.
"""

from magenta_style.errors import UserError


def load_base_model(name_or_dir, multi_style=True, purpose="Fine-tuning"):
    """The model `name_or_dir` names, as one UserError line if it cannot be read.

    Args:
        name_or_dir: a model directory, shipped model name or Magenta
            checkpoint.
        multi_style: refuse an arbitrary-style model, naming `purpose` (what
            needs a multi-style network); False returns either kind, for a
            caller that checks its own.
        purpose: what the model is for, as the error messages say it
            ("Fine-tuning", "Distillation").

    Returns:
        A `PasticheNetwork` (or, with `multi_style=False`, also an
        `ArbitraryStyleModel`).

    Raises:
        UserError: not a model, or not the kind needed (one line).
    """
    from magenta_style.storage import model_format

    try:
        model = model_format.load_model(name_or_dir)
        return model_format.require_multi_style(model, purpose) if multi_style else model
    except UserError:
        raise
    except Exception as e:  # Anything else that is not a model we can read.
        raise UserError(
            f"Cannot load the model for {purpose.lower()} from {name_or_dir!r}: "
            f"{str(e).splitlines()[0] if str(e) else type(e).__name__}") from None
