"""Who wrote (contact), the thread (conversation), each submission (message), and the one module
that moves a conversation from state to state (lifecycle)."""
