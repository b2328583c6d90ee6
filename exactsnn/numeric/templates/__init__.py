"""Engine templates: the event-driven simulator, the gradient sweeps and the batch driver.

These files are importable (so they can be read, linted and type-checked against the stubs in
``kernel_stubs``), but they are not run from here: ``exactsnn.codegen.module`` stamps them, with
every line marked ``# stamp: drop`` removed, after a model's printed kernels into one generated
module, which numba compiles with ``cache=True``.
"""
