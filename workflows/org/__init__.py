"""The organisation: levels and units, geography (which grid holds a point)."""
