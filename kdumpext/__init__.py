"""kdumpext: explain Linux kernel crash dumps — which pointer was bad, which member was read."""

__version__ = "0.1.0"
__all__ = ["__version__"]
