"""In-app notifications (the bell) and per-user mail preferences; see ``service``."""
