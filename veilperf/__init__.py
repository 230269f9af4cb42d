"""veilperf: a discrete-event performance simulator of Veil on AMD SEV-SNP confidential VMs."""

__version__ = "0.1.0"
