"""GANStyle Desktop: paint photos in the manner of a cultural tradition with GANs, offline."""

__version__ = "0.1.0"
