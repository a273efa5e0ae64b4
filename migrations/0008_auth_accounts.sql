-- Account protections of the auth service: refresh-token replays answered with the
-- active token, send limits that do not depend on whether an address has an account, and
-- lockout counted per account and client address.

-- A refresh token kept encrypted under a key derived from its parent token (AES-256-GCM; the
-- key is HMAC-SHA256 of the parent token, which is never stored): a client that lost the
-- answer to a refresh and presents the parent again gets this token back instead of a new
-- one, as GoTrue returns the active token. Only the holder of the parent can open it; the
-- table still holds no usable token. NULL for first tokens of a session and for tokens
-- written before this migration.
ALTER TABLE auth.refresh_tokens ADD COLUMN sealed_by_parent text;

-- When a code was last sent to an address by POST /recover, /otp, /magiclink or /resend,
-- recorded whether or not the address belongs to an account, so that the
-- auth.otp.max_frequency limit answers alike for both. address_hash is the hex SHA-256 of
-- the normalised address; channel is email or sms.
CREATE TABLE auth.send_frequency (
  channel text NOT NULL CHECK (channel IN ('email', 'sms')),
  address_hash text NOT NULL,
  sent_at timestamptz NOT NULL,
  PRIMARY KEY (channel, address_hash)
);
CREATE INDEX send_frequency_sent_at_idx ON auth.send_frequency (sent_at);

-- The client addresses (an IPv4 address, or the /64 of an IPv6 one) each user has signed in
-- from. A correct password from one of them is let through while the account is locked by
-- failures from elsewhere, so that guessing from other addresses cannot lock its owner out.
CREATE TABLE auth.sign_in_addresses (
  user_id uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
  address text NOT NULL,
  last_sign_in_at timestamptz NOT NULL,
  PRIMARY KEY (user_id, address)
);
CREATE INDEX sign_in_addresses_last_sign_in_at_idx ON auth.sign_in_addresses (last_sign_in_at);

REVOKE ALL ON auth.send_frequency, auth.sign_in_addresses FROM PUBLIC, anon, authenticated, service_role;
