"""kT-RAM backend: instruction table, device models, Numba kernels, NumPy reference, Core."""
