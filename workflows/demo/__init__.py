"""The demo organisation (Huqiu street) and its stories, replayed through the use cases."""
