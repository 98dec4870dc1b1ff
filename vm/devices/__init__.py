"""Device families beside kT-RAM: VCMA-MTJ p-bit arrays and probabilistic differential
pairs (``mtj``), generic p-bits and the Ising sweep (``pbit``), Langevin banks and
Ornstein-Uhlenbeck samplers (``langevin``); ``layout`` places every declared device in the
machine's vector arena; ``execute`` runs their instructions. ``reference`` is the plain
NumPy twin of the kernels, for differential tests.
"""
