-- One-time tokens: e-mail links get a secret of their own; passwords chosen before an address
-- was proved do not survive its owner proving it another way.

-- GoTrue's token_hash is hex(SHA-224(address + code)): anyone who knows the address derives
-- it from the 10^6 possible codes, so a link carrying it is no stronger than the code and a
-- wrong one cannot be counted against any token. Links now carry 224 random bits instead;
-- link_hash is the hex SHA-256 of that secret (a fast hash is enough for that much entropy).
-- token_hash stays the hash of the typed code, checked together with the address it was
-- sent to. NULL for codes that have no link (SMS, reauthentication) and for links issued
-- before this migration, whose codes still work.
ALTER TABLE auth.one_time_tokens ADD COLUMN link_hash text;
CREATE INDEX one_time_tokens_link_hash_idx ON auth.one_time_tokens USING hash (link_hash);

-- Pre-registration: anyone can sign up with an address they do not own and choose the
-- password. When the owner later proves the address another way (a magic link or code, a
-- recovery, an invitation), that password must not survive.
--
-- auth.unverified_passwords records the password (as the SHA-256 of its users.encrypted_password
-- value) that a self-service sign-up set before any address of the user was confirmed.
-- Passwords an administrator sets are not recorded. The row goes when the user's first
-- address is confirmed.
CREATE TABLE auth.unverified_passwords (
  user_id uuid PRIMARY KEY REFERENCES auth.users (id) ON DELETE CASCADE,
  password_fingerprint bytea NOT NULL,
  created_at timestamptz NOT NULL
);
REVOKE ALL ON auth.unverified_passwords FROM PUBLIC, anon, authenticated, service_role;

-- The same fingerprint on a token: the password a sign-up confirmation stands behind. A first
-- confirmation by a token that does not stand behind the recorded password (a magic link,
-- code, recovery or invitation) removes it. NULL for every flow that sets no password.
ALTER TABLE auth.one_time_tokens ADD COLUMN password_fingerprint bytea;

-- Accounts that signed up before this migration and have no confirmed address: their
-- passwords are treated as unverified; the confirmations pending for them still stand
-- behind them, as they would have before.
INSERT INTO auth.unverified_passwords (user_id, password_fingerprint, created_at)
  SELECT id, sha256(convert_to(encrypted_password, 'UTF8')), now() FROM auth.users
  WHERE coalesce(encrypted_password, '') <> '' AND email_confirmed_at IS NULL AND phone_confirmed_at IS NULL
    AND deleted_at IS NULL;
UPDATE auth.one_time_tokens t SET password_fingerprint = p.password_fingerprint
  FROM auth.unverified_passwords p
  WHERE p.user_id = t.user_id AND t.token_type = 'confirmation_token';
