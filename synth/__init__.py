"""egorig's generator: synthetic egocentric pose data for head-mounted front and rear fisheye rigs."""

__version__ = "0.1.0"
