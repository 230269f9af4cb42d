"""The paper's claims checked against the results (:mod:`.verdicts`) and explained as crossings per
second x cost of one crossing (:mod:`.crossings`)."""
