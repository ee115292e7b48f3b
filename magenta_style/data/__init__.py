"""Photos and styles in.

- `preprocessing`: `Preprocessing`, the crop options both content paths take.
- `photo_files`: listing, checking and cropping image files (no TensorFlow);
  the NumPy content loader the JAX path uses.
- `tf_pipeline`: tf.data content pipelines (folders, TFRecords, COCO).
- `style_grams`: style sets, the Gram matrices of the style images.
"""
