"""Personal data: where it is kept, for how long, and erasure on request (docs/privacy.md)."""
