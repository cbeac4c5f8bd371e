"""Where each inbound contact goes: non-target policy, queues, distribution, the decision log."""
