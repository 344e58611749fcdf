"""The cartwheel command line and the local launcher (`cartwheel run`)."""

__version__ = "0.1.0"
