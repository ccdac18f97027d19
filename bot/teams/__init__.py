"""The Microsoft Teams adapter: Bot Framework protocol, Adaptive Cards and dialogs, on the platform-free core."""
