"""ktasm: assembler, language and CLI for kT-RAM, MTJ and Langevin programs."""

__version__ = "0.1.0"
