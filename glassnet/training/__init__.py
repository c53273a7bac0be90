"""Training: the loop, its history, callbacks, metrics and the start-small-and-grow search."""
