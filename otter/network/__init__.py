"""Container networking: published ports and the per-container network namespace setups."""
