"""Privacy: the public notice page visitors open on their phones."""
