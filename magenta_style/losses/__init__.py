"""What training, evaluation and optimisation measure.

- `vgg`: the VGG-16/19 loss network with Magenta's endpoint names.
- `loss_terms`: content, style (Gram) and total-variation terms.
- `objective`: the training objective on a batch with one style per example.
"""
