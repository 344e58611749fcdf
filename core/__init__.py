"""The foundation every cartwheel process shares: settings, logs, errors, crypto, topics, the
stream wire format and the jobs; it imports no other cartwheel package."""
