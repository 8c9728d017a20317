"""rotaplan: rotation and fellowship scheduling for NHS integrated care systems.

The application layer: the command line, the independent plan checker, the
solve-check-write pipeline, reports and the scenario generator. The data
models live in :mod:`models` and the CP-SAT formulation in :mod:`solver`.
"""

__version__ = "0.1.0"
