"""People: accounts and sign-in, API tokens, the signed-in profile, notifications."""
