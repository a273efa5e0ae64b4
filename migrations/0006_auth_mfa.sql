-- MFA for the auth service: what GoTrue's mfa_factors and mfa_challenges (created in 0002)
-- lack for Go Forward's rules, and the backup codes of the original design.

-- GoTrue declares last_challenged_at UNIQUE, so two factors challenged in the same
-- microsecond collide; nothing relies on it.
ALTER TABLE auth.mfa_factors DROP CONSTRAINT mfa_factors_last_challenged_at_key;

-- The TOTP time step (unix time / 30) of the last code accepted for the factor: a code is
-- accepted only for a later step, so a code cannot be replayed within its window
-- (RFC 6238 section 5.2). NULL until the first verification.
ALTER TABLE auth.mfa_factors ADD COLUMN last_totp_step bigint;

-- Wrong codes entered against a challenge; at auth.otp.max_attempts the challenge is voided.
ALTER TABLE auth.mfa_challenges ADD COLUMN failed_attempts integer NOT NULL DEFAULT 0;
CREATE INDEX mfa_challenges_factor_id_idx ON auth.mfa_challenges (factor_id);

-- Backup codes: single-use second factors handed to the user once. code_hash is the hex
-- SHA-256 of the user id and the normalised code; the codes carry about 80 bits of entropy,
-- so a fast hash is as safe as a slow one and lets a code be found with one indexed lookup.
-- Generating a new set deletes the old one.
CREATE TABLE auth.mfa_backup_codes (
  id uuid PRIMARY KEY,
  user_id uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
  code_hash text NOT NULL,
  created_at timestamptz NOT NULL,
  used_at timestamptz,
  CONSTRAINT mfa_backup_codes_user_id_code_hash_key UNIQUE (user_id, code_hash)
);

REVOKE ALL ON auth.mfa_backup_codes FROM PUBLIC, anon, authenticated, service_role;
