"""Where a network's weights come from, carried by the model object.

Every model class of the package (`PasticheNetwork`, `ArbitraryTransformer`,
`StylePredictor`) records its provenance (source, steps trained, licence,
conversion tool) as a JSON-able dict that travels through `get_config` and
the model directory's `config.json`.
"""


class WithProvenance:
    """Mixin for a `keras.Model`: a `provenance` dict attribute (a copy; None -> {})."""

    @property
    def provenance(self):
        return self._provenance

    @provenance.setter
    def provenance(self, value):
        self._provenance = dict(value or {})
