"""iadsim: simulate an integrated air-defence system and explain why it does or does not stop a
raid. An analysis and teaching tool; all system figures are illustrative public nominal values."""

__version__ = "0.1.0"
