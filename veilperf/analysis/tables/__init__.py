"""Tables: loading stored results (:mod:`.load`), pairing treatments with baselines and their
overheads (:mod:`.pairing`, :mod:`.stats`), calibration and platform profiles from manifests
(:mod:`.profile`), readable setting labels (:mod:`.labels`), the data every figure and table reads
(:mod:`.figdata`), stored sensitivity summaries (:mod:`.sensitivity_summaries`) and the record
column names analysis reads (:mod:`.columns`)."""
