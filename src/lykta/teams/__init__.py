"""Teams: the unit every row belongs to."""
