"""The professional's account: sign-up, e-mail links, passwords, second factor (TOTP),
practice details with history, bank account (RIB) with cooling-off, operator administration."""
