"""The shop's data: lists of its entities and the insights computed from them."""
