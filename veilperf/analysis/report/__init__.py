"""What users read: REPORT.md and overheads.csv (:mod:`.reproduction`), bringing figures and report up
to date (:mod:`.outputs`) and the terminal tables printed after a sweep (:mod:`.console`)."""
