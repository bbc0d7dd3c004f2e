"""burnish: audio mastering in software.

The DSP core (``burnish.io``, ``burnish.analysis``, ``burnish.dsp``, ``burnish.chain``) never
imports the command line or the service. Heavy modules are imported lazily by their users.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
