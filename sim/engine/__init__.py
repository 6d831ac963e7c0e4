"""The engine: the route network, group state, random streams, and the model that moves people day by day."""
