"""Where a training step's time goes (run by hand; not a test).

    .venv/bin/python bench/train_parts.py --batch_size=4 --image_size=256

Times, under XLA, the parts of Magenta's step at alpha 1: the transformer's
forward pass and forward + backward (weight gradients), VGG-16 to conv4_3
on the pastiches (forward, and forward + input gradient) and to conv3_3 on
the photos (forward). Random weights: the time does not depend on them.
"""

import argparse
import os
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch_size", type=int, default=4)
    parser.add_argument("--image_size", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no_winograd", action="store_true",
                        help="Direct convolutions in training, as without XLA.")
    args = parser.parse_args()

    import keras
    import tensorflow as tf

    from magenta_style.losses import vgg
    from magenta_style.model import transformer

    winograd = not args.no_winograd
    model = transformer.build_transformer(16, 1.0)
    transformer.set_winograd_in_training(model, winograd)
    endpoints = [f"vgg_16/conv{i}" for i in range(1, 5)]
    loss_net = vgg.build_loss_network(weights=None, endpoints=endpoints, xla=winograd)
    content_net = keras.Model(loss_net.inputs,
                              {"vgg_16/conv3": loss_net.output["vgg_16/conv3"]})
    b, n = args.batch_size, args.image_size
    images = tf.random.uniform([b, n, n, 3])
    weights = tf.one_hot(tf.range(b) % 16, 16)

    @tf.function(jit_compile=True)
    def transformer_forward():
        return model([images, weights], training=True)

    @tf.function(jit_compile=True)
    def transformer_backward():
        with tf.GradientTape() as tape:
            out = model([images, weights], training=True)
            loss = tf.reduce_sum(out * out)
        return tape.gradient(loss, model.trainable_variables)

    @tf.function(jit_compile=True)
    def vgg_forward():
        return loss_net(images)

    @tf.function(jit_compile=True)
    def vgg_input_gradient():
        with tf.GradientTape() as tape:
            tape.watch(images)
            loss = sum(tf.reduce_sum(f * f) for f in loss_net(images).values())
        return tape.gradient(loss, images)

    @tf.function(jit_compile=True)
    def content_forward():
        return content_net(images)

    print(f"batch {b}, {n} px, winograd {'on' if winograd else 'off'}", flush=True)
    for name, fn in [("transformer forward", transformer_forward),
                     ("transformer forward + backward", transformer_backward),
                     ("VGG-16 to conv4_3, forward", vgg_forward),
                     ("VGG-16 to conv4_3, forward + input gradient", vgg_input_gradient),
                     ("VGG-16 to conv3_3 (photos), forward", content_forward)]:
        tf.nest.map_structure(lambda t: t.numpy(), fn())  # compile
        times = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            tf.nest.map_structure(lambda t: t.numpy(), fn())
            times.append(time.perf_counter() - t0)
        print(f"  {name:45s} {min(times):6.2f} s", flush=True)


if __name__ == "__main__":
    main()
