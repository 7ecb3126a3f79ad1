-- "This wasn't me" (SPEC §4 /account/activity): every session of the account ends, and its next
-- sign-in is sent to a new password first. A password change clears the mark.
ALTER TABLE users ADD COLUMN password_change_required INTEGER NOT NULL DEFAULT 0;
