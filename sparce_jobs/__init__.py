"""Jobs that need both the SASA compiler and the engine (ARCHITECTURE.md, layer `jobs`): verifying any
kernel against qemu-aarch64 from its C signature, and building a SPARCE libopenblas (dissertation §4.3.1).
"""
