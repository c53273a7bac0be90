"""The application layer: ``glassnet train`` and friends, on top of the core.

The flow of one ``glassnet train`` run, module by module:

- ``options``: :class:`JobOptions` (what the command line was told) and the output names;
- ``prepare``: load the table or images, split train/validation/test, fit the preprocessing;
- ``run``: build and train (or grow) the network, evaluate it, gather the account;
- ``evaluate``: classical baselines, feature importance, test predictions;
- ``tasks``: the task vocabulary (output layer, headline metric, target scaling, test metrics);
- ``outputs``: model file, metrics.json and report.html, written atomically;
- ``report``: the self-contained report.html;
- ``saved``: new data for a saved model, prepared as its training data was.

The core (layers, losses, optimizers, network, training) never imports this package.
"""
