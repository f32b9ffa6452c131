"""Finding your way: `help` and the `home` overview, built from every feature's declarations."""
