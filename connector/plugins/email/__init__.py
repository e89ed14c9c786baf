"""Email plugin: rewards fulfilled by sending their instructions (a code, a link) to the member."""
