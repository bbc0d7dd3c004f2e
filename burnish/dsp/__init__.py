"""DSP processors. Each module registers its processors with :mod:`burnish.dsp.base`."""
