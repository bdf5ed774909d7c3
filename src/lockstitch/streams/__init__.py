"""A source's discovered streams and the partner's stream and field selection (spec 2.6, 3.6 to 3.9)."""
