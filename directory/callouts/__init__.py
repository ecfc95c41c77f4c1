"""Call-outs: running a call tree for real or as a drill, marking each step, and its log."""
