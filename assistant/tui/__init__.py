"""The Textual chat: a thin layer over `assistant.engine`."""
