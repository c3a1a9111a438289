"""MongoDB faults under the real driver (no server, a server that hangs or errs)."""
