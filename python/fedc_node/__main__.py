"""python3 -m fedc_node: the codec stages this installation supports."""
from .node import main

main()
