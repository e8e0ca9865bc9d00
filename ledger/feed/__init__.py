"""The global event log for other systems: pages of CloudEvents and a way to wait for more."""
