"""Per-example views of difficulty next to the cube: consistency, learning, margins, corners."""
