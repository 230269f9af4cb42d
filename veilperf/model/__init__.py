"""The simulated system (SimPy): no file I/O, no printing, no sweep logic. Time is in ns."""
