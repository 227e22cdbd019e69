"""The application layer: what the commands do, in the pipeline's order.

Stages below this package are pure functions of their input (model, rules,
plan, render, sim, graph); this package is where the pipeline touches the
outside world:

* `check.py`: load, validate and check a system file (every command's front);
* `inputs.py`: what `validate` checks in a file: a system, or a VM file as a VM;
* `generate.py`: resolve -> simulate -> render -> write, or compare with `--check`;
* `planfile.py`: the one module that knows the plan.json layout of a generated
  application, writes it and reads it back (checked, invariants included);
* `sources.py`: copying the native components' C sources into the app;
* `writer.py`: the atomic writer and its manifest.

Nothing below imports this package.
"""
