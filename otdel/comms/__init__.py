"""The client timeline (Interaction) and the one inbound path every channel goes through."""
